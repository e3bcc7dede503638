"""Cache lookup, offline mode and fast, clear failures when weights cannot be downloaded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tiny_models import fill_hf_cache
from vlm_reward import load_model
from vlm_reward.errors import WeightsUnavailableError
from vlm_reward.models.weights import fetch_hf_file, hub_offline, network_reachable, scan_caches


def test_offline_tag_names_model_cache_and_fix(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailableError) as info:
        load_model("ViT-B-32/laion2b_s34b_b79k", device="cpu", cache_dir=tmp_path, offline=True)
    msg = str(info.value)
    assert "ViT-B-32/laion2b_s34b_b79k" in msg
    assert "offline" in msg
    assert str(tmp_path / "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K") in msg
    assert "ARCH:/path/to/model.safetensors" in msg and "local-dir:" in msg


def test_env_offline_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    called = []
    monkeypatch.setattr("vlm_reward.models.weights.network_reachable",
                        lambda *a, **k: called.append(1) or (True, "ok"))
    with pytest.raises(WeightsUnavailableError, match="offline mode"):
        fetch_hf_file("org/repo", ["w.safetensors"], model="m", cache_dir=tmp_path)
    assert not called  # offline never probes the network


def test_cached_hub_model_loads_offline(tiny_clip_dir: Path, tmp_path: Path) -> None:
    fill_hf_cache(tmp_path, "tiny/clip", {
        "open_clip_config.json": tiny_clip_dir / "open_clip_config.json",
        "open_clip_model.safetensors": tiny_clip_dir / "open_clip_model.safetensors",
    })
    emb = load_model("hf-hub:tiny/clip", device="cpu", precision="fp32", cache_dir=tmp_path,
                     offline=True)
    ref = load_model(str(tiny_clip_dir), device="cpu", precision="fp32")
    assert not emb.is_random
    assert emb.encode_text(["a pole"]).allclose(ref.encode_text(["a pole"]), atol=1e-6)


@pytest.mark.parametrize("endpoint", ["http://192.0.2.1", "http://no-such-host.invalid"])
def test_download_attempt_fails_fast(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Online mode with an unreachable (or black-holed) endpoint: a clear error within seconds."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    start = time.monotonic()
    with pytest.raises(WeightsUnavailableError, match=r"no network.*looked in"):
        load_model("ViT-B-32/laion2b_s34b_b79k", device="cpu", cache_dir=tmp_path)
    assert time.monotonic() - start < 15


def test_download_here_fails_fast_without_traceback(tmp_path: Path) -> None:
    """The real default endpoint from this machine, through the CLI: one line, exit 2, fast."""
    import imageio.v3 as iio

    image = tmp_path / "frame.png"
    iio.imwrite(image, np.zeros((32, 48, 3), np.uint8))
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_ENDPOINT")}
    env["HF_HOME"] = str(tmp_path)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "vlm_reward", "--device", "cpu", "score",
         "--model", "ViT-B-32/laion2b_s34b_b79k", "--goal", "a cat", str(image)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cannot be downloaded" in proc.stderr and str(tmp_path) in proc.stderr
    assert elapsed < 60


def test_network_probe_times_out_quickly() -> None:
    start = time.monotonic()
    ok, detail = network_reachable("http://192.0.2.1", timeout=1.0)
    assert not ok and "unreachable" in detail
    assert time.monotonic() - start < 5


def test_hub_offline_restores_state(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    before = constants.HF_HUB_OFFLINE
    with hub_offline():
        assert constants.HF_HUB_OFFLINE is True
    assert before == constants.HF_HUB_OFFLINE
    assert "TRANSFORMERS_OFFLINE" not in os.environ


def test_scan_caches_lists_cached_repo(tiny_clip_dir: Path, tmp_path: Path) -> None:
    fill_hf_cache(tmp_path, "tiny/clip", {
        "open_clip_model.safetensors": tiny_clip_dir / "open_clip_model.safetensors",
    })
    names = [entry["name"] for entry in scan_caches(tmp_path)]
    assert "tiny/clip" in names
