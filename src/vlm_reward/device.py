"""Device and precision selection, shared by every backend.

``auto`` precision picks bf16 only where it is fast: on CUDA devices that support it, and on
CPUs with native bf16 matrix units (AMX or AVX512-BF16). On other CPUs bf16 is emulated and
slower than fp32, so ``auto`` stays at fp32 there.
"""

from __future__ import annotations

from typing import Literal

import torch

from vlm_reward.errors import ConfigError

__all__ = ["PRECISIONS", "Precision", "cpu_has_fast_bf16", "default_batch_size", "resolve_device",
           "resolve_precision"]

Precision = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_fast_bf16() -> bool:
    """True when the CPU runs bf16 matmuls natively (AMX tiles or AVX512-BF16)."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, p, lambda: False)()) for p in probes)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` into a usable :class:`torch.device`."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(
            f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}"
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device: {device!r} requested but CUDA is not available on this machine; "
                "use --device cpu or --device auto"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device: {device!r} requested but only {torch.cuda.device_count()} CUDA "
                "device(s) exist"
            )
    elif dev.type not in ("cpu", "mps"):
        raise ConfigError(f"device: unsupported device type {dev.type!r}; use 'cpu' or 'cuda'")
    return dev


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """Map a precision name to a dtype, choosing the fastest safe one for ``auto``."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        if precision == "fp16" and device.type == "cpu":
            raise ConfigError(
                "precision: fp16 is not supported on CPU (slow and inaccurate); "
                "use bf16 or fp32 on CPU"
            )
        return _DTYPES[precision]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_fast_bf16():
        return torch.bfloat16
    return torch.float32


# Frames per image-tower forward pass when the user sets none (see default_batch_size).
GPU_BATCH_SIZE = 256
#: residual-stream elements of one frame in ViT-B-32 (50 tokens x width 768): the size
#: assumed for towers that do not report theirs
VIT_B_32_FRAME_ELEMENTS = 50 * 768
#: activation bytes per intra-op thread at the start of the CPU plateau of the share of the
#: ceiling (32 bf16 ViT-B-32 frames per thread, measured by ``benchmarks.scale_curve``)
CPU_ACTIVATION_BYTES_PER_THREAD = 32 * VIT_B_32_FRAME_ELEMENTS * 2
CPU_BATCH_RANGE = (4, 256)


def default_batch_size(device: torch.device, dtype: torch.dtype | None = None,
                       frame_elements: int | None = None) -> int:
    """Frames per forward pass when the user sets none: the one place this is decided.

    GPUs need large batches to fill their cores: 256. On CPU the image tower's share of the
    matmul ceiling grows with the batch, levels off, and falls once one thread's activations
    outgrow its share of the cache. Measured with ``benchmarks.scale_curve`` on 2 threads
    (bf16), the plateau starts at the same activation bytes per thread for every model:
    ViT-B-32 (50 tokens x 768) is level from 16 to 64 frames per thread, ViT-B-16 (197 x 768)
    best at 8-16, ViT-L-14 (257 x 1024) at 4, and each falls at 4x those. So the batch holds
    ``CPU_ACTIVATION_BYTES_PER_THREAD`` of residual stream per thread (32 ViT-B-32 frames in
    bf16, 16 in fp32), clamped to 4-256.

    Args:
        device: where the tower runs.
        dtype: its compute dtype (``None``: fp32).
        frame_elements: residual-stream elements per frame (tokens x width, see
            :attr:`vlm_reward.models.base.Embedder.frame_elements`); ``None``: ViT-B-32's.
    """
    if device.type != "cpu":
        return GPU_BATCH_SIZE
    itemsize = torch.empty((), dtype=dtype or torch.float32).element_size()
    frame_bytes = (frame_elements or VIT_B_32_FRAME_ELEMENTS) * itemsize
    per_thread = max(1, CPU_ACTIVATION_BYTES_PER_THREAD // frame_bytes)
    low, high = CPU_BATCH_RANGE
    return max(low, min(high, per_thread * torch.get_num_threads()))
