"""VLMReward on envs not made for this project (Pendulum-v1, Acrobot-v1), both modes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import register

from vlm_reward.errors import ConfigError, EnvError
from vlm_reward.frame_buffer import FRAME_KEY, RolloutFrames
from vlm_reward.reward import RewardModel
from vlm_reward.wrappers import (
    VLMReward,
    make_rendering_env,
    model_input_size,
    render_size_kwargs,
)

FOREIGN = ["Pendulum-v1", "Acrobot-v1"]


@pytest.fixture(scope="module")
def reward_model(tiny_embedder) -> RewardModel:
    return RewardModel.from_prompts(tiny_embedder, "a pole pointing straight up")


class _SizedEnv(gym.Env):
    """Renders a frame of the size it is constructed with; reports success every step."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}  # noqa: RUF012

    def __init__(self, render_mode=None, width=32, height=24, frame_dtype="uint8", channels=3):
        self.render_mode = render_mode
        self.width, self.height = width, height
        self.frame_dtype, self.channels = frame_dtype, channels
        self.observation_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, np.float32), 1.5, False, self.t >= 5, {"success": self.t % 2 == 0}

    def render(self):
        shape = (self.height, self.width) + ((self.channels,) if self.channels else ())
        value = (self.t * 40) % 256
        return np.full(shape, value, dtype=self.frame_dtype)


register(id="vlmr_test/Sized-v0", entry_point=_SizedEnv)


def _twin_steps(env_id: str, n: int, seed: int = 3):
    """Actions and the base env's rewards for ``n`` seeded steps (ground truth to compare)."""
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(n)]
    rewards = [float(env.step(a)[1]) for a in actions]
    env.close()
    return actions, rewards


@pytest.mark.parametrize("env_id", FOREIGN)
def test_per_step_returns_vlm_reward_of_rendered_frame(env_id, reward_model):
    actions, gt = _twin_steps(env_id, 6)
    env = VLMReward(gym.make(env_id, render_mode="rgb_array"), reward_model, mode="per_step")
    env.reset(seed=3)
    for action, gt_reward in zip(actions, gt, strict=True):
        _, reward, _, _, info = env.step(action)
        expected = reward_model.rewards(env.render()[None])[0]
        assert reward == pytest.approx(float(expected), abs=1e-5)
        assert info["vlm_reward"] == reward
        assert info["env_reward"] == pytest.approx(gt_reward)
        assert info["vlm_inference_seconds"] >= 0
    env.close()


@pytest.mark.parametrize("env_id", FOREIGN)
def test_deferred_batch_equals_per_step(env_id, reward_model):
    actions, gt = _twin_steps(env_id, 8)
    per_step = VLMReward(gym.make(env_id, render_mode="rgb_array"), reward_model)
    deferred = VLMReward(
        gym.make(env_id, render_mode="rgb_array"), reward_model, mode="deferred",
        placeholder_reward=-7.0,
    )
    per_step.reset(seed=3)
    deferred.reset(seed=3)
    expected, frames = [], []
    for action, gt_reward in zip(actions, gt, strict=True):
        expected.append(per_step.step(action)[1])
        _, reward, _, _, info = deferred.step(action)
        assert reward == -7.0
        assert info["env_reward"] == pytest.approx(gt_reward)
        frames.append(info[FRAME_KEY])
    calls = reward_model.embedder.image_calls
    batch = deferred.episode_rewards()
    assert reward_model.embedder.image_calls - calls == 1  # one batched forward pass
    np.testing.assert_allclose(batch, expected, atol=1e-5)
    np.testing.assert_array_equal(deferred.episode_frames.stacked(), np.stack(frames))
    deferred.reset(seed=0)
    assert len(deferred.episode_frames) == 0


def test_deferred_episode_rewards_carry_env_rewards_for_a_mix(tiny_embedder):
    """A mix with the env's reward and shaping gives the same rewards deferred as per step."""
    from vlm_reward.reward import GoalBaselineReward, RewardMix

    def model():
        family = GoalBaselineReward.from_prompts(tiny_embedder, "a pole pointing straight up")
        return RewardModel(tiny_embedder, family,
                           RewardMix(vlm_weight=0.5, env_weight=1.0, shaping_gamma=0.9))

    per_step = VLMReward(gym.make("Acrobot-v1", render_mode="rgb_array"), model())
    deferred = VLMReward(gym.make("Acrobot-v1", render_mode="rgb_array"), model(),
                         mode="deferred")
    actions, _ = _twin_steps("Acrobot-v1", 6)
    per_step.reset(seed=3)
    deferred.reset(seed=3)
    expected = [per_step.step(a)[1] for a in actions]
    for a in actions:
        deferred.step(a)
    np.testing.assert_allclose(deferred.episode_rewards(), expected, atol=1e-5)


def test_wrapper_records_constructor_args(reward_model):
    env = VLMReward(gym.make("Pendulum-v1", render_mode="rgb_array"), reward_model, "deferred")
    assert env.spec is not None
    assert env._saved_kwargs["mode"] == "deferred"


def test_success_is_passed_through(reward_model):
    env = VLMReward(gym.make("vlmr_test/Sized-v0", render_mode="rgb_array"), reward_model)
    env.reset(seed=0)
    flags = [env.step(0)[4]["success"] for _ in range(4)]
    assert flags == [False, True, False, True]


