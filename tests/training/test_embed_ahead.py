"""EmbedAhead: full chunks go to the worker as frames arrive, the rest is embedded at collect,
and the result is the embedding of every frame in arrival order."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from vlm_reward.training.embed_ahead import EmbedAhead


class Recorder:
    """A fake embedder: frame -> [mean pixel, first pixel]; records batch sizes and threads."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.sizes: list[int] = []
        self.threads: list[str] = []
        self.fail_on = fail_on

    def __call__(self, frames: np.ndarray) -> torch.Tensor:
        self.sizes.append(len(frames))
        self.threads.append(threading.current_thread().name)
        if self.fail_on is not None and len(self.sizes) == self.fail_on:
            raise RuntimeError("model failed")
        flat = torch.from_numpy(frames.reshape(len(frames), -1).astype(np.float32))
        return torch.stack([flat.mean(1), flat[:, 0]], 1)


def _frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (4, 5, 3), dtype=np.uint8) for _ in range(n)]


def test_chunks_go_to_the_worker_and_collect_keeps_order():
    embed = Recorder()
    ahead = EmbedAhead(embed, chunk=4)
    frames: list[np.ndarray] = []
    for frame in _frames(11):
        frames.append(frame)
        ahead.offer(frames)
    assert ahead.submitted == 8  # two full chunks, three frames left
    out = ahead.collect(frames)
    np.testing.assert_allclose(out, Recorder()(np.stack(frames)), rtol=0, atol=0)
    assert embed.sizes == [4, 4, 3]
    assert all(name.startswith("vlm-embed") for name in embed.threads[:2])
    assert embed.threads[2] == threading.current_thread().name  # the tail, embedded here
    assert ahead.submitted == 0
    ahead.close()


def test_next_batch_starts_fresh_and_empty_collect():
    embed = Recorder()
    ahead = EmbedAhead(embed, chunk=2)
    first = _frames(4)
    ahead.offer(first)
    ahead.collect(first)
    second = _frames(3)
    ahead.offer(second)
    np.testing.assert_allclose(ahead.collect(second), Recorder()(np.stack(second)))
    assert ahead.collect([]).numel() == 0
    ahead.close()


def test_worker_error_is_raised_at_collect_and_the_next_batch_works():
    embed = Recorder(fail_on=1)
    ahead = EmbedAhead(embed, chunk=2)
    frames = _frames(2)
    ahead.offer(frames)
    with pytest.raises(RuntimeError, match="model failed"):
        ahead.collect(frames)
    ahead.offer(frames)
    np.testing.assert_allclose(ahead.collect(frames), Recorder()(np.stack(frames)))
    ahead.close()


def test_discard_forgets_the_batch():
    ahead = EmbedAhead(Recorder(), chunk=2)
    frames = _frames(5)
    ahead.offer(frames)
    ahead.discard()
    assert ahead.submitted == 0
    fresh = _frames(1)
    np.testing.assert_allclose(ahead.collect(fresh), Recorder()(np.stack(fresh)))
    ahead.close()


def test_collect_refuses_fewer_frames_than_submitted():
    ahead = EmbedAhead(Recorder(), chunk=2)
    frames = _frames(4)
    ahead.offer(frames)
    with pytest.raises(ValueError, match="already submitted"):
        ahead.collect(frames[:1])
    ahead.close()


def test_chunk_must_be_positive():
    with pytest.raises(ValueError, match="chunk"):
        EmbedAhead(Recorder(), chunk=0)
