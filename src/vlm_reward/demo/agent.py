"""`vlm-reward demo`: train a CartPole agent from one sentence with the bundled demo model.

The agent never sees the environment's reward: each step's reward is the demo model's cosine
similarity between the rendered frame and the sentence, computed in one batch for all parallel
envs. As in the paper's CartPole variant, the episode does not end when the pole falls (fixed
length, cart clipped to the track), so only the VLM reward says what to do. Ground truth
(pole within 12 degrees of upright for the whole episode) is used for evaluation only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DEMO_GOAL", "run_demo"]

DEMO_GOAL = "a pole standing upright on a cart"
EPISODE_LENGTH = 200
UPRIGHT_RAD = 12 * np.pi / 180


def _make_env(seed: int):
    import gymnasium as gym

    class NoTermination(gym.Wrapper):
        """Ignore CartPole's termination; fixed-length episodes; cart clipped to the track."""

        def reset(self, **kw):
            self._t = 0
            return self.env.reset(**kw)

        def step(self, action):
            obs, _r, _term, _trunc, info = self.env.step(action)
            base = self.env.unwrapped
            x, x_dot, th, th_dot = base.state
            th = float(np.arctan2(np.sin(th), np.cos(th)))
            if abs(x) > 2.4:
                x, x_dot = float(np.clip(x, -2.4, 2.4)), 0.0
            base.state = np.array([x, x_dot, th, th_dot])
            base.steps_beyond_terminated = None  # we continue past the fall on purpose
            obs = np.array(base.state, dtype=np.float32)
            self._t += 1
            info["upright"] = abs(th) < UPRIGHT_RAD
            return obs, 0.0, False, self._t >= EPISODE_LENGTH, info

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    env = NoTermination(gym.make("CartPole-v1", render_mode="rgb_array",
                                 max_episode_steps=10**9))
    env.reset(seed=seed)
    return env


def _vlm_reward_vec_env(n_envs: int, seed: int, reward_model: Any):
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper

    class VLMRewardVec(VecEnvWrapper):
        """Replace each step's reward by the VLM reward of all envs' frames, one batch."""

        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            obs, _rew, done, infos = self.venv.step_wait()
            frames = np.stack([e.render() for e in self.venv.envs])
            rew = reward_model.rewards(frames)
            return obs, rew, done, infos

    venv = DummyVecEnv([lambda i=i: _make_env(seed + i) for i in range(n_envs)])
    return VLMRewardVec(venv)


def _ground_truth(policy, n_episodes: int, seed: int, record: list | None = None) -> dict:
    """Success = pole within 12 degrees for all steps; also the mean upright fraction."""
    successes, fractions = [], []
    for ep in range(n_episodes):
        env = _make_env(seed + 1000 + ep)
        obs, _ = env.reset(seed=seed + 1000 + ep)
        upright = []
        for _ in range(EPISODE_LENGTH):
            action = policy(obs)
            obs, _, _, trunc, info = env.step(action)
            upright.append(info["upright"])
            if record is not None and ep == 0:
                record.append(env.render())
            if trunc:
                break
        env.close()
        successes.append(all(upright))
        fractions.append(float(np.mean(upright)))
    return {"success_rate": float(np.mean(successes)),
            "upright_fraction": float(np.mean(fractions))}


def run_demo(out: Path, steps: int = 12_000, seed: int = 0, eval_episodes: int = 20,
             model: str = "demo", n_envs: int = 8) -> dict[str, Any]:
    """Train PPO on the VLM reward, evaluate vs random, write the run folder; return results."""
    import imageio.v2 as imageio
    import torch
    from stable_baselines3 import PPO

    from vlm_reward import load_model
    from vlm_reward.demo.heldout import cartpole_angle_sweep
    from vlm_reward.errors import ConfigError
    from vlm_reward.reward import RewardModel

    if steps < n_envs:
        raise ConfigError(f"steps: expected at least {n_envs} (one step per env), got {steps}")
    t0 = time.time()
    torch.set_num_threads(2)
    out.mkdir(parents=True, exist_ok=True)
    emb = load_model(model, device="cpu", precision="fp32", batch_size=64)
    rm = RewardModel.from_prompts(emb, DEMO_GOAL)
    venv = _vlm_reward_vec_env(n_envs, seed, rm)
    agent = PPO("MlpPolicy", venv, n_steps=64, batch_size=128, n_epochs=8, learning_rate=1e-3,
                gamma=0.98, gae_lambda=0.9, ent_coef=0.0, seed=seed, verbose=0,
                tensorboard_log=str(out / "tb"), device="cpu")
    agent.learn(total_timesteps=steps, progress_bar=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    agent.save(out / "checkpoints" / "ppo_final.zip")
    t_train = time.time() - t0
    frames: list = []
    trained = _ground_truth(lambda o: int(agent.predict(o, deterministic=True)[0]),
                            eval_episodes, seed, record=frames)
    rng = np.random.default_rng(seed)
    random = _ground_truth(lambda o: int(rng.integers(2)), eval_episodes, seed)
    rewards = rm.rewards(np.stack(frames))
    (out / "videos").mkdir(exist_ok=True)
    _write_video(out / "videos" / "trained_policy.mp4", frames, rewards, imageio)
    angles, r = cartpole_angle_sweep(emb, [DEMO_GOAL])
    _plot_sweep(out / "reward_vs_angle.png", angles, r)
    results = {
        "goal": DEMO_GOAL, "model": model, "steps": steps, "seed": seed,
        "trained": trained, "random": random, "train_seconds": round(t_train, 1),
        "total_seconds": round(time.time() - t0, 1),
    }
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, out / "results.json")
    return results


def _write_video(path: Path, frames: list, rewards: np.ndarray, imageio: Any) -> None:
    """Frames with a bar on top whose length is the VLM reward (min..max over the episode)."""
    lo, hi = float(rewards.min()), float(rewards.max())
    out = []
    for f, r in zip(frames, rewards, strict=True):
        f = f.copy()
        w = int((r - lo) / max(hi - lo, 1e-6) * (f.shape[1] - 1))
        f[:12, :w] = (30, 160, 60)
        out.append(f)
    imageio.mimsave(path, out, fps=30)


def _plot_sweep(path: Path, angles: np.ndarray, r: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.degrees(angles), r)
    ax.set(xlabel="pole angle (degrees)", ylabel="VLM reward", title=f'"{DEMO_GOAL}"')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
