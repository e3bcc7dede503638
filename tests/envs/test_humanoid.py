"""Humanoid tests: MuJoCo software rendering is slow here, so few steps and tiny frames."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("mujoco")

import vlm_reward.envs  # noqa: F401  (registers the ids)
from vlm_reward.envs import HUMANOID_ID
from vlm_reward.envs.humanoid import textured_humanoid_xml
from vlm_reward.errors import ConfigError


def test_generated_xml_has_the_project_textures():
    text = textured_humanoid_xml().read_text()
    assert "vlmrm_floor" in text and "vlmrm_body" in text and 'type="skybox"' in text


def test_fixed_length_no_termination_and_determinism():
    def rollout():
        env = gym.make(HUMANOID_ID, episode_length=3, render_mode=None)
        obs, info = env.reset(seed=1)
        assert info["success"] is False
        env.action_space.seed(1)
        out = [obs]
        for t in range(3):
            obs, _, terminated, truncated, info = env.step(env.action_space.sample())
            assert not terminated and truncated == (t == 2) and info["success"] is False
            out.append(obs)
        return np.stack(out)

    np.testing.assert_array_equal(rollout(), rollout())


def test_fallen_humanoid_does_not_terminate_and_set_state_round_trips():
    env = gym.make(HUMANOID_ID, episode_length=5, render_mode=None,
                   success_fn=lambda e: bool(e.data.qpos[2] > 1.0))
    env.reset(seed=0)
    u = env.unwrapped
    assert len(u.state_names) == u.model.nq + u.model.nv and u.state_names[2] == "root_z"
    state = u.get_state()
    state[2] = 0.3  # torso on the floor: unhealthy in Gymnasium's terms
    u.set_state(state)
    np.testing.assert_allclose(u.get_state(), state)
    _, _, terminated, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
    assert not terminated and info["success"] is False
    with pytest.raises(ConfigError, match="state"):
        u.set_state(np.zeros(3))


@pytest.mark.slow
def test_render_size_textures_and_camera():
    frames = {}
    for textured in (True, False):
        env = gym.make(HUMANOID_ID, width=48, height=32, textured=textured)
        env.reset(seed=0)
        frames[textured] = env.render()
        env.close()
    assert frames[True].shape == (32, 48, 3) and frames[True].dtype == np.uint8
    assert np.abs(frames[True].astype(int) - frames[False]).mean() > 5
    sky = frames[True][:4].reshape(-1, 3).mean(0)
    assert sky[2] > sky[0] + 40  # a blue sky at the top


@pytest.mark.slow
def test_camera_follows_the_torso_at_the_lookat_height():
    env = gym.make(HUMANOID_ID, width=32, height=32, camera_lookat_height=0.8)
    env.reset(seed=0)
    u = env.unwrapped
    state = u.get_state()
    state[0] += 4.0  # move the whole body 4 m along x
    u.set_state(state)
    env.render()
    torso = u.data.xpos[u.model.body("torso").id]
    cam = u.mujoco_renderer.viewer.cam
    np.testing.assert_allclose(cam.lookat, [torso[0], torso[1], 0.8])
    assert cam.distance == pytest.approx(3.5) and cam.azimuth == pytest.approx(180.0)
    assert torso[0] > 3.0


def test_bad_camera_kwargs():
    with pytest.raises(ConfigError, match="camera_distance"):
        gym.make(HUMANOID_ID, camera_distance=-1.0)
    with pytest.raises(ConfigError, match="camera_track_body"):
        gym.make(HUMANOID_ID, camera_track_body="tail")


def test_passes_gymnasium_env_checker():
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make(HUMANOID_ID, render_mode=None).unwrapped, skip_render_check=True)
