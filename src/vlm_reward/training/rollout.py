"""Roll out a trained policy: ground-truth return, success and VLM reward per episode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from vlm_reward.wrappers import VLMReward, check_frame

__all__ = ["EpisodeResult", "run_episodes", "summarise"]


@dataclass
class EpisodeResult:
    """One evaluation episode; ``frames``/``rewards`` only for recorded episodes."""

    ground_truth_return: float
    length: int
    success: bool | None
    vlm_return: float | None
    frames: np.ndarray | None = None
    rewards: np.ndarray | None = field(default=None, repr=False)


def run_episodes(
    model: Any, env: gym.Env, n_episodes: int, seed: int, record_first: bool = False
) -> list[EpisodeResult]:
    """Run ``n_episodes`` deterministic episodes; VLM rewards are embedded once per episode."""
    vlm = env if isinstance(env, VLMReward) else None
    results = []
    for ep in range(n_episodes):
        obs, _ = env.reset(seed=seed + ep)
        record = record_first and ep == 0
        frames: list[np.ndarray] = []
        gt, length, success, done = 0.0, 0, None, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, info = env.step(action)
            gt += float(info.get("env_reward", reward))
            length += 1
            if "success" in info:
                success = bool(info["success"])
            if record and vlm is None:
                frames.append(check_frame(env.render()))
            done = terminated or truncated
        vlm_rewards = vlm.episode_rewards() if vlm is not None else None
        result = EpisodeResult(
            ground_truth_return=gt,
            length=length,
            success=success,
            vlm_return=float(vlm_rewards.sum()) if vlm_rewards is not None else None,
        )
        if record:
            if vlm is not None:
                result.frames = vlm.episode_frames.stacked()
                result.rewards = vlm_rewards
            else:
                result.frames = np.stack(frames)
                result.rewards = None
        results.append(result)
    return results


def summarise(results: list[EpisodeResult]) -> dict[str, Any]:
    """Means over episodes; ``success_rate``/``vlm_return`` are ``None`` where undefined."""
    successes = [r.success for r in results if r.success is not None]
    vlm = [r.vlm_return for r in results if r.vlm_return is not None]
    return {
        "episodes": len(results),
        "ground_truth_return": float(np.mean([r.ground_truth_return for r in results])),
        "ground_truth_return_std": float(np.std([r.ground_truth_return for r in results])),
        "episode_length": float(np.mean([r.length for r in results])),
        "success_rate": float(np.mean(successes)) if successes else None,
        "vlm_return": float(np.mean(vlm)) if vlm else None,
    }
