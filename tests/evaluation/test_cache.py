"""The embedding cache: a second run does no model calls; any change of input misses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vlm_reward.evaluation.cache import EmbeddingCache, embed_frames, embedder_fingerprint


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
    info = embedder_fingerprint(tiny_embedder)
    assert info["preprocess"]["size"] == (32, 32) and "files" in info
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
