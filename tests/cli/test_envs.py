from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import imageio.v3 as iio
import pytest

from vlm_reward.cli.envs import make_render_env, parse_env_kwargs
from vlm_reward.errors import ConfigError, EnvError

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC, "SDL_VIDEODRIVER": "dummy"}
    return subprocess.run(
        [sys.executable, "-m", "vlm_reward", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )


def test_render_saves_pngs_at_the_asked_size(tmp_path):
    out = tmp_path / "frames"
    res = run_cli("render", "vlm_reward/MountainCarContinuous-v0", "--out", str(out),
                  "--n-frames", "3", "--width", "72", "--height", "56",
                  "--set", "textured=false", "--set", "episode_length=2")
    assert res.returncode == 0, res.stderr
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [f"frame_{i:05d}.png" for i in range(3)]
    assert iio.imread(files[0]).shape == (56, 72, 3)


def test_render_works_for_a_foreign_env(tmp_path):
    res = run_cli("render", "Pendulum-v1", "--out", str(tmp_path), "--n-frames", "2")
    assert res.returncode == 0, res.stderr
    assert len(list(tmp_path.glob("*.png"))) == 2


def test_unknown_id_lists_close_ids(tmp_path):
    res = run_cli("render", "vlm_reward/CartPol-v0", "--out", str(tmp_path))
    assert res.returncode == 2
    assert "vlm_reward/CartPole-v0" in res.stderr and "Traceback" not in res.stderr


def test_parse_env_kwargs():
    assert parse_env_kwargs(["textured=false", "width=64", "name=a b"]) == {
        "textured": False, "width": 64, "name": "a b"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_env_kwargs(["textured"])


class _NoRgbEnv(gym.Env):
    metadata = {"render_modes": ["human"]}  # noqa: RUF012
    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode


def test_env_without_rgb_array_is_a_clear_error():
    gym.register("vlm_reward_test/NoRgb-v0", entry_point=_NoRgbEnv)
    try:
        with pytest.raises(EnvError, match="rgb_array"):
            make_render_env("vlm_reward_test/NoRgb-v0", {})
    finally:
        gym.registry.pop("vlm_reward_test/NoRgb-v0", None)


@pytest.mark.slow
def test_render_humanoid(tmp_path):
    pytest.importorskip("mujoco")
    res = run_cli("render", "vlm_reward/Humanoid-v0", "--out", str(tmp_path), "--n-frames", "2",
                  "--width", "40", "--height", "32", "--set", "camera_distance=3.0")
    assert res.returncode == 0, res.stderr
    assert iio.imread(tmp_path / "frame_00001.png").shape == (32, 40, 3)
