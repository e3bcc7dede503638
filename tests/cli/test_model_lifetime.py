"""Commands that load a model close it when they end, also when they fail; `eval models`
closes each model before it loads the next."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vlm_reward.models.base import Embedder


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the embedders closed, in order (spying on the one close of the contract)."""
    names: list[str] = []
    original = Embedder.close

    def spy(self: Embedder) -> None:
        names.append(self.name)
        original(self)

    monkeypatch.setattr(Embedder, "close", spy)
    return names


def _main(*args: str) -> int:
    from vlm_reward.cli import main

    try:
        main(["--device", "cpu", "--precision", "fp32", *args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="module")
def frames_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("frames") / "frames.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    return path


def test_score_closes_its_model(tiny_clip_dir: Path, frames_file: Path, closed: list[str],
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert _main("score", "--model", str(tiny_clip_dir), "--goal", "a cart", "--json",
                 str(frames_file)) == 0
    assert closed == [str(tiny_clip_dir)]


def test_score_closes_its_model_when_it_fails(tiny_clip_dir: Path, frames_file: Path,
                                              closed: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad_image = frames_file.parent / "goal.png"
    bad_image.write_text("not a picture")  # found only after the model is loaded
    reward = frames_file.parent / "reward.yaml"
    reward.write_text(f"goal_images: [{bad_image}]\n")
    assert _main("score", "--model", str(tiny_clip_dir), "--reward", str(reward),
                 str(frames_file)) == 2
    assert "not an image" in capsys.readouterr().err
    assert closed == [str(tiny_clip_dir)]


def test_eval_sweep_closes_its_model(tiny_clip_dir: Path, tmp_path: Path, closed: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert _main("eval", "sweep", "--env", "CartPole-v1", "-m", str(tiny_clip_dir), "-g",
                 "a pole upright", "--n", "3", "--width", "48", "--height", "32",
                 "--n-boot", "5", "--no-progress", "--out", str(tmp_path / "sw"), "--json") == 0
    assert closed == [str(tiny_clip_dir)]


def test_compare_models_closes_each_model_before_the_next(tiny_clip_dir: Path, tmp_path: Path,
                                                          closed: list[str]) -> None:
    from tiny_models import save_tiny_open_clip
    from vlm_reward import load_model
    from vlm_reward.config import RewardConfig
    from vlm_reward.evaluation.collect import sweep_dataset
    from vlm_reward.evaluation.compare import compare_models
    from vlm_reward.evaluation.scoring import resolve_reference

    ds = sweep_dataset(tmp_path / "ds", "CartPole-v1", "theta", n=15, width=48, height=32)
    other = str(save_tiny_open_clip(tmp_path / "other", seed=1))
    loaded: list[str] = []

    def load(spec: str) -> Embedder:
        assert len(closed) == len(loaded)  # the previous model is closed already
        loaded.append(spec)
        return load_model(spec, device="cpu", precision="fp32")

    compare_models([str(tiny_clip_dir), other], ds, resolve_reference(ds, "success"),
                   RewardConfig(model="each", goal="a pole upright"), load=load, n_boot=5)
    assert closed == [str(tiny_clip_dir), other]
