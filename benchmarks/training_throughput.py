"""Training throughput: env steps/s of VLM-rewarded CartPole PPO, ours vs naive, same run.

Configurations (same PPO hyperparameters, same number of env steps):

* ``ours/batched``: :func:`vlm_reward.training.train` with ``reward_mode: batched`` (frames are
  stored during the rollout and embedded in large batches before PPO's update), with the
  reward model's defaults (``precision: auto``, the default fast path and batch size) unless
  ``--precision`` says otherwise;
* ``ours/batched+ahead``: as ``ours/batched`` with ``embed_ahead: true`` (full batches of
  waiting frames are embedded in a worker thread while the envs step);
* ``ours/per_step``: as ``ours/batched`` with ``reward_mode: per_step`` (one frame per model
  call, but our tensor preprocessing);
* ``naive/per_step``: plain SB3 PPO on CartPole wrapped by the typical reward wrapper of
  :class:`benchmarks._common.NaiveReward` (PIL per frame, one fp32 model call per step);
* ``ground_truth``: the same PPO on the env's own reward, no VLM: the ceiling set by rendering
  and PPO alone.

Steps/s is counted over the SB3 ``learn`` loop only (model loading and the final evaluation
are excluded) for every configuration. Random weights are used: speed does not depend on them.

Training cannot be faster than its reward path, so the same run also measures that path:
the same reward model embedding frames of the env at the training's render size, in
rollout-sized batches (before and after the training modes, median). Each mode's env steps/s
is reported as a fraction of it (``of_reward_path``).

Example:
    python -m benchmarks.training_throughput --model ViT-B-32 --steps 256
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import GOAL, NaiveReward, emit, system_info

__all__ = ["main", "run"]

MODES = ("ground_truth", "ours/batched", "ours/batched+ahead", "ours/per_step",
         "naive/per_step")


def _progress(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]training_throughput:[/dim] {msg}")


def _env_id() -> str:
    """The paper's CartPole variant if the envs package registers it, else Gymnasium's."""
    import gymnasium as gym

    with contextlib.suppress(ImportError):
        import vlm_reward.envs  # noqa: F401
    return "vlm_reward/CartPole-v0" if "vlm_reward/CartPole-v0" in gym.registry else "CartPole-v1"


def _run_config(env_id: str, spec: str, mode: str, steps: int, n_steps: int, n_envs: int,
                precision: str) -> Any:
    from vlm_reward.config import validate_run_config

    reward: Any = "ground_truth"
    if mode.startswith("ours"):
        reward = {"model": spec, "goal": GOAL, "device": "cpu", "precision": precision}
    data = {
        "name": f"bench-{mode.replace('/', '-')}",
        "env": {"id": env_id},
        "seed": 0,
        "reward": reward,
        "reward_mode": "per_step" if mode.endswith("per_step") else "batched",
        "embed_ahead": mode.endswith("+ahead"),
        "algorithm": {"name": "PPO", "hyperparameters": {"n_steps": n_steps, "batch_size": 64,
                                                         "n_epochs": 4}},
        "n_envs": n_envs,
        "total_steps": steps,
        "device": "cpu",
        "logging": {"eval_every": 0, "eval_episodes": 1, "video_every": 0,
                    "checkpoint_every": 0, "progress_bar": False},
    }
    return validate_run_config(data, "<benchmark>")


def reward_path_frames_per_s(env_id: str, spec: str, precision: str, frames: int,
                             repeats: int = 3, device: str = "cpu") -> dict[str, Any]:
    """Frames/s of the training's reward model on ``frames`` env frames at its render size."""
    from benchmarks._common import build_reward_model, median, synthetic_frames, time_call

    rm = build_reward_model(spec, precision=precision, device=device)
    h, w = rm.embedder.preprocess.size
    pool = synthetic_frames(frames, height=h, width=w, env_id=env_id)
    rm.rewards(pool)  # warm-up
    seconds = [time_call(lambda: rm.rewards(pool)) for _ in range(repeats)]
    return {"frames_per_s": frames / median(seconds), "frame_shape": list(pool.shape[1:]),
            "batch_size": rm.embedder.batch_size,
            "dtype": str(rm.embedder.dtype).removeprefix("torch.")}


