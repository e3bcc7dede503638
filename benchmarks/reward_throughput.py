"""Reward throughput: uint8 CartPole frames (400x600) -> rewards, ours vs naive, same run.

For each architecture it measures, in interleaved rounds so machine noise hits every
configuration alike (the figure is the median over rounds):

* ``naive``: per-frame PIL resize/crop + ToTensor + Normalize, fp32, one frame per model call;
* ``ours`` at each batch size: :class:`~vlm_reward.reward.RewardModel` with the default
  fast path (batched uint8 preprocessing and the switches that are on by default);
* fast-path variants at one batch size: ``off`` (every switch off, plain fp32 eager),
  ``default``, ``int8``, ``bf16`` (precision, emulated on CPUs without native bf16), ``onnx``
  (if ONNX Runtime is installed) and ``compile`` (only when asked: compilation takes minutes).

Random weights (``ARCH/random``) are used: speed does not depend on the weights' values.

Example:
    python -m benchmarks.reward_throughput --models ViT-B-32 --batch-sizes 1,8,32 --rounds 2
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
from typing import Any

from benchmarks._common import (
    NaiveReward,
    build_reward_model,
    emit,
    median,
    parse_int_list,
    synthetic_frames,
    system_info,
    time_call,
)

__all__ = ["VARIANTS", "main", "run"]

# name -> (precision, fast-path switches); "default" is FastPath() as the loader applies it.
VARIANTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "off": ("fp32", {"uint8_resize": False, "channels_last": False}),
    "default": ("fp32", None),
    "int8": ("fp32", {"int8": True}),
    "bf16": ("bf16", None),
    "onnx": ("fp32", {"onnx": True}),
    "compile": ("fp32", {"compile": True}),
}
DEFAULT_VARIANTS = ("off", "default", "int8", "bf16", "onnx")


def _progress(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]reward_throughput:[/dim] {msg}")


def run(
    models: list[str],
    batch_sizes: list[int],
    *,
    frames: int = 32,
    naive_frames: int = 16,
    variants: list[str] | None = None,
    variant_batch: int = 32,
    rounds: int = 3,
) -> dict[str, Any]:
    """Measure every configuration and return the JSON-ready result."""
    variants = list(DEFAULT_VARIANTS if variants is None else variants)
    if "onnx" in variants and importlib.util.find_spec("onnxruntime") is None:
        _progress("onnxruntime not installed: skipping the onnx variant")
        variants.remove("onnx")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variant(s) {sorted(unknown)}; choose from {sorted(VARIANTS)}")
    result: dict[str, Any] = {
        "benchmark": "reward_throughput",
        "system": system_info(),
        "settings": {"frame_shape": [400, 600, 3], "frames_per_batch_size": frames,
                     "naive_frames": naive_frames, "variant_batch": variant_batch,
                     "rounds": rounds, "statistic": "median over rounds"},
        "models": {},
    }
    for arch in models:
        result["models"][arch] = _measure_model(
            arch, batch_sizes, frames=frames, naive_frames=naive_frames, variants=variants,
            variant_batch=variant_batch, rounds=rounds,
        )
        gc.collect()
    return result


def _measure_model(
    arch: str,
    batch_sizes: list[int],
    *,
    frames: int,
    naive_frames: int,
    variants: list[str],
    variant_batch: int,
    rounds: int,
) -> dict[str, Any]:
    """Every configuration of one architecture, timed in interleaved rounds."""
    spec = f"{arch}/random"
    _progress(f"{arch}: loading naive baseline and {len(variants)} variants")
    naive = NaiveReward(spec)
    rms = {}
    for name in variants:
        precision, switches = VARIANTS[name]
        rms[name] = build_reward_model(spec, precision=precision, fast_path=switches)
    default = rms.get("default") or build_reward_model(spec)
    pool = synthetic_frames(max([frames, naive_frames, variant_batch, *batch_sizes]))

    def n_for(bs: int) -> int:
        return max(bs, frames // bs * bs)

    # warm-up: first calls allocate, pick kernels and (for compile) compile each shape
    naive.rewards(pool[:1])
    for bs in batch_sizes:
        default.embedder.batch_size = bs
        default.rewards(pool[: min(bs, n_for(bs))])
    for name, rm in rms.items():
        rm.embedder.batch_size = variant_batch
        _progress(f"{arch}: warming up {name}")
        rm.rewards(pool[:variant_batch])

    times: dict[str, list[float]] = {}
    for r in range(rounds):
        _progress(f"{arch}: round {r + 1}/{rounds}")
        times.setdefault("naive", []).append(
            time_call(lambda: naive.rewards(pool[:naive_frames])) / naive_frames
        )
        for bs in batch_sizes:
            default.embedder.batch_size = bs
            n = n_for(bs)
            times.setdefault(f"ours/bs{bs}", []).append(
                time_call(lambda n=n: default.rewards(pool[:n])) / n
            )
        for name, rm in rms.items():
            rm.embedder.batch_size = variant_batch
            times.setdefault(f"variant/{name}", []).append(
                time_call(lambda rm=rm: rm.rewards(pool[:variant_batch])) / variant_batch
            )
    fps = {k: 1.0 / median(v) for k, v in times.items()}
    naive_fps = fps["naive"]
    entry: dict[str, Any] = {
        "naive_frames_per_s": naive_fps,
        "batch_sweep": [
            {"batch_size": bs, "frames_per_s": fps[f"ours/bs{bs}"],
             "x_naive": fps[f"ours/bs{bs}"] / naive_fps}
            for bs in batch_sizes
        ],
        "variants": {
            name: {"frames_per_s": fps[f"variant/{name}"],
                   "x_naive": fps[f"variant/{name}"] / naive_fps,
                   "x_off": (fps[f"variant/{name}"] / fps["variant/off"]
                             if "variant/off" in fps else None),
                   "applied": list(rm.embedder.fast_path_applied),
                   "dtype": str(rm.embedder.dtype).removeprefix("torch."),
                   "batch_size": variant_batch}
            for name, rm in rms.items()
        },
        "raw_seconds_per_frame": times,
    }
    best = max(entry["batch_sweep"], key=lambda e: e["frames_per_s"])
    entry["best_default"] = best
    return entry


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32,RN50", help="open_clip architectures")
    parser.add_argument("--batch-sizes", default="1,8,32,128", help="batch sizes of ours")
    parser.add_argument("--frames", type=int, default=32,
                        help="frames per measurement of ours (at least one batch)")
    parser.add_argument("--naive-frames", type=int, default=16,
                        help="frames per measurement of the naive baseline")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        help=f"fast-path variants, from {','.join(VARIANTS)}")
    parser.add_argument("--variant-batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    result = run(
        [m for m in args.models.split(",") if m], parse_int_list(args.batch_sizes),
        frames=args.frames, naive_frames=args.naive_frames,
        variants=[v for v in args.variants.split(",") if v],
        variant_batch=args.variant_batch, rounds=args.rounds,
    )
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
