"""Subprocess smoke tests of every `vlm-reward eval` command, with tiny budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SRC = Path(__file__).resolve().parents[2] / "src"


def run(*args: str, cwd: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "vlm_reward", "--device", "cpu", "--precision", "fp32", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ds"
    proc = run("eval", "collect", str(out), "--env", "CartPole-v1", "--policy", "random",
               "--policy", "scripted", "--episodes", "2", "--max-steps", "40", "--width", "48",
               "--height", "32", "--json")
    info = json.loads(proc.stdout)
    assert info["n_frames"] > 40 and 0 < info["success_rate"] < 1  # both classes present
    assert info["policy"] == "random+scripted"
    return out


def test_info_and_import_labels(dataset: Path, tmp_path: Path) -> None:
    info = json.loads(run("eval", "info", str(dataset), "--json").stdout)
    assert info["frame_shape"] == [32, 48, 3] and info["human_labels"] is None
    labels = tmp_path / "labels.csv"
    labels.write_text("index,rater,label,timestamp\n0,ann,success,t0\n1,ann,failure,t1\n"
                      "2,ann,success,t2\n")
    out = json.loads(run("eval", "import-labels", str(dataset), str(labels), "--json").stdout)
    assert out["labelled_frames"] == 3 and out["success"] == 2
    assert (dataset / "human_labels.csv").is_file()
    bad = tmp_path / "bad.csv"
    bad.write_text("index,rater,label,timestamp\n0,ann,maybe,t0\n")
    proc = run("eval", "import-labels", str(dataset), str(bad), ok=False)
    assert proc.returncode == 2
    assert "label must be one of" in proc.stderr and "Traceback" not in proc.stderr


def test_metrics_alpha_prompts_models(dataset: Path, tiny_clip_dir: Path,
                                      tmp_path: Path) -> None:
    model = str(tiny_clip_dir)
    out = json.loads(run("eval", "metrics", str(dataset), "-m", model, "-g", "pole upright",
                         "--reference", "success", "--n-boot", "20", "--json").stdout)
    assert out["reference"] == "success" and set(out["metrics"]) >= {"epic", "roc_auc"}
    assert 0.0 <= out["metrics"]["epic"]["value"] <= 1.0

    rep = tmp_path / "alpha"
    out = json.loads(run("eval", "alpha", str(dataset), "-m", model, "-g", "pole upright",
                         "-b", "a cart", "--steps", "3", "--reference", "success",
                         "--n-boot", "10", "--out", str(rep), "--json").stdout)
    assert out["alphas"] == [0.0, 0.5, 1.0]
    html = (rep / "report.html").read_text()
    assert "eval alpha" in html and "--steps 3" in html
    assert (rep / "alpha.png").is_file() and (rep / "alpha.svg").is_file()

    rep = tmp_path / "prompts"
    proc = run("eval", "prompts", str(dataset), "-m", model, "--pair", "pole upright | a cart",
               "--pair", "pole fallen", "--reference", "success", "--n-boot", "10", "--out",
               str(rep))
    assert "prompts ranked by epic" in proc.stdout
    assert "--pair" in (rep / "report.html").read_text()

    rep = tmp_path / "models"
    out = json.loads(run("eval", "models", str(dataset), "-m", model, "-m",
                         f"local-dir:{model}", "-g", "pole upright", "--reference", "success",
                         "--n-boot", "10", "--out", str(rep), "--json").stdout)
    assert len(out["models"]) == 2
    assert (rep / "models.png").is_file() and "eval models" in (rep / "report.html").read_text()


def test_sweep_and_sweep_dataset(tiny_clip_dir: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "sw"
    out = json.loads(run("eval", "sweep", "--env", "MountainCarContinuous-v0", "-m",
                         str(tiny_clip_dir), "-g", "a car next to the yellow flag", "-b",
                         "a car in the mountain", "-a", "0", "-a", "1", "--n", "5", "--width",
                         "48", "--height", "32", "--n-boot", "10", "--out", str(out_dir),
                         "--json").stdout)
    assert out["variable"] == "position" and len(out["rewards"]) == 2
    assert "eval sweep" in (out_dir / "report.html").read_text()
    assert (out_dir / "sweep.svg").is_file()
    info = json.loads(run("eval", "collect", str(tmp_path / "ds"), "--env", "CartPole-v1",
                          "--sweep", "theta", "--n", "4", "--json").stdout)
    assert info["n_frames"] == 4 and info["policy"] == "sweep:theta"


def test_errors_are_one_line(tmp_path: Path, tiny_clip_dir: Path) -> None:
    proc = run("eval", "metrics", str(tmp_path / "nope"), "-m", str(tiny_clip_dir), "-g", "x",
               ok=False)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "eval collect" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run("eval", "collect", str(tmp_path / "d"), "--env", "CartPole-v1", "--sweep",
               "angle", ok=False)
    assert proc.returncode == 2 and "choose from x, x_dot, theta, theta_dot" in proc.stderr
