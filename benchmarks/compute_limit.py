"""Compute limit: image-tower FLOPs per frame vs the FLOP/s this machine's matmul delivers.

Counts the FLOPs of one forward pass of each image tower with ``torch.utils.flop_counter``
(a multiply-add counts as 2 FLOPs), measures the best matmul throughput of torch on all cores
in fp32 and bf16, and divides: the result is the frames/s the machine could reach if the
whole tower ran at matmul speed. The ceiling that counts is the one of the precision actually
used, the one ``precision: auto`` picks (:func:`vlm_reward.device.resolve_precision`): bf16
where the hardware computes it natively, fp32 otherwise. Every throughput benchmark measures
this ceiling again inside its own timing rounds and prints its frames/s as a percentage of it.

Example:
    python -m benchmarks.compute_limit --models ViT-B-32,ViT-L-14
"""

from __future__ import annotations

import argparse
import functools
import time
import warnings
from typing import Any

from benchmarks._common import emit, system_info

__all__ = ["image_tower_gflops", "main", "matmul_gflops", "run"]


@functools.cache
def image_tower_gflops(arch: str) -> float:
    """GFLOPs of one 224x224 frame through ``arch``'s image tower (random weights)."""
    import open_clip
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = open_clip.create_model(arch).eval()
    size = model.visual.image_size
    size = (size, size) if isinstance(size, int) else tuple(size)
    counter = FlopCounterMode(display=False)
    # With grad enabled, nn.MultiheadAttention takes its plain (countable) path instead of the
    # fused inference kernel, which the counter cannot see into.
    with counter:
        model.encode_image(torch.zeros(1, 3, *size))
    return counter.get_total_flops() / 1e9


def matmul_gflops(n: int = 2048, dtype: str = "float32", repeats: int = 5,
                  threads: int | None = None) -> float:
    """Best-of-``repeats`` GFLOP/s of an ``n x n`` matmul (best, since peak is the question)."""
    import torch

    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        dt = getattr(torch, dtype)
        a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
        a @ b  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
        return 2 * n**3 / best / 1e9
    finally:
        torch.set_num_threads(old)


def run(models: list[str], n: int = 2048, device: str = "cpu") -> dict[str, Any]:
    """FLOPs per frame, matmul peaks and the frames/s ceilings, for the precision used."""
    import torch

    from vlm_reward.device import resolve_device, resolve_precision

    dev = resolve_device(device)
    used = resolve_precision("auto", dev)
    fp32 = matmul_gflops(n, "float32")
    bf16 = matmul_gflops(n, "bfloat16", repeats=3)
    rates = {torch.float32: fp32, torch.bfloat16: bf16}
    result: dict[str, Any] = {
        "benchmark": "compute_limit",
        "system": system_info(),
        "precision_used": str(used).removeprefix("torch."),
        "matmul_gflops": {
            "fp32_all_threads": fp32,
            "fp32_one_thread": matmul_gflops(n, "float32", threads=1),
            "bf16_all_threads": bf16,
            "used": rates.get(used, fp32),
            "threads": torch.get_num_threads(),
            "size": n,
        },
        "models": {},
    }
    for arch in models:
        gflops = image_tower_gflops(arch)
        result["models"][arch] = {
            "image_tower_gflops_per_frame": gflops,
            "fp32_ceiling_frames_per_s": fp32 / gflops,
            "bf16_ceiling_frames_per_s": bf16 / gflops,
            "ceiling_frames_per_s": rates.get(used, fp32) / gflops,
        }
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32,ViT-B-16,ViT-L-14")
    parser.add_argument("--size", type=int, default=2048, help="matmul side length")
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    result = run([m for m in args.models.split(",") if m], args.size)
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
