"""Train, resume and evaluate runs: config in, run folder out.

The run folder's layout belongs to :class:`vlm_reward.run_dir.RunDir`. A run survives being
stopped: SIGINT/SIGTERM save a checkpoint of the last completed step and write
``results.json`` with ``status: interrupted``; :func:`resume` continues from the newest
checkpoint that loads, appends to the logs, and its results cover the whole run.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from vlm_reward.config import RunConfig, validate_run_config
from vlm_reward.errors import ConfigError, DependencyNotInstalled
from vlm_reward.factory import build_reward_model
from vlm_reward.learned import LearnedReward, build_learned_reward
from vlm_reward.run_dir import RunDir
from vlm_reward.training.validation import check_algorithm_fits_env

__all__ = ["evaluate_run", "resume", "train"]


def _algorithm_class(name: str) -> Any:
    import stable_baselines3 as sb3

    return getattr(sb3, name)


def _hyperparameters(cfg: RunConfig) -> dict[str, Any]:
    hp = copy.deepcopy(cfg.algorithm.hyperparameters)  # SB3 edits policy_kwargs in place
    if isinstance(hp.get("train_freq"), list):  # YAML has no tuples: [1, "episode"]
        hp["train_freq"] = tuple(hp["train_freq"])
    return hp


def _default_run_dir(cfg: RunConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{cfg.run_name()}-{stamp}"


def _require_wandb(cfg: RunConfig) -> Any:
    if cfg.logging.wandb is None:
        return None
    try:
        import wandb
    except ImportError as exc:
        raise DependencyNotInstalled("wandb", "wandb", "logging.wandb") from exc
    return wandb


def _init_wandb(cfg: RunConfig, run_dir: Path, resume_run: bool) -> Any:
    wandb = _require_wandb(cfg)
    if wandb is None or cfg.logging.wandb is None:
        return None
    w = cfg.logging.wandb
    return wandb.init(
        project=w.project, entity=w.entity, mode=w.mode, dir=str(run_dir),
        name=run_dir.name, id=run_dir.name, resume="allow" if resume_run else None,
        config=cfg.model_dump(mode="json"), sync_tensorboard=True,
    )


def _close_reward_model(reward_model: Any) -> None:
    """Release remote resources (Ray actors) of the embedder, if it holds any."""
    close = getattr(getattr(reward_model, "embedder", None), "close", None)
    if callable(close):
        close()


def _embed_ahead(cfg: RunConfig, reward_model: Any) -> bool:
    """``cfg.embed_ahead``, with null resolved: on where the VLM computes on a GPU."""
    if cfg.embed_ahead is not None:
        return cfg.embed_ahead
    device = getattr(reward_model.embedder, "device", None)
    return getattr(device, "type", "cpu") == "cuda"


def _seed_everything(seed: int) -> None:
    from stable_baselines3.common.utils import set_random_seed

    set_random_seed(seed)  # python random, numpy, torch


def train(cfg: RunConfig, run_dir: Path | str | None = None) -> dict[str, Any]:
    """Train an agent as ``cfg`` says and return the results (also in ``results.json``).

    Args:
        cfg: the run config (see :func:`vlm_reward.config.load_run_config`).
        run_dir: run folder; default ``runs/<name>-<timestamp>``. Must not hold another run.

    Returns:
        The results dict; ``status`` is ``"completed"`` or ``"interrupted"`` (SIGINT/SIGTERM:
        a checkpoint was saved, continue with :func:`resume`).

    Example:
        Training takes minutes, so this example is not run as a doctest::

            from vlm_reward.config import load_run_config
            cfg = load_run_config("configs/cartpole-cpu.yaml", ["total_steps=2000"])
            results = train(cfg, "runs/demo")
    """
    _require_wandb(cfg)  # fail before creating anything
    check_algorithm_fits_env(cfg)
    run = RunDir(run_dir if run_dir is not None else _default_run_dir(cfg))
    if run.holds_run():
        raise ConfigError(
            f"run dir {run} already holds a run; continue it with "
            f"`vlm-reward train --resume {run}` or choose another --run-dir"
        )
    run.write_config(cfg)
    return _run(cfg, run, resume_run=False)


def resume(run_dir: Path | str, total_steps: int | None = None) -> dict[str, Any]:
    """Continue a run from its newest loadable checkpoint up to ``total_steps``.

    Args:
        run_dir: the run folder.
        total_steps: extend (or set) the run's budget; saved to its ``config.yaml``. None keeps
            the config's.

    Returns:
        The whole run's results. A run that already completed its budget is left as it is and
        its ``results.json`` returned.
    """
    run = RunDir(run_dir)
    cfg = run.read_config()
    if total_steps is not None and total_steps != cfg.total_steps:
        newest = run.checkpoints()
        done = newest[0].steps if newest else 0
        if total_steps < done:
            raise ConfigError(
                f"total_steps: {total_steps} is below the {done} steps {run} has done; "
                f"give at least {done}"
            )
        data = cfg.model_dump(mode="json")
        data["total_steps"] = total_steps
        cfg = validate_run_config(data, f"--set total_steps={total_steps}")
        run.write_config(cfg)
    finished = run.read_results()
    if (finished is not None and finished.get("status") == "completed"
            and int(finished.get("num_timesteps", 0)) >= cfg.total_steps):
        return finished
    return _run(cfg, run, resume_run=True)


def _step_granularity(model: Any) -> int:
    """num_timesteps advances in these units: a whole rollout on-policy, n_envs off-policy."""
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    n_envs = int(model.n_envs)
    return int(model.n_steps) * n_envs if isinstance(model, OnPolicyAlgorithm) else n_envs


def _results(
    cfg: RunConfig, run: RunDir, model: Any, summary: dict[str, Any], signal_name: str | None,
    final_eval: dict[str, Any] | None,
) -> dict[str, Any]:
    """``results.json`` of a run; ``summary`` covers all its segments (RunStats.summary)."""
    return {
        "status": "completed" if signal_name is None else "interrupted",
        "signal": signal_name,
        "run_dir": str(run),
        "env_id": cfg.env.id,
        "algorithm": cfg.algorithm.name,
        "seed": cfg.seed,
        "reward": "ground_truth" if not cfg.uses_vlm else (
            "vlm" if cfg.reward.learned is None else "learned"),  # type: ignore[union-attr]
        "reward_mode": cfg.reward_mode if cfg.uses_vlm else None,
        "total_steps": cfg.total_steps,
        "num_timesteps": int(model.num_timesteps),
        "step_granularity": _step_granularity(model),
        "resumed_from": [],
        "wall_seconds": summary["wall_seconds"],
        "fps": summary["fps"],
        "reward_inference_share": summary["reward_inference_share"],
        "train": {
            "ground_truth_return": summary["ground_truth_return"],
            "vlm_return": summary["vlm_return"],
            "success_rate": summary["success_rate"],
            "episodes": summary["episodes"],
        },
        "eval": final_eval,
        "checkpoint": None,
        "relabelled_frames": None,
    }


def _learned_results(learned: LearnedReward, relabel: Any, run: RunDir) -> dict[str, Any]:
    """``results["learned"]``: query totals and agreement of the learned reward (whole run;
    model updates and recomputed rewards of this segment)."""
    return {
        "kind": learned.kind,
        **learned.metrics(),
        "segment_model_updates": relabel.model_updates if relabel is not None else 0,
        "segment_recomputed_rewards": relabel.recomputed if relabel is not None else 0,
        "file": run.relative(run.learned_reward_path),
    }


def _run(cfg: RunConfig, run: RunDir, resume_run: bool) -> dict[str, Any]:
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    from vlm_reward.training.callbacks import (
        CheckpointEvery,
        EvalEvery,
        Metrics,
        ProgressBar,
        StopOnFlag,
    )
    from vlm_reward.training.checkpoints import load_checkpoint
    from vlm_reward.training.env_factory import make_eval_env, make_vec_env
    from vlm_reward.training.logs import run_logger
    from vlm_reward.training.relabel import Relabelling, buffer_arguments
    from vlm_reward.training.stats import RunStats, StopFlag, stop_on_signals

    if cfg.torch_threads is not None:
        import torch

        torch.set_num_threads(cfg.torch_threads)
    algo_cls = _algorithm_class(cfg.algorithm.name)
    if resume_run:
        run.remove_temp_files()  # left by a writer that was killed
    listed = run.checkpoints() if resume_run else []
    _seed_everything(cfg.seed + (listed[0].steps if listed else 0))  # no replayed noise

    reward_model = build_reward_model(cfg.reward, cfg.env) if cfg.uses_vlm else None  # type: ignore[arg-type]
    learned = None
    try:
        env = make_vec_env(cfg, reward_model)
        if reward_model is not None and cfg.reward.learned is not None:  # type: ignore[union-attr]
            learned = build_learned_reward(cfg.reward, reward_model, cfg.seed,  # type: ignore[arg-type]
                                           env.observation_space)
        eval_env = make_eval_env(cfg, reward_model)
        wandb_run = _init_wandb(cfg, run.path, resume_run)
    except BaseException:
        _close_reward_model(reward_model)
        raise
    model: Any = None
    relabel: Relabelling | None = None
    progress: ProgressBar | None = None
    sb3_logger = None
    try:
        hp = _hyperparameters(cfg)
        batched = reward_model is not None and cfg.reward_mode == "batched"
        # batched VLM rewards: buffers that relabel themselves before sample()/advantages
        buffers = (buffer_arguments(algo_cls, env.observation_space, hp, cfg.relabel_max_pending)
                   if batched else {})
        restored = None
        if resume_run:
            restored = load_checkpoint(run, algo_cls, env=env, device=cfg.device,
                                       need_replay_buffer=cfg.logging.save_replay_buffer,
                                       need_learned=learned is not None, **buffers)
            model = restored.model
            if learned is not None:
                assert restored.learned is not None  # need_learned: loaded or refused
                learned.load_state_dict(restored.learned["state"])
            done_steps = restored.checkpoint.steps
            if done_steps != listed[0].steps:  # fell back to an older checkpoint
                _seed_everything(cfg.seed + done_steps)
            stats = RunStats.from_state(restored.state, done_steps)
            relabelled_before = int((restored.state or {}).get("relabelled_frames", 0))
        else:
            model = algo_cls(
                cfg.algorithm.policy, env, seed=cfg.seed, device=cfg.device, verbose=0,
                **{**hp, **buffers},
            )
            done_steps, stats, relabelled_before = 0, RunStats(), 0
        sb3_logger = run_logger(run, done_steps if resume_run else None)
        model.set_logger(sb3_logger)

        stop = StopFlag()
        relabel = (Relabelling(reward_model, stats, learned=learned,  # type: ignore[arg-type]
                               embed_ahead=learned is None and _embed_ahead(cfg, reward_model))
                   if batched else None)
        relabel_callbacks = relabel.attach(model) if relabel is not None else []
        metrics = Metrics(stats, learned.metrics if learned is not None else None)
        seed_eval = cfg.seed + 10_000
        evaluator = EvalEvery(
            eval_env, run, cfg.logging.eval_every, cfg.logging.video_every,
            cfg.logging.eval_episodes, seed_eval, metrics,
        )

        def relabelled() -> int | None:
            return relabelled_before + relabel.relabelled if relabel is not None else None

        def run_state() -> dict[str, Any]:
            return {**stats.to_state(int(model.num_timesteps)),
                    "relabelled_frames": relabelled() or 0}

        checkpoints = CheckpointEvery(
            run, cfg.logging.checkpoint_every, cfg.logging.save_replay_buffer,
            before_save=relabel.flush if relabel is not None else None,
            state=run_state, learned=learned,
        )
        # off-policy runs stop exactly at total_steps; on-policy ones finish their rollout
        stopper = StopOnFlag(
            stop, None if isinstance(model, OnPolicyAlgorithm) else cfg.total_steps
        )
        callbacks: list[Any] = [stopper, *relabel_callbacks]
        callbacks += [metrics, checkpoints, evaluator]
        if cfg.logging.progress_bar:
            progress = ProgressBar(cfg.total_steps)
            callbacks.append(progress)

        remaining = cfg.total_steps - int(model.num_timesteps)
        if remaining > 0:
            with stop_on_signals(stop):
                model.learn(
                    total_timesteps=remaining,
                    callback=CallbackList(callbacks),
                    reset_num_timesteps=not resume_run,
                    log_interval=1 if cfg.algorithm.name == "PPO" else 4,
                )
                if stopper.stopped:  # SB3 counted a step (or rollout) it did not keep
                    model.num_timesteps = stopper.completed_steps
                if relabel is not None:
                    relabel.flush()
                checkpoint = checkpoints.save()
        else:  # nothing left to train (killed before its results were written): init only
            CallbackList(callbacks).init_callback(model)
            stats.begin_segment(int(model.num_timesteps))
            assert restored is not None  # a new run always has steps left (total_steps >= 1)
            checkpoint = restored.checkpoint
        summary = stats.summary(int(model.num_timesteps))
        final_eval = None
        if not stop.interrupted and cfg.logging.eval_episodes:
            final_eval = evaluator.evaluate(video=True)
        results = _results(cfg, run, model, summary, stop.signal_name, final_eval)
        results["resumed_from"] = stats.resumed_from
        results["checkpoint"] = run.relative(checkpoint.model)
        results["relabelled_frames"] = relabelled()
        if learned is not None:
            run.publish_learned(checkpoint)
            results["learned"] = _learned_results(learned, relabel, run)
        run.write_results(results)
        return results
    finally:
        if relabel is not None:
            relabel.close()
        if progress is not None:
            progress.close()
        if sb3_logger is not None:
            sb3_logger.close()
        env.close()
        eval_env.close()
        _close_reward_model(reward_model)
        if wandb_run is not None:
            wandb_run.finish()


def evaluate_run(
    run_dir: Path | str, episodes: int = 5, video: bool = True, seed: int | None = None
) -> dict[str, Any]:
    """Roll out a run's newest loadable checkpoint: ground-truth return, success rate, VLM
    reward, video.

    Writes ``RUN_DIR/evaluation.json`` and (if ``video``) ``RUN_DIR/videos/evaluate_<steps>.mp4``.
    """
    from vlm_reward.training.checkpoints import load_checkpoint
    from vlm_reward.training.env_factory import make_eval_env
    from vlm_reward.training.rollout import run_episodes, summarise
    from vlm_reward.training.video import annotate_frames, write_video

    if episodes < 1:
        raise ConfigError(f"episodes: expected a positive integer, got {episodes}")
    run = RunDir(run_dir)
    cfg = run.read_config()
    restored = load_checkpoint(run, _algorithm_class(cfg.algorithm.name), device=cfg.device)
    steps = restored.checkpoint.steps
    seed = cfg.seed + 20_000 if seed is None else seed
    _seed_everything(seed)
    reward_model = build_reward_model(cfg.reward, cfg.env) if cfg.uses_vlm else None  # type: ignore[arg-type]
    try:
        env = make_eval_env(cfg, reward_model)
    except BaseException:
        _close_reward_model(reward_model)
        raise
    try:
        results = run_episodes(restored.model, env, episodes, seed, record_first=video)
    finally:
        env.close()
        _close_reward_model(reward_model)
    summary = summarise(results)
    summary["num_timesteps"] = steps
    summary["checkpoint"] = restored.checkpoint.model.name
    if video and results[0].frames is not None:
        first = results[0]
        label = "VLM reward" if first.rewards is not None else ""
        frames = annotate_frames(first.frames, first.rewards if first.rewards is not None else [],
                                 label)
        path = write_video(run.videos / f"evaluate_{steps}.mp4", frames)
        summary["video"] = run.relative(path)
    run.write_evaluation(summary)
    return summary
