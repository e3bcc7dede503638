"""Fast-path switches: each agrees numerically with plain fp32, and each can be turned off."""

from __future__ import annotations

import builtins
import dataclasses
import json
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from safetensors.torch import save_file

from vlm_reward import load_model
from vlm_reward.errors import ConfigError, DependencyNotInstalled
from vlm_reward.models.acceleration import (
    FastPath,
    apply_fast_path,
    set_num_threads,
)

TINY_RN_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """Smooth frames (like rendered ones) at a size that needs resizing and cropping."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, size=(6, 10, 15, 3), dtype=np.uint8)
    return np.repeat(np.repeat(small, 6, axis=1), 6, axis=2)  # (6, 60, 90, 3)


@pytest.fixture(scope="module")
def tiny_resnet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random open_clip ResNet (ModifiedResNet) saved as a local-dir folder."""
    folder = tmp_path_factory.mktemp("tiny_rn")
    torch.manual_seed(0)
    model = open_clip.CLIP(**TINY_RN_CFG)
    cfg = {"model_cfg": TINY_RN_CFG, "preprocess_cfg": {
        "mean": list(open_clip.OPENAI_DATASET_MEAN), "std": list(open_clip.OPENAI_DATASET_STD),
        "interpolation": "bicubic", "resize_mode": "shortest"}}
    (folder / "open_clip_config.json").write_text(json.dumps(cfg))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "open_clip_model.safetensors"))
    return folder


def _load(folder: Path, precision: str = "fp32"):
    emb = load_model(str(folder), device="cpu", precision=precision, batch_size=4)
    return emb


def _reference(folder: Path, frames: np.ndarray) -> torch.Tensor:
    """Plain fp32 eager embeddings with every switch off."""
    return apply_fast_path(_load(folder), FastPath.off()).encode_images(frames)


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1)


# --- configuration ------------------------------------------------------------------------

