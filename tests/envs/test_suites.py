"""Benchmark-suite presets: registration, make/reset/step/render, success mapping, extras.

MuJoCo software rendering is slow (~0.1-1 s a frame), so each preset renders two frames.
Tests of a suite skip, with the reason, only when its extra is not installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import vlm_reward.envs  # noqa: F401  (registers the ids)
from vlm_reward.envs.suites import PRESETS, SUITE_IDS, SUITES
from vlm_reward.errors import ConfigError, DependencyNotInstalled
from vlm_reward.rendering_env import make_rendering_env

ROOT = Path(__file__).parents[2]


def _installed(suite: str) -> bool:
    return importlib.util.find_spec(SUITES[suite].package) is not None


def _needs(suite: str) -> pytest.MarkDecorator:
    extra = SUITES[suite].extra
    return pytest.mark.skipif(
        not _installed(suite), reason=f"extra not installed: pip install 'vlm-reward[{extra}]'"
    )


def _param(env_id: str) -> object:
    return pytest.param(env_id, marks=_needs(PRESETS[env_id].suite), id=env_id.split("/")[1])


def test_every_preset_is_registered_without_importing_a_suite():
    code = (
        "import sys, gymnasium as gym, vlm_reward.envs\n"
        "from vlm_reward.envs.suites import SUITE_IDS\n"
        "assert all(i in gym.registry for i in SUITE_IDS)\n"
        "bad = [m for m in ('metaworld', 'dm_control', 'ale_py', 'shimmy', 'mujoco') "
        "if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_preset_table_covers_the_named_tasks_with_prompts():
    tasks = {(p.suite, p.task) for p in PRESETS.values()}
    mw = ["door-open", "drawer-open", "drawer-close", "button-press-topdown", "window-open",
          "window-close", "sweep-into", "soccer", "reach", "push"]
    dmc = ["cartpole-swingup", "walker-stand", "cheetah-run", "finger-spin"]
    assert {("metaworld", t) for t in mw} | {("dmc", t) for t in dmc} <= tasks
    assert {t for s, t in tasks if s == "atari"} >= {"pong", "breakout", "freeway"}
    for preset in PRESETS.values():
        assert preset.goal.strip() and preset.baseline.strip() and preset.success.strip()
        assert len(preset.negatives) >= 2 and preset.goal not in preset.negatives
        assert (preset.success_threshold is not None) == (preset.suite == "dmc")


@pytest.mark.slow
@pytest.mark.parametrize("env_id", [_param(i) for i in SUITE_IDS])
def test_preset_makes_resets_steps_and_renders_at_the_model_size(env_id):
    preset = PRESETS[env_id]
    env = make_rendering_env(env_id, (96, 128), episode_length=3)
    try:
        assert env.unwrapped.width == 128 and env.unwrapped.height == 96
        env.action_space.seed(0)
        obs, info = env.reset(seed=0)
        assert env.observation_space.contains(obs) or preset.suite == "metaworld"
        assert ("success" in info) == preset.has_success
        frame = env.render()
        assert frame.shape == (96, 128, 3) and frame.dtype == np.uint8 and frame.std() > 1
        done, steps = False, 0
        while not done:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            assert np.isfinite(reward)
            assert ("success" in info) == preset.has_success
            steps += 1
            done = terminated or truncated
        assert steps == 3 and truncated
        assert env.render().shape == (96, 128, 3)
    finally:
        env.close()


@pytest.mark.slow
@pytest.mark.parametrize("suite", [pytest.param(s, marks=_needs(s)) for s in SUITES])
def test_reset_seed_fixes_the_episode(suite):
    env_id = next(i for i, p in PRESETS.items() if p.suite == suite)
    runs = []
    for _ in range(2):
        env = gym.make(env_id, width=32, height=32, episode_length=5)
        env.action_space.seed(1)
        obs, _ = env.reset(seed=7)
        obs2, *_ = env.step(env.action_space.sample())
        runs.append((np.asarray(obs).copy(), np.asarray(obs2).copy()))
        env.close()
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


@_needs("metaworld")
@pytest.mark.slow
def test_metaworld_success_flag_becomes_info_success(monkeypatch):
    env = gym.make("vlm_reward/metaworld-reach-v0", width=32, height=32, render_mode=None)
    env.reset(seed=0)
    inner = env.unwrapped._inner
    real = type(inner).evaluate_state
    flags = iter([0.0, 1.0])

    def fake_flag(self, obs, action):
        reward, info = real(self, obs, action)
        return reward, {**info, "success": next(flags)}

    monkeypatch.setattr(type(inner), "evaluate_state", fake_flag)
    action = np.zeros(4, dtype=np.float32)
    assert env.step(action)[4]["success"] is False
    assert env.step(action)[4]["success"] is True
    env.close()


@_needs("metaworld")
@pytest.mark.slow
def test_metaworld_reaching_the_goal_is_a_success():
    env = gym.make("vlm_reward/metaworld-reach-v0", width=32, height=32, render_mode=None)
    env.reset(seed=3)
    inner = env.unwrapped._inner
    success = False
    for _ in range(150):  # a proportional controller towards the goal
        action = np.append(np.clip((inner._target_pos - inner.tcp_center) * 10, -1, 1), 0.0)
        *_, info = env.step(action.astype(np.float32))
        success = info["success"]
        if success:
            break
    assert success is True
    env.close()


@_needs("dmc")
@pytest.mark.slow
def test_dmc_success_is_the_reward_threshold():
    env = gym.make("vlm_reward/dmc-cartpole-swingup-v0", width=32, height=32, render_mode=None)
    env.reset(seed=0)
    *_, info = env.step(np.zeros(1))
    assert info["success"] is False and info["task_reward"] < 0.9  # the pole starts hanging
    unwrapped = env.unwrapped
    assert unwrapped.is_success() is False
    names = unwrapped.state_names
    assert unwrapped.state_ranges["qpos_hinge_1"] == (-np.pi, np.pi)
    state = unwrapped.get_state()
    state[names.index("qpos_hinge_1")] = 0.0  # pole upright, cart centred, at rest
    state[names.index("qpos_slider")] = 0.0
    state[len(names) // 2:] = 0.0
    unwrapped.set_state(state)
    assert unwrapped.is_success() is True  # what state sweeps record
    _, reward, *_, info = env.step(np.zeros(1))
    assert reward >= 0.9 and info["success"] is True and info["task_reward"] == reward
    state[names.index("qpos_hinge_1")] = np.pi / 4  # 45 degrees off: not balanced
    unwrapped.set_state(state)
    assert unwrapped.is_success() is False
    env.close()


@_needs("metaworld")
@pytest.mark.slow
def test_metaworld_state_sweep_success_follows_the_door_angle():
    env = gym.make("vlm_reward/metaworld-door-open-v0", width=32, height=32, render_mode=None)
    env.reset(seed=0)
    unwrapped = env.unwrapped
    names = unwrapped.state_names
    assert unwrapped.state_ranges["qpos_doorjoint"] == (-2.0, 0.0)  # the joint's limits
    state = unwrapped.get_state()
    judged = []
    for angle in (0.0, -1.6):  # closed; swung open to Meta-World's target
        state[names.index("qpos_doorjoint")] = angle
        unwrapped.set_state(state)
        judged.append(unwrapped.is_success())
    assert judged == [False, True]
    env.close()


@_needs("atari")
@pytest.mark.parametrize(("task", "returns", "expected"), [
    ("pong", [-1.0, 1.0, 1.0], [False, False, True]),
    ("freeway", [0.0, 1.0, 0.0], [False, True, True]),
])
def test_atari_success_rules_follow_the_running_score(task, returns, expected, monkeypatch):
    env = gym.make(f"vlm_reward/atari-{task}-v0", width=32, height=32, render_mode=None)
    env.reset(seed=0)
    inner = env.unwrapped._inner
    rewards = iter(returns)

    def scripted_step(action):
        obs, _, terminated, truncated, info = type(inner).step(inner, action)
        return obs, next(rewards), terminated, truncated, info

    monkeypatch.setattr(inner, "step", scripted_step)
    got = [env.step(0)[4]["success"] for _ in returns]
    assert got == expected
    env.close()


@_needs("atari")
def test_atari_state_is_the_console_ram():
    env = gym.make("vlm_reward/atari-pong-v0", width=32, height=32, render_mode=None)
    env.reset(seed=0)
    state = env.unwrapped.get_state()
    assert state.shape == (128,) == (len(env.unwrapped.state_names),)
    assert not hasattr(env.unwrapped, "set_state")  # RAM writes do not redraw: no sweeps
    env.close()


@_needs("atari")
def test_breakout_reports_no_success():
    env = gym.make("vlm_reward/atari-breakout-v0", width=32, height=32, render_mode=None)
    _, info = env.reset(seed=0)
    assert "success" not in info and "success" not in env.step(0)[4]
    env.close()


@pytest.mark.parametrize("suite", list(SUITES))
def test_missing_extra_names_the_pip_command(suite, monkeypatch):
    monkeypatch.setitem(sys.modules, SUITES[suite].package, None)
    if suite == "dmc":
        monkeypatch.setitem(sys.modules, "dm_control.suite", None)
    env_id = next(i for i, p in PRESETS.items() if p.suite == suite)
    with pytest.raises(DependencyNotInstalled, match=rf"pip install 'vlm-reward\[{suite}\]'"):
        gym.make(env_id)


def test_unknown_arguments_and_lengths_fail_at_make(monkeypatch):
    for suite in SUITES:
        if not _installed(suite):
            continue
        env_id = next(i for i, p in PRESETS.items() if p.suite == suite)
        with pytest.raises(ConfigError, match="unknown arguments"):
            gym.make(env_id, render_mode=None, colour="red")
    if _installed("metaworld"):
        with pytest.raises(ConfigError, match="at most 500"):
            gym.make("vlm_reward/metaworld-reach-v0", render_mode=None, episode_length=501)


def test_shipped_suite_configs_equal_the_generator_output(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts/write_suite_configs.py"), str(tmp_path)],
                   check=True, cwd=ROOT, capture_output=True)
    written = sorted(tmp_path.glob("*.yaml"))
    assert len(written) == len(PRESETS) + len(SUITES)
    for path in written:
        assert (ROOT / "configs" / path.name).read_text() == path.read_text(), path.name


def test_docs_show_every_preset_with_its_frame_prompts_and_success_rule():
    text = (ROOT / "docs/suites.md").read_text()
    for preset in PRESETS.values():
        section = text.split(f"#### `{preset.env_id}`", 1)
        assert len(section) == 2, preset.env_id
        body = section[1].split("####", 1)[0]
        image = f"images/suite_{preset.suite}_{preset.task.replace('-', '_')}.png"
        assert image in body and (ROOT / "docs" / image).stat().st_size < 60_000
        for sentence in (preset.goal, preset.baseline, *preset.negatives, preset.success):
            assert sentence in body, (preset.env_id, sentence)
