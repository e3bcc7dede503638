"""Tests of make_rgb_env / sample frames: errors name the fix, sizes are honoured."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from vlm_reward.envs.frames import (
    check_frame,
    iter_random_frames,
    make_rgb_env,
    parse_env_kwargs,
    write_png,
)
from vlm_reward.errors import ConfigError, EnvError


class _NoRender(gym.Env):
    metadata = {"render_modes": ["human"]}  # noqa: RUF012
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)


def test_unknown_id_lists_close_ids() -> None:
    with pytest.raises(EnvError, match=r"unknown environment id 'CartPol-v1'.*CartPole-v1"):
        make_rgb_env("CartPol-v1")


def test_env_without_rgb_array_is_refused() -> None:
    gym.register("vlm_reward_test/NoRender-v0", entry_point=_NoRender)
    try:
        with pytest.raises(EnvError, match="cannot render 'rgb_array'"):
            make_rgb_env("vlm_reward_test/NoRender-v0")
    finally:
        del gym.registry["vlm_reward_test/NoRender-v0"]


def test_native_size_for_our_envs_and_fallback_for_foreign_ones() -> None:
    env, native = make_rgb_env("vlm_reward/CartPole-v0", width=40, height=30)
    assert native and env.reset(seed=0) and env.render().shape == (30, 40, 3)
    env, native = make_rgb_env("Pendulum-v1", width=40, height=30)
    assert native is False  # Pendulum takes no width/height: the caller resizes
    assert check_frame(next(iter_random_frames(env, "Pendulum-v1", 1, 0)), "x").ndim == 3


def test_random_frames_are_seeded_and_span_episodes() -> None:
    def frames(seed: int) -> list[np.ndarray]:
        env, _ = make_rgb_env(
            "vlm_reward/CartPole-v0", width=32, height=32, kwargs={"episode_length": 3}
        )
        return list(iter_random_frames(env, "cp", 7, seed))  # crosses two resets

    a, b = frames(1), frames(1)
    assert len(a) == 7 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_check_frame_rejects_bad_images() -> None:
    with pytest.raises(EnvError, match=r"\(H, W, 3\)"):
        check_frame(np.zeros((4, 4), np.uint8), "e")
    with pytest.raises(EnvError, match="uint8"):
        check_frame(np.zeros((4, 4, 3), np.float32), "e")
    with pytest.raises(EnvError):
        check_frame(None, "e")


def test_parse_env_kwargs() -> None:
    assert parse_env_kwargs(["textured=false", "episode_length=50", "camera_distance=2.5",
                             "name=abc", "x=none"]) == {
        "textured": False, "episode_length": 50, "camera_distance": 2.5, "name": "abc",
        "x": None,
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_env_kwargs(["textured"])


def test_write_png_resizes_and_leaves_no_temp(tmp_path) -> None:
    from PIL import Image

    path = tmp_path / "f.png"
    write_png(np.zeros((10, 20, 3), np.uint8), path, size=(8, 4))
    assert Image.open(path).size == (8, 4)
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]
