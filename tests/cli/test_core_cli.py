"""`vlm-reward doctor`, `models` and `score`: one subprocess smoke test per command (the real
entry point), the rest in-process through the same ``main()`` to keep the suite fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vlm_reward", *args], capture_output=True,
                          text=True, timeout=300, env=env or os.environ.copy())


def run_inproc(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI's main() in this process; returns (exit code, stdout, stderr)."""
    from vlm_reward.cli import main

    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import imageio.v3 as iio

    folder = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(0)
    paths = {"png": folder / "a.png", "rgba": folder / "b.png", "mp4": folder / "clip.mp4",
             "npy": folder / "frames.npy"}
    iio.imwrite(paths["png"], rng.integers(0, 256, (60, 90, 3), dtype=np.uint8))
    iio.imwrite(paths["rgba"], rng.integers(0, 256, (40, 40, 4), dtype=np.uint8))
    iio.imwrite(paths["mp4"], rng.integers(0, 256, (4, 64, 96, 3), dtype=np.uint8), fps=4)
    np.save(paths["npy"], rng.integers(0, 256, (3, 50, 50, 3), dtype=np.uint8))
    return paths


def test_doctor_json() -> None:
    proc = run("doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["versions"]["torch"]
    assert report["precision"]["auto_picks"] in ("float32", "bfloat16", "float16")
    assert report["backends"]["open_clip"] is True
    assert isinstance(report["downloads"]["possible"], bool)
    assert "hf" in report["extras"] and isinstance(report["cached_weights"], list)


def test_doctor_offline_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_inproc(capsys, "--offline", "doctor")
    assert code == 0
    assert "downloads possible" in out and "offline mode" in out
    assert "extra [hf]" in out


@pytest.mark.slow
def test_models_json_and_table() -> None:
    proc = run("models", "--arch", "ViT-B-32", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    archs = {a["arch"]: a for a in report["open_clip_architectures"]}
    assert "ViT-B-32" in archs
    assert "ViT-B-32/laion2b_s34b_b79k" in [t["spec"] for t in archs["ViT-B-32"]["tags"]]
    assert any(s["syntax"] == "ARCH:FILE" for s in report["spec_syntax"])


def test_models_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_inproc(capsys, "models", "--arch", "SigLIP")
    assert code == 0 and "ViT-B-16-SigLIP" in out and "hf-hub:ORG/REPO" in out


def test_score_table(tiny_clip_dir: Path, media: dict[str, Path],
                     capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(media[k]) for k in ("png", "rgba", "mp4", "npy")]
    code, out, err = run_inproc(capsys, "--device", "cpu", "score", "--model",
                                str(tiny_clip_dir), "--goal", "a pole upright", *files)
    assert code == 0, err
    assert "clip.mp4" in out and "reward" in out


@pytest.mark.slow
def test_score_json_subprocess(tiny_clip_dir: Path, media: dict[str, Path]) -> None:
    files = [str(media[k]) for k in ("png", "rgba", "mp4", "npy")]

    proc = run("--device", "cpu", "--precision", "fp32", "score", "--model", str(tiny_clip_dir),
               "--goal", "a pole upright", "--baseline", "a pole", "--alpha", "0.5",
               "--batch-size", "2", "--json", *files)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert len(out["results"]) == 1 + 1 + 4 + 3
    assert out["alpha"] == 0.5 and out["baseline"] == ["a pole"] and out["dtype"] == "float32"
    rewards = np.array([r["reward"] for r in out["results"]])
    assert np.isfinite(rewards).all() and (np.abs(rewards) <= 1.0 + 1e-5).all()


def test_score_matches_python_api(tiny_clip_dir: Path, tiny_embedder, media,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import imageio.v3 as iio

    from vlm_reward.reward import RewardModel

    code, out, err = run_inproc(capsys, "--device", "cpu", "--precision", "fp32", "score",
                                "--model", str(tiny_clip_dir), "--goal", "a cart", "--json",
                                str(media["png"]))
    assert code == 0, err
    cli = json.loads(out)["results"][0]["reward"]
    api = RewardModel.from_prompts(tiny_embedder, "a cart").rewards(iio.imread(media["png"]))
    assert abs(cli - float(api[0])) < 1e-4


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "ViT-B-23/openai"], "did you mean ViT-B-32"),
    (["--model", "ViT-B-32/laion2b"], "valid tags"),
    (["--alpha", "0.5"], "give --baseline"),
    (["--alpha", "2"], "alpha"),
])
def test_score_errors_are_one_line(args: list[str], message: str, media,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_inproc(capsys, "score", "--goal", "x", *args, str(media["png"]))
    assert code == 2
    assert message in err and "Traceback" not in err


def test_score_offline_missing_weights(media: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_inproc(capsys, "--offline", "score", "--model", "ViT-B-32/openai",
                              "--cache-dir", str(tmp_path), "--goal", "x", str(media["png"]))
    assert code == 2
    assert "offline mode" in err and str(tmp_path) in err


def test_score_bad_frame_file(tmp_path: Path, tiny_clip_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    code, _, err = run_inproc(capsys, "score", "--model", str(tiny_clip_dir), "--goal", "x",
                              str(bad))
    assert code == 2 and "cannot read" in err
    code, _, err = run_inproc(capsys, "score", "--model", str(tiny_clip_dir), "--goal", "x",
                              str(tmp_path / "x.txt"))
    assert code == 2 and "not a file" in err
