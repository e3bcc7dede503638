"""Tests of the paper's Humanoid: textured scene XML, no termination, camera, state round trip.

MuJoCo renders through software EGL here, so frames are tiny and episodes a few steps.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import vlm_reward.envs  # noqa: F401  (registers the ids)
from vlm_reward.envs import HUMANOID_ID
from vlm_reward.errors import ConfigError

humanoid = pytest.importorskip("vlm_reward.envs.humanoid")


def make(**kwargs):
    kwargs.setdefault("width", 48)
    kwargs.setdefault("height", 32)
    return gym.make(HUMANOID_ID, **kwargs)


@pytest.fixture(scope="module")
def env():
    env = make(episode_length=4)
    yield env
    env.close()


def test_scene_xml_replaces_textures_but_keeps_the_body() -> None:
    from gymnasium.envs.mujoco import humanoid_v5

    source = Path(humanoid_v5.__file__).parent / "assets/humanoid.xml"
    xml = humanoid.textured_humanoid_xml(source)
    assert 'builtin="checker"' in xml and 'type="skybox"' in xml
    assert humanoid.FLOOR_LIGHT in xml and humanoid.BODY in xml and humanoid.SKY_TOP in xml
    assert xml.count("<joint") == source.read_text().count("<joint")


def test_spaces_state_names_and_no_termination(env) -> None:
    assert env.observation_space.shape == gym.make("Humanoid-v5").observation_space.shape
    names = env.unwrapped.state_names
    assert len(names) == env.unwrapped.model.nq + env.unwrapped.model.nv == 47
    assert names[2] == "qpos_root_z"
    _, info = env.reset(seed=0)
    assert info["success"] is True  # starts standing


def test_falls_without_terminating_and_truncates_at_episode_length() -> None:
    # Humanoid-v5 would terminate once the torso drops below 1 m; ours goes on to the end.
    env = make(render_mode=None, episode_length=150)
    env.reset(seed=0)
    fell = False
    for t in range(1, 151):
        _, reward, terminated, truncated, info = env.step(np.zeros(env.action_space.shape))
        assert terminated is False and truncated is (t == 150)
        assert isinstance(info["success"], bool) and isinstance(reward, float)
        fell |= not info["success"]
    assert fell and env.unwrapped.data.qpos[2] < 1.0
    env.close()


def test_seeded_reset_and_step_are_deterministic(env) -> None:
    action = np.full(env.action_space.shape, 0.1, dtype=np.float32)
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=5)
        runs.append(np.concatenate([obs, env.step(action)[0]]))
    np.testing.assert_array_equal(runs[0], runs[1])
    other, _ = env.reset(seed=6)
    assert not np.array_equal(runs[0][: other.size], other)


def test_set_state_round_trip(env) -> None:
    env.reset(seed=0)
    state = env.unwrapped.get_state()
    state[0] += 0.5
    env.unwrapped.set_state(state)
    np.testing.assert_allclose(env.unwrapped.get_state(), state)
    with pytest.raises(ConfigError, match="state"):
        env.unwrapped.set_state(state[:10])


def test_render_size_and_tracking_camera(env) -> None:
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (32, 48, 3) and frame.dtype == np.uint8
    top, bottom = frame[:4].astype(int).mean(axis=(0, 1)), frame[-4:].astype(int).mean(axis=(0, 1))
    assert top[2] > top[0] + 30  # blue sky above, floor below
    assert abs(bottom[2] - top[2]) > 30
    # The camera follows the body: moved 5 m along x, the body is still in the picture.
    state = env.unwrapped.get_state()
    state[0] += 5.0
    env.unwrapped.set_state(state)
    moved = env.render()

    def body_pixels(f: np.ndarray) -> int:  # orange: red well above green, green above blue
        r, g, b = (f[..., i].astype(int) for i in range(3))
        return int(((r - g > 45) & (g - b > 30)).sum())

    assert body_pixels(frame) > 10 and body_pixels(moved) > 10


def test_camera_kwargs_change_the_view_and_bad_values_fail() -> None:
    near = make(camera_distance=1.5, width=32, height=32)
    near.reset(seed=0)
    assert near.unwrapped.camera_distance == 1.5
    assert near.render().shape == (32, 32, 3)
    near.close()
    with pytest.raises(ConfigError, match="camera_distance"):
        make(camera_distance=-1.0)
    with pytest.raises(ConfigError, match="terminate_when_unhealthy"):
        make(terminate_when_unhealthy=True)
    with pytest.raises(ConfigError, match="episode_length"):
        make(episode_length=0)
