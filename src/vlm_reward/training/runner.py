"""Train, resume and evaluate runs: config in, run folder out.

Run folder (the contract other parts read)::

    RUN_DIR/config.yaml    resolved config
    RUN_DIR/tb/            TensorBoard events (+ progress.csv)
    RUN_DIR/checkpoints/   model_<steps>.zip, replay_buffer.pkl (off-policy), latest.json
    RUN_DIR/videos/        eval_step_<steps>.mp4 with the VLM reward drawn on the frames
    RUN_DIR/results.json   final metrics
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from vlm_reward.atomic import atomic_write_json
from vlm_reward.config import RunConfig, dump_run_config, load_run_config
from vlm_reward.errors import CheckpointError, ConfigError, DependencyNotInstalled
from vlm_reward.factory import build_reward_model
from vlm_reward.training.checkpoints import holds_run
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
    """Release what the ``RewardModel``'s embedder holds (Ray actors, the Ray it started)."""
    if reward_model is not None:
        reward_model.embedder.close()


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
        >>> from vlm_reward.config import load_run_config                       # doctest: +SKIP
        >>> cfg = load_run_config("configs/cartpole-cpu.yaml", ["total_steps=2000"])
        >>> results = train(cfg, "runs/demo")                                    # doctest: +SKIP
    """
    _require_wandb(cfg)  # fail before creating anything
    check_algorithm_fits_env(cfg)
    run_dir = Path(run_dir) if run_dir is not None else _default_run_dir(cfg)
    if holds_run(run_dir):
        raise ConfigError(
            f"run dir {run_dir} already holds a run; continue it with "
            f"`vlm-reward train --resume {run_dir}` or choose another --run-dir"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    dump_run_config(cfg, run_dir / "config.yaml")
    return _run(cfg, run_dir, resume_run=False)


def resume(run_dir: Path | str) -> dict[str, Any]:
    """Continue a run from its last checkpoint (and replay buffer) up to ``total_steps``."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir / "config.yaml")
    return _run(cfg, run_dir, resume_run=True)


def _run(cfg: RunConfig, run_dir: Path, resume_run: bool) -> dict[str, Any]:
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.logger import configure

    from vlm_reward.training.callbacks import (
        CheckpointEvery,
        EvalEvery,
        Metrics,
        ProgressBar,
        StopOnFlag,
    )
    from vlm_reward.training.checkpoints import latest_checkpoint, save_checkpoint
    from vlm_reward.training.env_factory import make_eval_env, make_vec_env
    from vlm_reward.training.relabel import Relabelling, buffer_arguments
    from vlm_reward.training.stats import RunStats, StopFlag, stop_on_signals

    if cfg.torch_threads is not None:
        import torch

        torch.set_num_threads(cfg.torch_threads)
    algo_cls = _algorithm_class(cfg.algorithm.name)
    latest = latest_checkpoint(run_dir) if resume_run else None
    done_steps = latest["num_timesteps"] if latest else 0
    _seed_everything(cfg.seed + done_steps)  # a resumed run does not replay the same noise

    reward_model = build_reward_model(cfg.reward, cfg.env) if cfg.uses_vlm else None  # type: ignore[arg-type]
    try:
        env = make_vec_env(cfg, reward_model)
        eval_env = make_eval_env(cfg, reward_model)
        wandb_run = _init_wandb(cfg, run_dir, resume_run)
    except BaseException:
        _close_reward_model(reward_model)
        raise
    try:
        hp = _hyperparameters(cfg)
        batched = reward_model is not None and cfg.reward_mode == "batched"
        # batched VLM rewards: buffers that relabel themselves before sample()/advantages
        buffers = (buffer_arguments(algo_cls, env.observation_space, hp, cfg.relabel_max_pending)
                   if batched else {})
        if latest is not None:
            try:
                model = algo_cls.load(latest["model"], env=env, device=cfg.device, **buffers)
            except (ValueError, KeyError, OSError) as exc:
                raise CheckpointError(f"{latest['model']}: cannot load checkpoint: {exc}") from exc
            if latest["replay_buffer"] is not None and hasattr(model, "load_replay_buffer"):
                model.load_replay_buffer(latest["replay_buffer"])
        else:
            model = algo_cls(
                cfg.algorithm.policy, env, seed=cfg.seed, device=cfg.device, verbose=0,
                **{**hp, **buffers},
            )
        model.set_logger(configure(str(run_dir / "tb"), ["tensorboard", "csv"]))

        stats = RunStats()
        stop = StopFlag()
        relabel = Relabelling(reward_model, stats) if batched else None  # type: ignore[arg-type]
        relabel_callbacks = relabel.attach(model) if relabel is not None else []
        metrics = Metrics(stats)
        seed_eval = cfg.seed + 10_000
        evaluator = EvalEvery(
            eval_env, run_dir, cfg.logging.eval_every, cfg.logging.video_every,
            cfg.logging.eval_episodes, seed_eval, metrics,
        )
        checkpoints = CheckpointEvery(
            run_dir, cfg.logging.checkpoint_every, cfg.logging.save_replay_buffer,
            before_save=relabel.flush if relabel is not None else None,
        )
        callbacks: list[Any] = [StopOnFlag(stop), *relabel_callbacks]
        callbacks += [metrics, checkpoints, evaluator]
        if cfg.logging.progress_bar:
            callbacks.append(ProgressBar(cfg.total_steps))

        remaining = cfg.total_steps - int(model.num_timesteps)
        start = time.perf_counter()
        if remaining > 0:
            with stop_on_signals(stop):
                model.learn(
                    total_timesteps=remaining,
                    callback=CallbackList(callbacks),
                    reset_num_timesteps=not resume_run,
                    log_interval=1 if cfg.algorithm.name == "PPO" else 4,
                )
        else:
            CallbackList(callbacks).init_callback(model)  # nothing left to train: init only
        if relabel is not None:
            relabel.flush()
        checkpoint = save_checkpoint(model, run_dir, cfg.logging.save_replay_buffer)
        summary = stats.summary(int(model.num_timesteps))
        if stop.requested:
            return {
                "status": "interrupted",
                "signal": stop.signal_name,
                "num_timesteps": int(model.num_timesteps),
                "checkpoint": str(checkpoint.relative_to(run_dir)),
                "run_dir": str(run_dir),
            }
        final_eval = evaluator.evaluate(video=True) if cfg.logging.eval_episodes else None
        results = {
            "status": "completed",
            "run_dir": str(run_dir),
            "env_id": cfg.env.id,
            "algorithm": cfg.algorithm.name,
            "seed": cfg.seed,
            "reward": "ground_truth" if not cfg.uses_vlm else "vlm",
            "reward_mode": cfg.reward_mode if cfg.uses_vlm else None,
            "total_steps": cfg.total_steps,
            "num_timesteps": int(model.num_timesteps),
            "resumed_from": done_steps if resume_run else None,
            "wall_seconds": time.perf_counter() - start,
            "fps": summary["fps"],
            "reward_inference_share": summary["reward_inference_share"],
            "train": {
                "ground_truth_return": summary["ground_truth_return"],
                "vlm_return": summary["vlm_return"],
                "success_rate": summary["success_rate"],
                "episodes": summary["episodes"],
            },
            "eval": final_eval,
            "checkpoint": str(checkpoint.relative_to(run_dir)),
            "relabelled_frames": relabel.relabelled if relabel is not None else None,
        }
        atomic_write_json(run_dir / "results.json", results)
        return results
    finally:
        env.close()
        eval_env.close()
        _close_reward_model(reward_model)
        if wandb_run is not None:
            wandb_run.finish()


