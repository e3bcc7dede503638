"""The embedding cache: a second run does no model calls; any change of input misses."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tiny_models import fill_hf_cache, register_tiny_arch, save_tiny_hf_clip, save_tiny_open_clip
from vlm_reward import load_model
from vlm_reward.evaluation.cache import EmbeddingCache, embed_frames
from vlm_reward.models.base import Embedder


def _frames(seed: int = 0, n: int = 10) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 24, 24, 3), dtype=np.uint8)


def test_second_run_does_no_model_calls(tiny_embedder, tmp_path: Path) -> None:
    frames = _frames()
    before = tiny_embedder.image_calls
    first = embed_frames(tiny_embedder, frames, cache_dir=tmp_path)
    assert tiny_embedder.image_calls > before
    after_first = tiny_embedder.image_calls
    second = embed_frames(tiny_embedder, frames, cache_dir=tmp_path)
    assert tiny_embedder.image_calls == after_first
    torch.testing.assert_close(first, second)
    torch.testing.assert_close(first, tiny_embedder.encode_images(frames))
    assert len(list(tmp_path.glob("emb-*.npy"))) == 1
    assert len(list(tmp_path.glob("emb-*.json"))) == 1


def test_changed_frames_miss_the_cache(tiny_embedder, tmp_path: Path) -> None:
    frames = _frames()
    embed_frames(tiny_embedder, frames, cache_dir=tmp_path)
    changed = frames.copy()
    changed[3, 0, 0, 0] ^= 1
    calls = tiny_embedder.image_calls
    embed_frames(tiny_embedder, changed, cache_dir=tmp_path)
    assert tiny_embedder.image_calls > calls
    assert len(list(tmp_path.glob("emb-*.npy"))) == 2


def test_key_covers_model_and_preprocessing(tiny_embedder, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    frames = _frames()
    key = cache.key(tiny_embedder, frames)
    info = tiny_embedder.fingerprint()
    assert info["preprocess"]["size"] == (32, 32)
    assert {Path(row[0]).name for row in info["weights"]} == {
        "open_clip_config.json", "open_clip_model.safetensors"}
    original = tiny_embedder.preprocess
    try:
        from dataclasses import replace

        tiny_embedder.preprocess = replace(original, interpolation="bilinear")
        assert cache.key(tiny_embedder, frames) != key
    finally:
        tiny_embedder.preprocess = original
    original_name = tiny_embedder.name
    try:
        tiny_embedder.name = "other-spec"
        assert cache.key(tiny_embedder, frames) != key
    finally:
        tiny_embedder.name = original_name
    assert cache.key(tiny_embedder, frames) == key


def test_unreadable_entry_is_recomputed(tiny_embedder, tmp_path: Path) -> None:
    frames = _frames(n=4)
    embed_frames(tiny_embedder, frames, cache_dir=tmp_path)
    entry = next(tmp_path.glob("emb-*.npy"))
    entry.write_bytes(b"garbage")
    calls = tiny_embedder.image_calls
    emb = embed_frames(tiny_embedder, frames, cache_dir=tmp_path)
    assert tiny_embedder.image_calls > calls and emb.shape == (4, tiny_embedder.embed_dim)


# --------------------------------------------------------------------------------------------
# The key follows the weights on disk, for every spec form, and every output-changing switch.

def _load(spec: str, **kwargs: Any) -> Embedder:
    kwargs.setdefault("precision", "fp32")
    return load_model(spec, device="cpu", **kwargs)


def _key(embedder: Embedder) -> str:
    return EmbeddingCache("unused").key(embedder, _frames())


def _spec_and_rewrite(form: str, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any],
                                                                Callable[[], None]]:
    """A spec of the given form over fresh weights, its load options, and a retrain-in-place."""
    folder = tmp_path / ("demo" if form == "demo" else "model")
    if form == "hf_folder":
        save_tiny_hf_clip(folder, seed=0)
        return f"hf:{folder}", {}, lambda: save_tiny_hf_clip(folder, seed=1) and None
    save_tiny_open_clip(folder, seed=0)
    weights = folder / "open_clip_model.safetensors"

    def rewrite() -> None:
        save_tiny_open_clip(folder, seed=1)
        if form == "arch_tag":
            shutil.copyfile(weights, cached)

    if form == "arch_file":
        return f"{register_tiny_arch(tmp_path / 'arch')}:{weights}", {}, rewrite
    if form == "local_dir":
        return f"local-dir:{folder}", {}, rewrite
    if form == "bare_folder":
        return str(folder), {}, rewrite
    if form == "demo":  # the demo spec loads BUNDLED_DIR/demo
        monkeypatch.setattr("vlm_reward.models.specs.BUNDLED_DIR", tmp_path)
        return "demo", {}, rewrite
    if form == "hf_hub":
        snapshot = fill_hf_cache(tmp_path / "hub", "tiny/clip", {
            "open_clip_config.json": folder / "open_clip_config.json",
            "open_clip_model.safetensors": weights,
        })

        def rewrite_hub() -> None:
            save_tiny_open_clip(folder, seed=1)
            shutil.copyfile(weights, snapshot / "open_clip_model.safetensors")

        return "hf-hub:tiny/clip", {"cache_dir": tmp_path / "hub", "offline": True}, rewrite_hub
    assert form == "arch_tag"
    import open_clip.pretrained

    arch = register_tiny_arch(tmp_path / "arch")
    url = "https://weights.invalid/tiny-clip.safetensors"
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, arch,
                        {"tinytag": open_clip.pretrained._pcfg(url=url)})
    cache = tmp_path / "url-cache"
    cache.mkdir()
    cached = cache / "tiny-clip.safetensors"
    shutil.copyfile(weights, cached)
    return f"{arch}/tinytag", {"cache_dir": cache, "offline": True}, rewrite


FORMS = ["arch_file", "arch_tag", "local_dir", "bare_folder", "demo", "hf_hub", "hf_folder"]


@pytest.mark.parametrize("form", FORMS)
def test_weights_rewritten_in_place_miss_the_cache(form: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spec, opts, rewrite = _spec_and_rewrite(form, tmp_path, monkeypatch)
    frames, cache_dir = _frames(n=6), tmp_path / "emb-cache"
    old = _load(spec, **opts)
    assert _key(_load(spec, **opts)) == _key(old)  # same weights, same switches: a hit
    first = embed_frames(old, frames, cache_dir=cache_dir)

    rewrite()
    new = _load(spec, **opts)
    assert _key(new) != _key(old)
    served = embed_frames(new, frames, cache_dir=cache_dir)
    torch.testing.assert_close(served, new.encode_images(frames))
    assert not torch.allclose(served, first, atol=1e-3)  # not the stale embeddings


def test_key_describes_the_weights_loaded_not_the_file_now(tiny_clip_dir: Path,
                                                          tmp_path: Path) -> None:
    """An embedder loaded before a rewrite still holds the old weights, so keeps its key."""
    folder = shutil.copytree(tiny_clip_dir, tmp_path / "model")
    old = _load(str(folder))
    key = _key(old)
    save_tiny_open_clip(folder, seed=1)
    assert _key(old) == key
    assert _key(_load(str(folder))) != key


@pytest.mark.parametrize("change", [
    {"fast_path": {"int8": True}},
    {"fast_path": {"onnx": True}},
    {"fast_path": {"uint8_resize": False}},
    {"precision": "bf16"},
])
def test_output_changing_switches_miss_the_cache(tiny_clip_dir: Path,
                                                 change: dict[str, Any]) -> None:
    if "onnx" in change.get("fast_path", {}):
        pytest.importorskip("onnxruntime")
    base = _key(_load(str(tiny_clip_dir)))
    assert _key(_load(str(tiny_clip_dir))) == base
    assert _key(_load(str(tiny_clip_dir), **change)) != base