def test_rejects_env_without_rgb_array(reward_model):
    with pytest.raises(EnvError, match="render_mode='rgb_array'"):
        VLMReward(gym.make("Pendulum-v1"), reward_model)
    with pytest.raises(EnvError, match="rgb_array"):
        VLMReward(gym.make("Pendulum-v1", render_mode="human"), reward_model)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"channels": 0}, r"shape \(24, 32\)"), ({"channels": 4}, "RGB"),
     ({"frame_dtype": "float32"}, "dtype float32")],
)
def test_rejects_odd_frames(kwargs, match, reward_model):
    env = VLMReward(
        gym.make("vlmr_test/Sized-v0", render_mode="rgb_array", **kwargs), reward_model
    )
    env.reset(seed=0)
    with pytest.raises(EnvError, match=match):
        env.step(0)


def test_bad_arguments(reward_model):
    env = gym.make("Pendulum-v1", render_mode="rgb_array")
    with pytest.raises(ConfigError, match="mode"):
        VLMReward(env, reward_model, mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="reward_model"):
        VLMReward(env, None)  # per_step needs a model
    with pytest.raises(ConfigError, match="reward_model"):
        VLMReward(env, "not a model")  # type: ignore[arg-type]
    modelless = VLMReward(env, None, mode="deferred")
    with pytest.raises(ConfigError, match="reward_model"):
        modelless.episode_rewards()
    with pytest.raises(ConfigError, match="deferred"):
        VLMReward(env, reward_model).episode_rewards()


def test_render_size_helper(reward_model):
    size = model_input_size(reward_model)
    assert size == (32, 32)  # the tiny model's input
    assert render_size_kwargs("vlmr_test/Sized-v0", (40, 50)) == {"width": 50, "height": 40}
    assert render_size_kwargs("Pendulum-v1", (40, 50)) == {}  # fixed canvas: left alone
    env = make_rendering_env("vlmr_test/Sized-v0", size)
    env.reset(seed=0)
    assert env.render().shape == (32, 32, 3)
    pendulum = make_rendering_env("Pendulum-v1", size)
    pendulum.reset(seed=0)
    assert pendulum.render().shape == (500, 500, 3)
    with pytest.raises(EnvError, match="not registered"):
        make_rendering_env("NoSuchEnv-v9", size)


def _vector_check(envs, reward_model, n_envs: int, steps: int = 6):
    rollout = RolloutFrames(n_envs)
    envs.reset(seed=1)
    frames_by_step = []
    for _ in range(steps):
        _, rewards, _, _, infos = envs.step(envs.action_space.sample())
        np.testing.assert_array_equal(rewards, 0.0)
        assert "env_reward" in infos
        rollout.add(infos)
        frames_by_step.append(infos[FRAME_KEY].copy())
    calls = reward_model.embedder.image_calls
    rewards = rollout.compute(reward_model)
    assert reward_model.embedder.image_calls - calls == 1
    assert rewards.shape == (steps, n_envs)
    expected = reward_model.rewards(np.concatenate(frames_by_step)).reshape(steps, n_envs)
    np.testing.assert_allclose(rewards, expected, atol=1e-5)


def test_gymnasium_sync_vector_env(reward_model):
    envs = gym.vector.SyncVectorEnv([
        lambda: VLMReward(gym.make("Acrobot-v1", render_mode="rgb_array"), reward_model,
                          "deferred", keep_episode_frames=False)
        for _ in range(2)
    ])
    _vector_check(envs, reward_model, 2)
    envs.close()


def test_gymnasium_async_vector_env(reward_model):
    envs = gym.vector.AsyncVectorEnv([
        lambda: VLMReward(gym.make("Pendulum-v1", render_mode="rgb_array"), reward_model,
                          "deferred", keep_episode_frames=False)
        for _ in range(2)
    ], context="fork")
    _vector_check(envs, reward_model, 2, steps=3)
    envs.close()


def test_gymnasium_vector_autoreset_steps_have_no_frame(reward_model):
    envs = gym.vector.SyncVectorEnv([
        lambda: VLMReward(gym.make("vlmr_test/Sized-v0", render_mode="rgb_array"), reward_model,
                          "deferred", keep_episode_frames=False)
    ])
    rollout = RolloutFrames(1)
    envs.reset(seed=0)
    for _ in range(7):  # episode of 5 steps, then a next-step autoreset
        rollout.add(envs.step(envs.action_space.sample())[4])
    rewards = rollout.compute(reward_model, fill_value=np.nan)
    assert np.isnan(rewards[5, 0]) and not np.isnan(rewards[[0, 1, 2, 3, 4, 6], 0]).any()


def test_sb3_vec_env_per_step(reward_model):
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([
        lambda: VLMReward(gym.make("Pendulum-v1", render_mode="rgb_array"), reward_model)
        for _ in range(2)
    ])
    venv.seed(0)
    venv.reset()
    for _ in range(3):
        _, rewards, _, infos = venv.step(np.array([venv.action_space.sample() for _ in range(2)]))
        frames = np.stack([env.render() for env in venv.envs])
        np.testing.assert_allclose(rewards, reward_model.rewards(frames), atol=1e-5)
        assert all("env_reward" in info for info in infos)
    venv.close()


class _NoFrames(_SizedEnv):
    """Accepts render_mode='rgb_array' but renders nothing (as envs without rendering do)."""

    def render(self):
        return None


def test_env_that_renders_nothing(reward_model):
    env = VLMReward(_NoFrames(render_mode="rgb_array"), reward_model, mode="deferred")
    env.reset(seed=0)
    with pytest.raises(EnvError, match="returned None"):
        env.step(0)