def test_from_value_defaults_mapping_and_self() -> None:
    assert FastPath.from_value(None) == FastPath()
    fp = FastPath.from_value({"int8": True, "num_threads": 2})
    assert fp.int8 and fp.num_threads == 2 and fp.uint8_resize
    assert FastPath.from_value(fp) is fp
    assert FastPath.off().enabled() == ()
    assert set(FastPath().enabled()) == {"uint8_resize", "channels_last", "reuse_memory",
                                         "quick_gelu_as_silu"}


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"int9": True}, "unknown switch.*int9.*valid switches"),
        ({"int8": "yes"}, r"fast_path.int8: expected true or false"),
        ({"num_threads": 0}, "num_threads: expected a positive integer"),
        ({"num_threads": True}, "num_threads: expected a positive integer"),
        (["int8"], "expected a mapping"),
    ],
)
def test_from_value_rejects_bad_input(value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FastPath.from_value(value)  # type: ignore[arg-type]


def test_set_num_threads_applies_and_validates() -> None:
    old = torch.get_num_threads()
    try:
        set_num_threads(1)
        assert torch.get_num_threads() == 1
        set_num_threads(None)
        assert torch.get_num_threads() == 1
        with pytest.raises(ConfigError):
            set_num_threads(-1)
    finally:
        torch.set_num_threads(old)


# --- switches off --------------------------------------------------------------------------

def test_off_leaves_model_and_preprocess_untouched(tiny_clip_dir: Path) -> None:
    emb = _load(tiny_clip_dir)
    visual = emb.model.visual
    apply_fast_path(emb, FastPath.off())
    assert emb.fast_path_applied == ()
    assert emb.model.visual is visual
    assert emb.preprocess.uint8_resize is False


def test_default_on_a_gelu_vit_skips_channels_last_and_silu(tiny_clip_dir: Path) -> None:
    emb = apply_fast_path(_load(tiny_clip_dir), None)
    # channels_last is for convolutional towers; a ViT's only conv is its patch embedding;
    # the tiny ViT uses exact GELU, so there is no QuickGELU to rewrite
    assert set(emb.fast_path_applied) == {"uint8_resize", "reuse_memory"}
    assert emb.preprocess.uint8_resize is True


def test_uint8_resize_can_be_turned_back_off(tiny_clip_dir: Path) -> None:
    emb = apply_fast_path(_load(tiny_clip_dir), {"uint8_resize": True})
    apply_fast_path(emb, {"uint8_resize": False})
    assert emb.preprocess.uint8_resize is False


# --- numerical agreement with fp32 --------------------------------------------------------

def test_uint8_resize_matches_pil(frames: np.ndarray) -> None:
    from PIL import Image

    from vlm_reward.preprocess import ImagePreprocess

    pp = ImagePreprocess(size=(32, 32), mean=(0.0, 0.0, 0.0), std=(1 / 255,) * 3)
    ref = np.stack([
        np.asarray(Image.fromarray(f).resize((48, 32), Image.BICUBIC))[:, 8:40] for f in frames
    ]).transpose(0, 3, 1, 2)
    ref_t = torch.from_numpy(ref).float()
    fast = pp(torch.from_numpy(frames))
    slow = dataclasses.replace(pp, uint8_resize=False)(torch.from_numpy(frames))
    assert (fast - ref_t).abs().max() <= 1.0 + 1e-3  # PIL-exact up to rounding
    assert (slow - ref_t).abs().max() <= 12.0  # the float path: same image, looser rounding


def test_uint8_resize_embeddings_agree_with_float_resize(
    tiny_clip_dir: Path, frames: np.ndarray
) -> None:
    ref = _reference(tiny_clip_dir, frames)
    fast = apply_fast_path(_load(tiny_clip_dir), {"uint8_resize": True}).encode_images(frames)
    assert _cos(ref, fast).min() > 0.99


def test_channels_last_on_a_resnet_is_applied_and_exact(
    tiny_resnet_dir: Path, frames: np.ndarray
) -> None:
    ref = _reference(tiny_resnet_dir, frames)
    emb = apply_fast_path(_load(tiny_resnet_dir), {"uint8_resize": False, "channels_last": True})
    assert "channels_last" in emb.fast_path_applied
    assert "uint8_resize" not in emb.fast_path_applied
    conv = emb.model.visual.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(emb.encode_images(frames), ref, atol=1e-4, rtol=1e-4)


def test_int8_agrees_with_fp32(tiny_clip_dir: Path, frames: np.ndarray) -> None:
    ref = _reference(tiny_clip_dir, frames)
    emb = apply_fast_path(_load(tiny_clip_dir), {"uint8_resize": False, "int8": True})
    assert "int8" in emb.fast_path_applied
    quantized = [m for m in emb.model.visual.modules() if "quantized" in type(m).__module__]
    assert quantized, "no layer was quantised"
    out = emb.encode_images(frames)
    assert _cos(ref, out).min() > 0.99
    assert not torch.equal(ref, out)  # it really ran a different (int8) path


def test_int8_skips_a_resnet_whose_linears_are_read_directly(tiny_resnet_dir: Path) -> None:
    emb = apply_fast_path(_load(tiny_resnet_dir), {"int8": True})
    assert "int8" not in emb.fast_path_applied


def test_onnx_agrees_with_fp32(tiny_clip_dir: Path, frames: np.ndarray) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    ref = _reference(tiny_clip_dir, frames)
    emb = apply_fast_path(_load(tiny_clip_dir), {"uint8_resize": False, "onnx": True})
    assert "onnx" in emb.fast_path_applied
    torch.testing.assert_close(emb.encode_images(frames), ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(emb.encode_images(frames[:3]), ref[:3], atol=1e-4, rtol=1e-4)


def test_bf16_precision_agrees_with_fp32(tiny_clip_dir: Path, frames: np.ndarray) -> None:
    ref = _reference(tiny_clip_dir, frames)
    emb = apply_fast_path(_load(tiny_clip_dir, "bf16"), FastPath.off())
    assert emb.dtype == torch.bfloat16
    assert _cos(ref, emb.encode_images(frames)).min() > 0.99


@pytest.mark.slow
def test_compile_agrees_with_fp32(tiny_clip_dir: Path, frames: np.ndarray) -> None:
    ref = _reference(tiny_clip_dir, frames)
    emb = apply_fast_path(_load(tiny_clip_dir), {"uint8_resize": False, "compile": True})
    assert "compile" in emb.fast_path_applied
    torch.testing.assert_close(emb.encode_images(frames), ref, atol=1e-4, rtol=1e-4)


# --- impossible combinations --------------------------------------------------------------

def test_int8_with_bf16_is_rejected(tiny_clip_dir: Path) -> None:
    with pytest.raises(ConfigError, match="fp32 only"):
        apply_fast_path(_load(tiny_clip_dir, "bf16"), {"int8": True})


def test_int8_with_onnx_is_rejected(tiny_clip_dir: Path) -> None:
    with pytest.raises(ConfigError, match="one of int8 and onnx"):
        apply_fast_path(_load(tiny_clip_dir), {"int8": True, "onnx": True})


def test_onnx_without_onnxruntime_names_the_install(
    tiny_clip_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(DependencyNotInstalled, match=r"vlm-reward\[onnx\]"):
        apply_fast_path(_load(tiny_clip_dir), {"onnx": True})


def test_model_switches_need_an_image_tower(tiny_embedder) -> None:
    class NoTower:
        device = torch.device("cpu")
        dtype = torch.float32

    with pytest.raises(ConfigError, match="need an open_clip image tower"):
        apply_fast_path(NoTower(), {"int8": True})  # type: ignore[arg-type]


# --- wiring through the loader ------------------------------------------------------------

def test_loader_applies_defaults_and_passes_switches(tiny_clip_dir: Path) -> None:
    default = load_model(str(tiny_clip_dir), device="cpu", precision="fp32")
    assert default.fast_path == FastPath()
    off = load_model(str(tiny_clip_dir), device="cpu", precision="fp32",
                     fast_path=FastPath.off())
    assert off.fast_path_applied == ()
    with pytest.raises(ConfigError, match="unknown switch"):
        load_model(str(tiny_clip_dir), device="cpu", fast_path={"turbo": True})


def test_reapplying_off_after_defaults_restores_the_plain_resnet(tiny_resnet_dir: Path) -> None:
    emb = _load(tiny_resnet_dir)  # the loader applied channels_last
    assert "channels_last" in emb.fast_path_applied
    apply_fast_path(emb, FastPath.off())
    assert emb.fast_path_applied == ()
    assert emb.model.visual.conv1.weight.is_contiguous()


# --- QuickGELU as SiLU and memory reuse ----------------------------------------------------

@pytest.fixture(scope="module")
def tiny_quick_gelu_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny open_clip ViT with QuickGELU (as OpenAI's CLIP towers have), saved as a folder."""
    from tiny_models import TINY_PREPROCESS_CFG, TINY_VIT_CFG

    folder = tmp_path_factory.mktemp("tiny_qg")
    model_cfg = {**TINY_VIT_CFG, "quick_gelu": True}
    torch.manual_seed(1)
    model = open_clip.CLIP(**model_cfg)
    with torch.no_grad():  # non-zero biases, so folding the scale into them is exercised
        for name, p in model.visual.named_parameters():
            if name.endswith("c_fc.bias"):
                p.normal_(0, 0.5)
    (folder / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": model_cfg, "preprocess_cfg": TINY_PREPROCESS_CFG}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "open_clip_model.safetensors"))
    return folder


def test_quick_gelu_as_silu_is_exact_and_drops_every_quick_gelu(
    tiny_quick_gelu_dir: Path, frames: np.ndarray
) -> None:
    ref_emb = load_model(str(tiny_quick_gelu_dir), device="cpu", precision="fp32",
                         fast_path=FastPath.off())
    ref = ref_emb.encode_images(frames)
    assert any(type(m).__name__ == "QuickGELU" for m in ref_emb.model.visual.modules())
    emb = apply_fast_path(
        load_model(str(tiny_quick_gelu_dir), device="cpu", precision="fp32",
                   fast_path=FastPath.off()),
        {"uint8_resize": False, "quick_gelu_as_silu": True},
    )
    assert "quick_gelu_as_silu" in emb.fast_path_applied
    assert not any(type(m).__name__ == "QuickGELU" for m in emb.model.visual.modules())
    torch.testing.assert_close(emb.encode_images(frames), ref, atol=1e-5, rtol=1e-5)
    # applying the defaults again must not fold the scale a second time
    apply_fast_path(emb, {"uint8_resize": False})
    torch.testing.assert_close(emb.encode_images(frames), ref, atol=1e-5, rtol=1e-5)


def test_quick_gelu_as_silu_is_skipped_for_exact_gelu(tiny_clip_dir: Path) -> None:
    emb = apply_fast_path(_load(tiny_clip_dir), {"quick_gelu_as_silu": True})
    assert "quick_gelu_as_silu" not in emb.fast_path_applied


_FAULTS_SCRIPT = """
import resource, sys, torch
from vlm_reward.models.acceleration import reuse_freed_memory

def faults(nbytes, times):
    for _ in range(2):  # warm the heap
        torch.empty(nbytes, dtype=torch.uint8).fill_(1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        torch.empty(nbytes, dtype=torch.uint8).fill_(1)  # touch every page, then free
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

nbytes, times = int(sys.argv[1]), int(sys.argv[2])
assert reuse_freed_memory(False)
off = faults(nbytes, times)
assert reuse_freed_memory(True)
print(off, faults(nbytes, times))
"""


def test_reuse_memory_stops_page_faults_on_reallocation() -> None:
    """In a fresh process: the allocator's settings are process-wide, and a heap grown earlier
    in the test session would hide the faults of the default settings."""
    import platform
    import subprocess
    import sys

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("the switch acts on glibc's allocator only")
    nbytes, times = 16 * 2**20, 6  # a ViT-B-32 MLP activation at batch 32 in bf16 is ~10 MiB
    pages = nbytes // 4096
    out = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT, str(nbytes), str(times)],
                         capture_output=True, text=True, check=True).stdout.split()
    off, on = int(out[0]), int(out[1])
    assert off > times * pages // 2  # glibc's defaults: every reallocation faults every page
    assert on <= pages  # reusing freed memory: at most one allocation's worth, not all
