"""`score` and the `eval` commands with reward families other than the default (``--reward
FILE.yaml``), in-process through the CLI's ``main()``; bad combinations are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

GOAL = "a pole upright on a cart"
NEGATIVES = ["a pole lying flat", "an empty track"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from vlm_reward.cli import main

    code = 0
    try:
        main(["--device", "cpu", "--precision", "fp32", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _yaml(folder: Path, name: str, data: dict) -> str:
    path = folder / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from vlm_reward.evaluation.collect import collect_dataset, sweep_dataset

    folder = tmp_path_factory.mktemp("families")
    sweep_dataset(folder / "ds", "CartPole-v1", "theta", n=9, width=48, height=32)
    collect_dataset(folder / "roll", "CartPole-v1", policies=("random",), episodes=3,
                    max_steps=5, width=48, height=32)
    np.save(folder / "frames.npy",
            np.random.default_rng(0).integers(0, 256, (3, 32, 48, 3), dtype=np.uint8))
    return {
        "ds": str(folder / "ds"),
        "roll": str(folder / "roll"),
        "episode": _yaml(folder, "ep.yaml", {"kind": "episode", "episode_stride": 2,
                                             "goal": GOAL}),
        "frames": str(folder / "frames.npy"),
        "negatives": _yaml(folder, "neg.yaml", {"kind": "negatives", "goal": GOAL,
                                                "negatives": NEGATIVES, "temperature": 30.0}),
        "window": _yaml(folder, "win.yaml", {"reward": {"kind": "window", "window": 3,
                                                        "goal": GOAL}}),
        "baseline": _yaml(folder, "gb.yaml", {"goal": GOAL, "baseline": "a cart"}),
        "states": _yaml(folder, "st.yaml", {"goal_states": [{"theta": 0.0}]}),
    }


def test_score_with_negatives_matches_the_formula(capsys, tiny_clip_dir: Path, tiny_embedder,
                                                  files: dict[str, str]) -> None:
    code, out, err = run(capsys, "score", files["frames"], "-m", str(tiny_clip_dir), "--reward",
                         files["negatives"], "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] == "negatives"
    emb = tiny_embedder.encode_images(np.load(files["frames"]))
    prompts = tiny_embedder.encode_text([GOAL, *NEGATIVES])
    expected = (30.0 * emb @ prompts.T).softmax(dim=-1)[:, 0].numpy()
    np.testing.assert_allclose([r["reward"] for r in data["results"]], expected, atol=1e-5)


def test_sweep_with_a_reward_file(capsys, tiny_clip_dir: Path, files: dict[str, str],
                                  tmp_path: Path) -> None:
    code, out, err = run(capsys, "eval", "sweep", "-e", "CartPole-v1", "-m", str(tiny_clip_dir),
                         "--reward", files["negatives"], "--n", "5", "--width", "48",
                         "--height", "32", "--n-boot", "0", "--no-progress", "--out",
                         str(tmp_path / "sw"), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] == "negatives" and data["curves"] == ["negatives"]
    assert all(0.0 < r < 1.0 for r in data["rewards"][0])  # probabilities
    # A goal-baseline file may be swept over alpha; --alpha overrides its alpha.
    code, out, err = run(capsys, "eval", "sweep", "-e", "CartPole-v1", "-m", str(tiny_clip_dir),
                         "--reward", files["baseline"], "-a", "0", "-a", "1", "--n", "5",
                         "--width", "48", "--height", "32", "--n-boot", "0", "--no-progress",
                         "--out", str(tmp_path / "sw2"), "--json")
    assert code == 0, err
    assert json.loads(out)["curves"] == ["alpha=0", "alpha=1"]


def test_metrics_models_prompts_with_families(capsys, tiny_clip_dir: Path,
                                              files: dict[str, str], tmp_path: Path) -> None:
    model = str(tiny_clip_dir)
    code, out, err = run(capsys, "eval", "metrics", files["ds"], "-m", model, "--reward",
                         files["window"], "--reference", "success", "--n-boot", "0",
                         "--no-progress", "--out", str(tmp_path / "m"), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] == "window" and "epic" in data["metrics"]
    assert "one-frame episode" in (tmp_path / "m" / "report.html").read_text()

    code, out, err = run(capsys, "eval", "models", files["ds"], "-m", model, "--reward",
                         files["negatives"], "--reward", files["window"], "--reference",
                         "success", "--n-boot", "0", "--no-progress", "--out",
                         str(tmp_path / "mo"), "--json")
    assert code == 0, err
    rows = json.loads(out)["models"]
    assert [r["reward"] for r in rows] == ["neg.yaml (negatives)", "win.yaml (window)"]
    assert rows[0]["metrics"]["epic"] != rows[1]["metrics"]["epic"]

    code, out, err = run(capsys, "eval", "prompts", files["ds"], "-m", model, "--reward",
                         files["negatives"], "--pair", "pole upright", "--pair",
                         "a pole fallen over", "--reference", "success", "--n-boot", "0",
                         "--no-progress", "--out", str(tmp_path / "p"), "--json")
    assert code == 0, err
    assert len(json.loads(out)["prompts"]) == 2
    assert "negatives" in (tmp_path / "p" / "report.html").read_text()

    code, out, err = run(capsys, "eval", "alpha", files["ds"], "-m", model, "--reward",
                         files["baseline"], "--steps", "3", "--reference", "success",
                         "--n-boot", "0", "--no-progress", "--out", str(tmp_path / "a"),
                         "--json")
    assert code == 0, err
    assert json.loads(out)["alphas"] == [0.0, 0.5, 1.0]


def test_metrics_along_episodes(capsys, tiny_clip_dir: Path, files: dict[str, str],
                                tmp_path: Path) -> None:
    common = ["-m", str(tiny_clip_dir), "--reference", "state:theta", "--n-boot", "0",
              "--no-progress", "--along-episodes", "--json"]
    code, out, err = run(capsys, "eval", "metrics", files["roll"], "--reward", files["window"],
                         *common)
    assert code == 0, err
    data = json.loads(out)
    assert data["along_episodes"] and data["reference"] == "state:theta"
    code, out, err = run(capsys, "eval", "metrics", files["roll"], "--reward", files["episode"],
                         *common, "--out", str(tmp_path / "ep"))
    assert code == 0, err
    data = json.loads(out)
    assert data["reference"] == "state:theta at episode ends" and data["n_frames"] == 3
    assert "along the episodes of the dataset" in (tmp_path / "ep" / "report.html").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["eval", "metrics", "{ds}", "--reward", "{window}", "--along-episodes"], "state sweep"),
    (["eval", "alpha", "{ds}", "--reward", "{negatives}"],
     "alpha is the goal-baseline reward's parameter"),
    (["eval", "sweep", "-e", "CartPole-v1", "--reward", "{negatives}", "-a", "0.5", "--n", "3",
      "--out", "{tmp}/s"], "curves over alpha apply to kind goal_baseline"),
    (["eval", "metrics", "{ds}", "--reward", "{negatives}", "-a", "0.5"], "drop --goal"),
    (["eval", "models", "{ds}", "--reward", "{window}", "-g", "x"], "drop --goal"),
    (["eval", "models", "{ds}", "--reward", "{window}", "--reward", "{window}"],
     "each file may appear once"),
    (["eval", "prompts", "{ds}", "--reward", "{negatives}", "--pair", "up | a cart"],
     "reads no baseline"),
    (["eval", "sweep", "-e", "CartPole-v1", "--n", "3", "--out", "{tmp}/s2"], "give --goal"),
    (["score", "{frames}", "--reward", "{window}", "--alpha", "0.3"], "drop --goal"),
    (["score", "{frames}", "--reward", "{states}"], "give the goal as goal_images"),
])
def test_bad_combinations_are_one_line(capsys, tiny_clip_dir: Path, files: dict[str, str],
                                       tmp_path: Path, args: list[str], message: str) -> None:
    filled = [a.format(tmp=tmp_path, **files) for a in args]
    code, _, err = run(capsys, *filled[:1 if filled[0] == "score" else 2], "-m",
                       str(tiny_clip_dir), *filled[1 if filled[0] == "score" else 2:])
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
