"""The actor class used in-process (it is plain Python until RayEmbedder wraps it)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny_models import TINY_VIT_CFG
from vlm_reward.distributed.worker import EmbedWorker
from vlm_reward.errors import ModelNotFoundError

pytest.importorskip("ray")


@pytest.fixture(scope="module")
def tiny_arch(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny architecture registered with open_clip, so ``NAME/random`` specs resolve."""
    import open_clip

    path = tmp_path_factory.mktemp("arch") / "vlmr-tiny-worker-test.json"
    path.write_text(json.dumps(TINY_VIT_CFG))
    open_clip.add_model_config(path)
    return path.stem


def test_random_replicas_share_weights(tiny_arch: str) -> None:
    frames = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    a = EmbedWorker(f"{tiny_arch}/random", "cpu", "fp32", 8, 1)
    torch.manual_seed(123)  # whatever the RNG state, the next replica gets the same weights
    b = EmbedWorker(f"{tiny_arch}/random", "cpu", "fp32", 8, 1)
    emb_a, token_a = a.encode_images(frames)
    emb_b, token_b = b.encode_images(frames)
    np.testing.assert_array_equal(emb_a, emb_b)
    assert token_a != token_b  # each incarnation is told apart
    assert emb_a.dtype == np.float32 and emb_a.shape == (3, 32)
    assert a.info()["is_random"] and a.info()["calls"] == 1


def test_read_only_frames_are_used_without_copy_or_warning(tiny_arch: str) -> None:
    worker = EmbedWorker(f"{tiny_arch}/random", "cpu", "fp32", 8, 1)
    frames = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    frames.flags.writeable = False  # what Ray's shared-memory object store hands an actor
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emb, _ = worker.encode_images(frames)
    assert emb.shape == (2, 32)


def test_load_errors_are_kept_for_info() -> None:
    worker = EmbedWorker("no-such-arch/random", "cpu", "fp32", 8, 1)
    with pytest.raises(ModelNotFoundError, match="no-such-arch"):
        worker.info()


def test_tiny_folder_loads_like_in_process(tiny_clip_dir: Path, tiny_embedder) -> None:
    worker = EmbedWorker(str(tiny_clip_dir), "cpu", "fp32", 8, 1)
    frames = np.random.default_rng(1).integers(0, 256, (5, 40, 48, 3), dtype=np.uint8)
    np.testing.assert_allclose(worker.encode_images(frames)[0],
                               tiny_embedder.encode_images(frames).numpy(), atol=1e-6)
    np.testing.assert_allclose(worker.encode_text(["a cart"]),
                               tiny_embedder.encode_text(["a cart"]).numpy(), atol=1e-6)
