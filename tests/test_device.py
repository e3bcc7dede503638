"""Device and precision resolution: choices, probes (monkeypatched) and clear errors."""

from __future__ import annotations

import pytest
import torch

import vlm_reward.device as device_mod
from vlm_reward.device import (
    cpu_has_fast_bf16,
    default_batch_size,
    resolve_device,
    resolve_precision,
)
from vlm_reward.errors import ConfigError

CPU = torch.device("cpu")


def test_cpu_and_auto_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto") == CPU
    assert resolve_device(torch.device("cpu")) == CPU


def test_auto_prefers_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def test_cuda_missing_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"CUDA is not available.*--device cpu"):
        resolve_device("cuda")


def test_cuda_index_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ConfigError, match="only 2 CUDA"):
        resolve_device("cuda:3")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "tpu"])
def test_bad_device_names(bad: str) -> None:
    with pytest.raises(ConfigError, match="device"):
        resolve_device(bad)


def test_explicit_precisions() -> None:
    assert resolve_precision("fp32", CPU) == torch.float32
    assert resolve_precision("bf16", CPU) == torch.bfloat16
    assert resolve_precision("fp16", torch.device("cuda")) == torch.float16


def test_fp16_on_cpu_rejected() -> None:
    with pytest.raises(ConfigError, match="fp16 is not supported on CPU"):
        resolve_precision("fp16", CPU)


def test_unknown_precision() -> None:
    with pytest.raises(ConfigError, match="expected one of auto, fp32, bf16, fp16"):
        resolve_precision("int8", CPU)


@pytest.mark.parametrize(("amx", "avx512bf16", "expected"), [
    (False, False, torch.float32),  # this machine: emulated bf16 is ~3x slower, stay fp32
    (True, False, torch.bfloat16),
    (False, True, torch.bfloat16),
])
def test_auto_on_cpu_follows_probes(monkeypatch: pytest.MonkeyPatch, amx: bool,
                                    avx512bf16: bool, expected: torch.dtype) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512bf16,
                        raising=False)
    assert cpu_has_fast_bf16() is (amx or avx512bf16)
    assert resolve_precision("auto", CPU) == expected


def test_missing_probes_mean_no_fast_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """Older torch builds lack the probes: auto must fall back to fp32, not crash."""
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    assert cpu_has_fast_bf16() is False
    assert resolve_precision("auto", CPU) == torch.float32


@pytest.mark.parametrize(("bf16_ok", "expected"), [(True, torch.bfloat16),
                                                   (False, torch.float16)])
def test_auto_on_cuda(monkeypatch: pytest.MonkeyPatch, bf16_ok: bool,
                      expected: torch.dtype) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16_ok)
    assert resolve_precision("auto", torch.device("cuda")) == expected


def test_all_names_exported() -> None:
    for name in device_mod.__all__:
        assert hasattr(device_mod, name)


@pytest.mark.parametrize(("threads", "dtype", "elements", "expected"), [
    # ViT-B-32 (50 tokens x 768; also the size assumed when a tower reports none)
    (1, torch.bfloat16, None, 32), (2, torch.bfloat16, 50 * 768, 64),
    (3, torch.bfloat16, None, 96), (16, torch.bfloat16, None, 256),
    (1, torch.float32, None, 16), (2, torch.float32, None, 32), (2, None, None, 32),
    # ViT-B-16 (197 x 768) and ViT-L-14 (257 x 1024): fewer frames for more tokens
    (2, torch.bfloat16, 197 * 768, 16), (2, torch.bfloat16, 257 * 1024, 8),
    (2, torch.float32, 257 * 1024, 4), (1, torch.float32, 257 * 1664, 4),
])
def test_default_batch_size_keeps_activation_bytes_per_thread(threads, dtype, elements,
                                                              expected) -> None:
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        assert default_batch_size(torch.device("cpu"), dtype, elements) == expected
    finally:
        torch.set_num_threads(old)


def test_default_batch_size_on_gpu_is_large() -> None:
    assert default_batch_size(torch.device("cuda")) == 256


def test_load_model_without_batch_size_uses_the_default(tiny_clip_dir) -> None:
    from vlm_reward import load_model

    emb = load_model(str(tiny_clip_dir), device="cpu", precision="fp32")
    pos = emb.model.visual.positional_embedding  # the tiny ViT's tokens x width
    assert emb.frame_elements == pos.shape[0] * pos.shape[1]
    assert emb.batch_size == default_batch_size(torch.device("cpu"), torch.float32,
                                                emb.frame_elements)
    bf16 = load_model(str(tiny_clip_dir), device="cpu", precision="bf16")
    assert bf16.batch_size == default_batch_size(torch.device("cpu"), torch.bfloat16,
                                                 bf16.frame_elements)
    assert load_model(str(tiny_clip_dir), device="cpu", batch_size=3).batch_size == 3


def test_hf_tower_reports_patches_times_width(tmp_path) -> None:
    from tiny_models import save_tiny_hf_clip
    from vlm_reward import load_model

    emb = load_model(f"hf:{save_tiny_hf_clip(tmp_path / 'hf')}", device="cpu", precision="fp32")
    vc = emb.model.config.vision_config
    assert emb.frame_elements == (vc.image_size // vc.patch_size) ** 2 * vc.hidden_size
    assert emb.batch_size == default_batch_size(torch.device("cpu"), torch.float32,
                                                emb.frame_elements)


def test_default_batch_follows_the_fast_path_thread_switch(tiny_clip_dir, monkeypatch) -> None:
    from vlm_reward import load_model
    from vlm_reward.models.open_clip_backend import OpenCLIPEmbedder

    # a ViT-B-32-sized tower (the tiny one is so small that every thread count gives 256)
    monkeypatch.setattr(OpenCLIPEmbedder, "frame_elements", property(lambda self: 50 * 768))
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert load_model(str(tiny_clip_dir), device="cpu", precision="fp32").batch_size == 32
        emb = load_model(str(tiny_clip_dir), device="cpu", precision="fp32",
                         fast_path={"num_threads": 1})
        assert torch.get_num_threads() == 1
        assert emb.batch_size == 16  # fp32 ViT-B-32 on the one thread the switch asked for
    finally:
        torch.set_num_threads(old)
