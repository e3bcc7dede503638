"""Window and episode rewards with a video model: each step's clip is embedded by the model
(a tiny random X-CLIP of the real architecture), checked against clips embedded by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tiny_models import save_tiny_xclip
from vlm_reward import load_model
from vlm_reward.config import RewardConfig
from vlm_reward.errors import ConfigError
from vlm_reward.factory import build_frame_reward, build_reward_model
from vlm_reward.reward import EpisodeReward, GoalBaselineReward, RewardModel, Steps, WindowReward
from vlm_reward.wrappers import VLMReward, make_rendering_env

pytest.importorskip("transformers")
GOAL = "a pole swinging up"


@pytest.fixture(scope="module")
def xclip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_xclip(tmp_path_factory.mktemp("xclip"), num_frames=4)


@pytest.fixture(scope="module")
def xclip(xclip_dir: Path):
    return load_model(f"xclip:{xclip_dir}", device="cpu", precision="fp32")


def _episode_frames(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 48, 3), dtype=np.uint8)


def _cos(xclip, clips: list[np.ndarray]) -> np.ndarray:
    goal = xclip.encode_text([GOAL])[0]
    return (xclip.encode_clips(clips) @ goal).numpy()


def _steps(n: int, starts: list[int], ends: list[int]) -> Steps:
    s, e = np.zeros(n, bool), np.zeros(n, bool)
    s[starts], e[ends] = True, True
    return Steps(np.zeros(n, int), s, e)


def test_window_scores_the_video_embedding_of_the_last_k_frames(xclip, xclip_dir) -> None:
    cfg = RewardConfig(model=f"xclip:{xclip_dir}", kind="window", window=3, goal=GOAL)
    family = build_frame_reward(cfg, xclip)
    assert isinstance(family, WindowReward) and family.takes_frames
    frames = _episode_frames(7)
    # two episodes in one stream: steps 0-3 and 4-6, delivered in two calls (3 + 4 steps)
    expected = _cos(xclip, [frames[0:1], frames[0:2], frames[0:3], frames[1:4],
                            frames[4:5], frames[4:6], frames[4:7]])
    rm = RewardModel(xclip, family)
    steps = _steps(7, [0, 4], [3, 6])
    first = rm.step_rewards(frames[:3], Steps(*(a[:3] for a in steps[:3])))
    second = rm.step_rewards(frames[3:], Steps(*(a[3:] for a in steps[:3])))
    np.testing.assert_allclose(np.concatenate([first, second]), expected, atol=1e-5)
    # not the mean of frame embeddings: the image-model rule gives other numbers here
    mean_rule = WindowReward(family.inner, 3)
    pooled, _ = mean_rule.stream(xclip.encode_images(frames), torch.from_numpy(steps.starts),
                                 torch.from_numpy(steps.ends), mean_rule.new_state())
    assert not np.allclose(pooled.numpy()[1:4], expected[1:4], atol=1e-4)
    with pytest.raises(ConfigError, match="needs the frames"):
        rm.step_rewards_from_embeddings(xclip.encode_images(frames), steps)


def test_episode_reward_is_the_clip_of_every_stride_th_frame(xclip, xclip_dir) -> None:
    cfg = RewardConfig(model="x", kind="episode", episode_stride=2, goal=GOAL)
    family = build_frame_reward(cfg, xclip)
    assert isinstance(family, EpisodeReward) and family.takes_frames
    frames = _episode_frames(9, seed=1)
    steps = _steps(9, [0, 5], [4, 8])  # episodes of 5 and 4 steps
    rewards = RewardModel(xclip, family).step_rewards(frames, steps)
    expected = _cos(xclip, [frames[0:5:2], frames[5:9:2]])
    np.testing.assert_allclose(rewards[[4, 8]], expected, atol=1e-5)
    assert np.count_nonzero(rewards) == 2


def test_one_frame_episodes_and_per_frame_scores_agree(xclip) -> None:
    """A temporal family's score of independent states (sweeps, evaluation) is the stream of
    one-frame episodes: the frame's static clip."""
    goal = xclip.encode_text([GOAL])
    family = WindowReward(GoalBaselineReward(goal), 4, xclip.encode_clips)
    frames = _episode_frames(3, seed=2)
    rm = RewardModel(xclip, family)
    one_step = rm.step_rewards(frames, _steps(3, [0, 1, 2], [0, 1, 2]))
    np.testing.assert_allclose(rm.rewards(frames), one_step, atol=1e-5)
    np.testing.assert_allclose(one_step, _cos(xclip, [f[None] for f in frames]), atol=1e-5)


def test_goal_video_is_one_demonstration_clip(xclip, tmp_path: Path) -> None:
    import imageio.v3 as iio

    from vlm_reward.factory import goal_frames_from_files

    path = tmp_path / "demo.mp4"
    iio.imwrite(path, _episode_frames(6, seed=3), fps=4)
    demo = goal_frames_from_files([str(path)])[0]
    family = build_frame_reward(RewardConfig(model="x", goal_images=[str(path)]), xclip)
    torch.testing.assert_close(family.goal, xclip.encode_clips([demo])[0], atol=1e-5, rtol=0)


def test_wrapper_per_step_uses_clips(xclip_dir: Path) -> None:
    cfg = RewardConfig(model=f"xclip:{xclip_dir}", kind="window", window=2, goal=GOAL,
                       device="cpu", precision="fp32")
    rm = build_reward_model(cfg)
    env = VLMReward(make_rendering_env("vlm_reward/CartPole-v0", (32, 32), episode_length=3), rm)
    env.reset(seed=0)
    frames, got = [], []
    for _ in range(3):
        _, reward, *_ = env.step(env.action_space.sample())
        frames.append(env.render_frame())
        got.append(reward)
    np.testing.assert_allclose(got, _cos(rm.embedder, [np.stack(frames[max(0, t - 1):t + 1])
                                                       for t in range(3)]), atol=1e-5)
    with pytest.raises(ConfigError, match="local backend"):
        from vlm_reward.factory import build_embedder

        build_embedder(cfg.model_copy(update={"backend": "ray"}))