def _ours(env_id: str, spec: str, mode: str, steps: int, n_steps: int, n_envs: int,
          precision: str, tmp: Path) -> dict[str, Any]:
    from vlm_reward.training import train

    cfg = _run_config(env_id, spec, mode, steps, n_steps, n_envs, precision)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = train(cfg, tmp / cfg.name)
    return {"env_steps_per_s": res["fps"], "learn_seconds": res["wall_seconds"],
            "env_steps": res["num_timesteps"],
            "reward_inference_share": res.get("reward_inference_share")}


def _naive(env_id: str, spec: str, steps: int, n_steps: int) -> dict[str, Any]:
    import gymnasium as gym
    from stable_baselines3 import PPO

    reward = NaiveReward(spec)

    class NaiveClipReward(gym.Wrapper):
        """What a typical VLM reward wrapper does: render, PIL transform, one model call."""

        def step(self, action: Any) -> Any:
            obs, _, terminated, truncated, info = self.env.step(action)
            frame = self.env.render()
            r = float(reward.rewards(np.asarray(frame)[None])[0])
            return obs, r, terminated, truncated, info

    env = NaiveClipReward(gym.make(env_id, render_mode="rgb_array"))
    model = PPO("MlpPolicy", env, n_steps=n_steps, batch_size=64, n_epochs=4, seed=0,
                device="cpu", verbose=0)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - start
    env.close()
    return {"env_steps_per_s": model.num_timesteps / wall, "learn_seconds": wall,
            "env_steps": int(model.num_timesteps)}


def run(model: str = "ViT-B-32", steps: int = 512, n_steps: int = 32, n_envs: int = 8,
        precision: str = "auto", modes: tuple[str, ...] = MODES) -> dict[str, Any]:
    """Train each configuration for ``steps`` env steps and return the JSON-ready result."""
    spec = f"{model}/random"
    env_id = _env_id()
    rollout = n_steps * n_envs
    result: dict[str, Any] = {
        "benchmark": "training_throughput",
        "system": system_info(),
        "settings": {"model": spec, "env_id": env_id, "algorithm": "PPO", "n_envs": n_envs,
                     "env_steps": steps, "ppo_n_steps": n_steps, "precision": precision,
                     "frame_size": "env default (CartPole-v1: 400x600)"
                     if env_id == "CartPole-v1" else "model input size (render_size)"},
        "modes": {},
    }
    _progress(f"reward path: {rollout} frames per batch")
    paths = [reward_path_frames_per_s(env_id, spec, precision, rollout)]
    with tempfile.TemporaryDirectory(prefix="vlm-bench-") as tmpdir:
        for mode in modes:
            _progress(f"{mode}: {steps} env steps")
            if mode == "naive/per_step":  # fewer steps: one slow model call per step
                out = _naive(env_id, spec, max(n_steps, steps // 16), n_steps)
            else:
                out = _ours(env_id, spec, mode, steps, n_steps, n_envs, precision, Path(tmpdir))
            result["modes"][mode] = out
    paths.append(reward_path_frames_per_s(env_id, spec, precision, rollout))
    path_fps = float(np.median([p["frames_per_s"] for p in paths]))
    result["reward_path"] = {**paths[0], "frames_per_s": path_fps,
                             "samples": [p["frames_per_s"] for p in paths]}
    naive = result["modes"].get("naive/per_step", {}).get("env_steps_per_s")
    for out in result["modes"].values():
        out["x_naive"] = out["env_steps_per_s"] / naive if naive else None
        out["of_reward_path"] = out["env_steps_per_s"] / path_fps
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="ViT-B-32", help="open_clip architecture")
    parser.add_argument("--steps", type=int, default=512, help="env steps per configuration")
    parser.add_argument("--n-steps", type=int, default=32, help="PPO rollout length per env")
    parser.add_argument("--n-envs", type=int, default=8, help="parallel envs (as cartpole-cpu)")
    parser.add_argument("--precision", default="auto", help="reward model precision (ours)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown mode(s) {sorted(unknown)}; choose from {', '.join(MODES)}")
    result = run(args.model, args.steps, args.n_steps, args.n_envs, args.precision, modes)
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
