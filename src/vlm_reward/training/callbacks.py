"""SB3 callbacks of a run: metrics, periodic evaluation with videos, checkpoints, progress.

Logged keys (TensorBoard, grouped by prefix as SB3 does): ``reward/vlm`` (mean VLM episode
return), ``reward/vlm_step`` (mean VLM reward per step), ``reward/ground_truth`` (mean env
episode return), ``rollout/success_rate``, ``time/fps``, ``time/reward_inference_share``
(fraction of wall time spent embedding frames), and ``eval/...`` for evaluations. With
``reward.learned``, ``reward/vlm`` and ``reward/vlm_step`` are the training reward the learned
model gave, and its own metrics come too: ``reward/vlm_queries`` (VLM labels so far),
``reward/vlm_queries_per_step``, ``reward/learned_loss``, ``reward/learned_pearson`` and
``reward/learned_epic`` (agreement with the VLM on held-out labels).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from vlm_reward.training.checkpoints import save_checkpoint
from vlm_reward.training.rollout import run_episodes, summarise
from vlm_reward.training.video import annotate_frames, write_video

if TYPE_CHECKING:
    import gymnasium as gym
    from rich.progress import Progress

    from vlm_reward.learned import LearnedReward
    from vlm_reward.run_dir import Checkpoint, RunDir
    from vlm_reward.training.stats import RunStats, StopFlag

__all__ = ["CheckpointEvery", "EvalEvery", "Metrics", "ProgressBar", "StopOnFlag", "due"]


def due(every: int, before: int, now: int) -> bool:
    """True when a multiple of ``every`` lies in ``(before, now]`` (steps advance by n_envs)."""
    return every > 0 and now // every > before // every


class StopOnFlag(BaseCallback):
    """Stop at the next step once a signal set the flag, or once ``max_steps`` are done.

    SB3 does not store the step at which a callback stops training (off-policy: that
    transition; on-policy: the whole unfinished rollout, which is never trained on), yet has
    already counted it. :attr:`completed_steps` is the count of steps the model has really
    used; the runner sets ``num_timesteps`` back to it before the checkpoint is saved.

    Args:
        stop: set by SIGINT/SIGTERM.
        max_steps: stop once this many steps are done (off-policy: the step after reaching it
            is dropped, so the run ends at ``max_steps`` rounded up to a multiple of n_envs,
            not at the end of a ``train_freq`` rollout). None: SB3's own end (on-policy runs
            end after a whole rollout).
    """

    def __init__(self, stop: StopFlag, max_steps: int | None = None) -> None:
        super().__init__()
        self.stop = stop
        self.max_steps = max_steps
        self.completed_steps: int | None = None
        self._rollout_start = 0

    @property
    def stopped(self) -> bool:
        """True when this callback ended training (rather than SB3 reaching its total)."""
        return self.completed_steps is not None

    def _on_rollout_start(self) -> None:
        self._rollout_start = self.model.num_timesteps

    def _on_step(self) -> bool:
        before = self.model.num_timesteps - self.training_env.num_envs
        limit = self.max_steps is not None and before >= self.max_steps
        if not (self.stop.requested or limit):
            return True
        self.stop.requested = True  # other callbacks skip the step SB3 will not store
        if isinstance(self.model, OnPolicyAlgorithm):
            self.completed_steps = self._rollout_start
        else:
            self.completed_steps = before
        return False


class Metrics(BaseCallback):
    """Episode statistics from infos (ground truth, success, per-step VLM reward) to the logger."""

    def __init__(self, stats: RunStats,
                 extra: Callable[[], dict[str, float]] | None = None) -> None:
        super().__init__()
        self.stats = stats
        self.extra = extra  # more reward/ values (the learned reward's metrics)
        self._vlm_running: np.ndarray | None = None

    def _on_training_start(self) -> None:
        self._vlm_running = np.zeros(self.training_env.num_envs, np.float64)
        self.stats.begin_segment(self.model.num_timesteps)

    def _on_step(self) -> bool:
        running = self._vlm_running
        assert running is not None  # set in _on_training_start (internal invariant)
        for i, (info, done) in enumerate(zip(self.locals["infos"], self.locals["dones"],
                                             strict=True)):
            if "vlm_reward" in info:  # per-step mode
                running[i] += info["vlm_reward"]
                self.stats.vlm_step_rewards.append(float(info["vlm_reward"]))
                self.stats.inference_seconds += float(info.get("vlm_inference_seconds", 0.0))
            if done:
                self.stats.episodes += 1
                if "episode" in info:
                    self.stats.gt_returns.append(float(info["episode"]["r"]))
                if "success" in info:
                    self.stats.successes.append(float(bool(info["success"])))
                if "vlm_reward" in info:
                    self.stats.vlm_returns.append(float(running[i]))
                    running[i] = 0.0
        return True

    def _on_rollout_end(self) -> None:
        self.record()

    def record(self) -> None:
        """Write the current statistics to the SB3 logger (dumped with SB3's own keys)."""
        summary = self.stats.summary(self.model.num_timesteps)
        keys = {
            "reward/ground_truth": summary["ground_truth_return"],
            "reward/vlm": summary["vlm_return"],
            "reward/vlm_step": summary["vlm_step_reward"],
            "rollout/success_rate": summary["success_rate"],
            "time/fps": summary["fps"],
            "time/reward_inference_share": summary["reward_inference_share"],
        }
        if self.extra is not None:
            keys |= {f"reward/{key}": value for key, value in self.extra().items()}
        for key, value in keys.items():
            if value is not None:
                self.logger.record(key, value)


class EvalEvery(BaseCallback):
    """Evaluate every ``eval_every`` steps; save an annotated video every ``video_every`` steps.

    Evaluation runs its own env and never touches the training buffers.
    """

    def __init__(
        self,
        env: gym.Env,
        run_dir: RunDir,
        eval_every: int,
        video_every: int,
        episodes: int,
        seed: int,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__()
        self.env = env
        self.run_dir = run_dir
        self.eval_every = eval_every
        self.video_every = video_every
        self.episodes = episodes
        self.seed = seed
        self.metrics = metrics
        self.last: dict[str, Any] | None = None
        self.videos: list[Path] = []

    def _on_step(self) -> bool:
        now = self.model.num_timesteps
        before = now - self.training_env.num_envs
        video = due(self.video_every, before, now)
        if due(self.eval_every, before, now) or video:
            self.evaluate(video)
        return True

    def evaluate(self, video: bool) -> dict[str, Any]:
        """Run the evaluation episodes now, log ``eval/...`` and optionally write a video."""
        results = run_episodes(self.model, self.env, self.episodes, self.seed, record_first=video)
        summary = summarise(results)
        steps = int(self.model.num_timesteps)
        for key in ("ground_truth_return", "success_rate", "vlm_return", "episode_length"):
            if summary[key] is not None:
                self.logger.record(f"eval/{key}", summary[key])
        if video and results[0].frames is not None:
            first = results[0]
            if first.rewards is not None:
                frames = annotate_frames(first.frames, first.rewards, "VLM reward")
            else:
                frames = annotate_frames(first.frames, [], "")
            path = write_video(self.run_dir.videos / f"eval_step_{steps}.mp4", frames)
            self.videos.append(path)
            summary["video"] = self.run_dir.relative(path)
        if self.metrics is not None:
            self.metrics.record()
        self.logger.dump(steps)
        summary["num_timesteps"] = steps
        self.last = summary
        return summary


class CheckpointEvery(BaseCallback):
    """Save a checkpoint at the first rollout end after each multiple of ``every`` steps.

    ``state`` returns the run statistics saved with each checkpoint (see
    :meth:`vlm_reward.training.stats.RunStats.to_state`).
    """

    def __init__(
        self,
        run_dir: RunDir,
        every: int,
        save_replay_buffer: bool,
        before_save: Callable[[], Any] | None = None,
        state: Callable[[], dict[str, Any]] | None = None,
        learned: LearnedReward | None = None,
    ) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.every = every
        self.save_replay_buffer = save_replay_buffer
        self.before_save = before_save
        self.state = state
        self.learned = learned
        self.pending_save = False
        self.last: Checkpoint | None = None

    def _on_step(self) -> bool:
        now = self.model.num_timesteps
        if due(self.every, now - self.training_env.num_envs, now):
            # SB3 stores this step only after the callbacks return, so save at rollout end,
            # when every collected step is in the buffer and its VLM reward can be written
            self.pending_save = True
        return True

    def _on_rollout_end(self) -> None:
        if self.pending_save:
            self.save()

    def save(self) -> Checkpoint:
        """Run ``before_save`` (the run flushes waiting VLM rewards), then write the checkpoint."""
        if self.before_save is not None:
            self.before_save()
        self.pending_save = False
        if self.last is not None and self.last.steps == self.model.num_timesteps:
            return self.last
        self.last = save_checkpoint(self.model, self.run_dir, self.save_replay_buffer,
                                    self.state() if self.state is not None else None,
                                    self.learned)
        return self.last


class ProgressBar(BaseCallback):
    """A rich progress bar: steps done of the total, steps/s and ETA."""

    def __init__(self, total_steps: int) -> None:
        super().__init__()
        self.total_steps = total_steps
        self._progress: Progress | None = None
        self._task: Any = None

    def _on_training_start(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[sps]:>7.1f} steps/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "train", total=self.total_steps, completed=self.model.num_timesteps, sps=0.0
        )

    def _on_step(self) -> bool:
        if self._progress is not None:
            task = self._progress.tasks[0]
            speed = task.speed or 0.0
            self._progress.update(self._task, completed=self.model.num_timesteps, sps=speed)
        return True

    def _on_training_end(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.model.num_timesteps)
        self.close()

    def close(self) -> None:
        """Stop the live display; also after a crash, which SB3 ends without a training end."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
