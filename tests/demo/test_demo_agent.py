"""The demo's pieces: its config, the ground-truth summary, and that it really learns."""

import numpy as np
import pytest

from vlm_reward.demo.agent import DEMO_GOAL, DEMO_STEPS, demo_config, ground_truth_summary, run_demo
from vlm_reward.errors import ConfigError
from vlm_reward.training.rollout import EpisodeResult


def _episode(upright_steps: int, length: int = 200) -> EpisodeResult:
    return EpisodeResult(ground_truth_return=float(upright_steps), length=length, success=None,
                         vlm_return=None)


def test_success_means_upright_for_every_step():
    summary = ground_truth_summary([_episode(200), _episode(199), _episode(50)])
    assert summary["success_rate"] == pytest.approx(1 / 3)
    assert summary["upright_fraction"] == pytest.approx((200 + 199 + 50) / 600)
    assert summary["episodes"] == 3


def test_demo_config_uses_only_the_vlm_reward():
    cfg = demo_config(8000, seed=3)
    assert cfg.uses_vlm and cfg.reward.goal == DEMO_GOAL and cfg.reward.model == "demo"
    assert cfg.reward.alpha == 0.0
    assert cfg.env.id == "vlm_reward/CartPole-v0" and cfg.seed == 3 and cfg.total_steps == 8000


def test_demo_config_rejects_fewer_steps_than_envs():
    with pytest.raises(ConfigError, match="steps"):
        demo_config(3)


@pytest.mark.slow
def test_demo_agent_learns_to_balance_from_the_sentence(tmp_path):
    """40k steps (under 2 min): the policy balances the pole, which a random one never does."""
    res = run_demo(tmp_path / "run", steps=40_000, seed=0, eval_episodes=10)
    trained, random = res["demo"]["trained"], res["demo"]["random"]
    assert random["success_rate"] == 0.0 and random["upright_fraction"] < 0.3
    assert trained["upright_fraction"] > 0.9
    assert trained["success_rate"] >= 0.7
    assert np.isfinite(res["train"]["vlm_return"])


def test_cartpole_cpu_config_is_the_demo_run():
    from pathlib import Path

    from vlm_reward.config import load_run_config

    path = Path(__file__).parents[2] / "configs" / "cartpole-cpu.yaml"
    cfg, demo = load_run_config(path), demo_config(DEMO_STEPS)
    assert cfg.algorithm == demo.algorithm and cfg.env == demo.env and cfg.reward == demo.reward
    assert cfg.n_envs == demo.n_envs and cfg.total_steps == demo.total_steps
