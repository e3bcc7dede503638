"""open_clip loading through the public loader: every spec form, and every failure mode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny_models import TINY_VIT_CFG, register_tiny_arch, save_tiny_open_clip
from vlm_reward import load_model
from vlm_reward.errors import CheckpointError, PromptError
from vlm_reward.models.base import Embedder


@pytest.fixture(scope="module")
def tiny_arch(tmp_path_factory: pytest.TempPathFactory) -> str:
    return register_tiny_arch(tmp_path_factory.mktemp("arch"))


def _frames(n: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 60, 90, 3), dtype=np.uint8)


def _same(a: Embedder, b: Embedder) -> bool:
    frames = _frames()
    return bool(
        torch.allclose(a.encode_images(frames), b.encode_images(frames), atol=1e-5)
        and torch.allclose(a.encode_text(["a cart"]), b.encode_text(["a cart"]), atol=1e-5)
    )


def test_folder_spec_forms_agree(tiny_clip_dir: Path, tiny_embedder: Embedder) -> None:
    via_prefix = load_model(f"local-dir:{tiny_clip_dir}", device="cpu", precision="fp32")
    assert _same(via_prefix, tiny_embedder)
    assert tiny_embedder.embed_dim == TINY_VIT_CFG["embed_dim"]
    assert not tiny_embedder.is_random


def test_outputs_are_unit_norm_cpu_float32(tiny_embedder: Embedder) -> None:
    img = tiny_embedder.encode_images(_frames(5))
    txt = tiny_embedder.encode_text(["a", "b"])
    for emb in (img, txt):
        assert emb.dtype == torch.float32 and emb.device.type == "cpu"
        assert torch.allclose(emb.norm(dim=-1), torch.ones(len(emb)), atol=1e-5)


def test_arch_with_safetensors_and_pt(tiny_arch: str, tiny_clip_dir: Path, tmp_path: Path,
                                      tiny_embedder: Embedder) -> None:
    st = tiny_clip_dir / "open_clip_model.safetensors"
    from safetensors.torch import load_file

    pt = tmp_path / "model.pt"
    torch.save(load_file(str(st)), pt)
    assert _same(load_model(f"{tiny_arch}:{st}", device="cpu", precision="fp32"), tiny_embedder)
    assert _same(load_model(f"{tiny_arch}:{pt}", device="cpu", precision="fp32"), tiny_embedder)


def test_random_spec_warns_and_flags(tiny_arch: str) -> None:
    with pytest.warns(UserWarning, match="RANDOM weights"):
        emb = load_model(f"{tiny_arch}/random", device="cpu", precision="fp32")
    assert emb.is_random


def test_truncated_checkpoint_is_checkpoint_error(tiny_arch: str, tiny_clip_dir: Path,
                                                  tmp_path: Path) -> None:
    data = (tiny_clip_dir / "open_clip_model.safetensors").read_bytes()
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cannot load checkpoint .*cut.safetensors"):
        load_model(f"{tiny_arch}:{bad}", device="cpu")


def test_garbage_pt_is_checkpoint_error(tiny_arch: str, tmp_path: Path) -> None:
    bad = tmp_path / "junk.pt"
    bad.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk\.pt"):
        load_model(f"{tiny_arch}:{bad}", device="cpu")


def test_wrong_architecture_is_checkpoint_error(tiny_clip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mismatch"
    shutil.copytree(tiny_clip_dir, folder)
    cfg = json.loads((folder / "open_clip_config.json").read_text())
    cfg["model_cfg"]["vision_cfg"]["width"] = 128  # weights were saved with width 64
    (folder / "open_clip_config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"match the architecture\?"):
        load_model(str(folder), device="cpu")


def test_folder_without_weights_never_random(tiny_clip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "noweights"
    folder.mkdir()
    shutil.copy(tiny_clip_dir / "open_clip_config.json", folder)
    with pytest.raises(CheckpointError, match="no weights in"):
        load_model(str(folder), device="cpu")


def test_folder_with_broken_config(tmp_path: Path) -> None:
    folder = save_tiny_open_clip(tmp_path / "broken")
    (folder / "open_clip_config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(str(folder), device="cpu")


def test_empty_prompt_list(tiny_embedder: Embedder) -> None:
    with pytest.raises(PromptError, match="empty list"):
        tiny_embedder.encode_text([])
    with pytest.raises(PromptError, match="non-empty string"):
        tiny_embedder.encode_text(["   "])


def test_long_prompt_warns_truncated(tiny_embedder: Embedder) -> None:
    prompt = "a pole balanced upright on a cart " * 20
    with pytest.warns(UserWarning, match=r"tokens long .* it was truncated") as rec:
        emb = tiny_embedder.encode_text([prompt])
    assert prompt[:30] in str(rec[0].message)
    assert emb.shape == (1, tiny_embedder.embed_dim)


def test_short_prompt_does_not_warn(tiny_embedder: Embedder,
                                    recwarn: pytest.WarningsRecorder) -> None:
    tiny_embedder.encode_text(["a short prompt that fits"])
    assert not [w for w in recwarn if "truncated" in str(w.message)]


def test_bf16_runs_and_stays_close(tiny_clip_dir: Path, tiny_embedder: Embedder) -> None:
    bf16 = load_model(str(tiny_clip_dir), device="cpu", precision="bf16")
    assert bf16.dtype == torch.bfloat16
    frames = _frames(4)
    cos = (bf16.encode_images(frames) * tiny_embedder.encode_images(frames)).sum(-1)
    assert cos.min() > 0.99


def test_batching_matches_single_pass(tiny_clip_dir: Path, tiny_embedder: Embedder) -> None:
    small = load_model(str(tiny_clip_dir), device="cpu", precision="fp32", batch_size=2)
    frames = _frames(5)
    before = small.image_calls
    out = small.encode_images(frames)
    assert small.image_calls - before == 3
    assert torch.allclose(out, tiny_embedder.encode_images(frames), atol=1e-5)
