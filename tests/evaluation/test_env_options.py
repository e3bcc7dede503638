"""`eval` makes its envs like training does: at the model's input size, with YAML env kwargs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vlm_reward.cli import app
from vlm_reward.config import RewardConfig
from vlm_reward.evaluation.dataset import load_dataset
from vlm_reward.evaluation.sweeps import run_state_sweep
from vlm_reward.rendering_env import iter_random_frames, make_rendering_env
from vlm_reward.wrappers import model_input_size

GOAL = "pole vertically upright on top of the cart"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def sweep(out: Path, *extra: str) -> dict:
    """The sweep of docs/evaluation.md (plus ``extra``), its results.json."""
    invoke("eval", "sweep", "--env", "vlm_reward/CartPole-v0", "--model", "demo", "--goal", GOAL,
           "--alpha", "0", "--fix", "x=0", "--out", str(out), "--no-progress", *extra)
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_documented_sweep_draws_frames_at_the_models_input_size(tmp_path: Path) -> None:
    from vlm_reward import load_model

    height, width = model_input_size(load_model("demo"))
    default = sweep(tmp_path / "default")
    sized = sweep(tmp_path / "sized", "--width", str(width), "--height", str(height))
    r_default = np.asarray(default["results"]["rewards"][0])
    r_sized = np.asarray(sized["results"]["rewards"][0])
    span = np.ptp(r_sized)
    assert span > 0.5  # the demo model separates upright from fallen at its own size
    assert abs(np.ptp(r_default) - span) < 0.05 * span
    np.testing.assert_allclose(r_default, r_sized, atol=1e-4)
    assert load_dataset(tmp_path / "default" / "dataset").frames.shape[1:] == (height, width, 3)
    assert default["results"]["frame_size"] == [height, width]


def test_env_kwarg_values_are_yaml_in_eval(tmp_path: Path) -> None:
    env_id = "vlm_reward/MountainCarContinuous-v0"
    info = json.loads(invoke("eval", "collect", str(tmp_path / "ds"), "--env", env_id,
                             "--sweep", "position", "--n", "2", "--width", "32", "--height",
                             "24", "--env-kwarg", "textured=False", "--no-progress", "--json"))
    ds = load_dataset(info["path"])
    assert ds.meta["env_kwargs"] == {"textured": False}
    plain = make_rendering_env(env_id, (24, 32), textured=False)
    plain.reset(seed=0)
    plain.unwrapped.set_state(np.array([ds.states[n][0] for n in ds.state_names]))
    np.testing.assert_array_equal(ds.frames[0], plain.render())


def test_env_kwarg_values_are_yaml_in_render(tmp_path: Path) -> None:
    from PIL import Image

    env_id = "vlm_reward/MountainCarContinuous-v0"
    invoke("render", env_id, "--out", str(tmp_path), "--n-frames", "1", "--width", "32",
           "--height", "24", "--env-kwarg", "textured=False")
    saved = np.asarray(Image.open(tmp_path / "frame_00000.png"))

    def first(textured: bool) -> np.ndarray:
        return next(iter_random_frames(make_rendering_env(env_id, (24, 32), textured=textured),
                                       1, 0))

    np.testing.assert_array_equal(saved, first(False))
    assert not np.array_equal(saved, first(True))


@pytest.mark.parametrize(("env_id", "variable", "low", "high"), [
    ("vlm_reward/Humanoid-v0", "qpos_root_z", 1.0, 1.3),  # draws 224x224 unless told
    ("InvertedPendulum-v5", "qpos1", -0.3, 0.3),  # Gymnasium's MuJoCo: 480x480 unless told
])
def test_mujoco_sweeps_render_at_the_models_input_size(
    tiny_embedder, tmp_path: Path, env_id: str, variable: str, low: float, high: float
) -> None:
    pytest.importorskip("mujoco")
    result = run_state_sweep(tiny_embedder, tmp_path, env_id, variable,
                             reward=RewardConfig(model="tiny", goal="a robot"),
                             n=2, low=low, high=high, n_boot=0)
    size = model_input_size(tiny_embedder)
    assert load_dataset(result.dataset).frames.shape == (2, *size, 3)
