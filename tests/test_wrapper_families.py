"""VLMReward per step with stateful reward families equals the stream computed afterwards."""

from __future__ import annotations

import numpy as np
import torch

from vlm_reward.reward import (
    GoalBaselineReward,
    RewardMix,
    RewardModel,
    Steps,
    WindowReward,
)
from vlm_reward.wrappers import VLMReward, make_rendering_env


def test_per_step_window_and_shaping_follow_the_episode(tiny_embedder):
    goal = torch.randn(tiny_embedder.embed_dim, generator=torch.Generator().manual_seed(0))
    family = WindowReward(GoalBaselineReward(goal), window=3)
    rm = RewardModel(tiny_embedder, family, RewardMix(shaping_gamma=0.9, env_weight=1.0))
    env = VLMReward(make_rendering_env("vlm_reward/CartPole-v0", (32, 32), episode_length=5),
                    rm)
    frames, got, env_rewards, ends = [], [], [], []
    for episode in range(2):
        env.reset(seed=episode)
        done = False
        while not done:
            _, reward, terminated, truncated, info = env.step(env.action_space.sample())
            frames.append(env.render_frame())
            got.append(reward)
            env_rewards.append(info["env_reward"])
            done = terminated or truncated
            ends.append(done)
    n = len(frames)
    starts = np.zeros(n, bool)
    starts[[0, 5]] = True
    offline = RewardModel(tiny_embedder, family, RewardMix(shaping_gamma=0.9, env_weight=1.0))
    expected = offline.step_rewards(
        np.stack(frames), Steps(np.zeros(n, int), starts, np.array(ends), np.zeros(n, bool),
                                np.array(env_rewards)))
    np.testing.assert_allclose(got, expected, atol=1e-5)