def evaluate_run(
    run_dir: Path | str, episodes: int = 5, video: bool = True, seed: int | None = None
) -> dict[str, Any]:
    """Roll out a run's latest checkpoint: ground-truth return, success rate, VLM reward, video.

    Writes ``RUN_DIR/evaluation.json`` and (if ``video``) ``RUN_DIR/videos/evaluate_<steps>.mp4``.
    """
    from vlm_reward.training.checkpoints import latest_checkpoint
    from vlm_reward.training.env_factory import make_eval_env
    from vlm_reward.training.rollout import run_episodes, summarise
    from vlm_reward.training.video import annotate_frames, write_video

    if episodes < 1:
        raise ConfigError(f"episodes: expected a positive integer, got {episodes}")
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir / "config.yaml")
    latest = latest_checkpoint(run_dir)
    seed = cfg.seed + 20_000 if seed is None else seed
    _seed_everything(seed)
    reward_model = build_reward_model(cfg.reward, cfg.env) if cfg.uses_vlm else None  # type: ignore[arg-type]
    try:
        env = make_eval_env(cfg, reward_model)
    except BaseException:
        _close_reward_model(reward_model)
        raise
    try:
        try:
            model = _algorithm_class(cfg.algorithm.name).load(latest["model"], device=cfg.device)
        except (ValueError, KeyError, OSError) as exc:
            raise CheckpointError(f"{latest['model']}: cannot load checkpoint: {exc}") from exc
        results = run_episodes(model, env, episodes, seed, record_first=video)
    finally:
        env.close()
        _close_reward_model(reward_model)
    summary = summarise(results)
    summary["num_timesteps"] = latest["num_timesteps"]
    summary["checkpoint"] = latest["model"].name
    if video and results[0].frames is not None:
        first = results[0]
        label = "VLM reward" if first.rewards is not None else ""
        frames = annotate_frames(first.frames, first.rewards if first.rewards is not None else [],
                                 label)
        path = write_video(run_dir / "videos" / f"evaluate_{latest['num_timesteps']}.mp4", frames)
        summary["video"] = str(path.relative_to(run_dir))
    atomic_write_json(run_dir / "evaluation.json", summary)
    return summary
