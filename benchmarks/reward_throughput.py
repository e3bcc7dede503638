"""Reward throughput: uint8 CartPole frames (400x600) -> rewards, ours vs naive, same run.

For each architecture it measures, in interleaved rounds so machine noise hits every
configuration alike (each figure is the median over rounds):

* ``naive``: per-frame PIL resize/crop + ToTensor + Normalize, fp32, one frame per model call
  (with the same allocator setting as the defaults, so it is not charged for page faults);
* ``ours`` at each batch size: :class:`~vlm_reward.reward.RewardModel` exactly as
  ``load_model(spec)`` gives it (``precision: auto``, the default fast path); ``auto`` in the
  batch list is the batch size the loader picks for this machine;
* variants at the default batch size: ``off`` (fp32, every switch off), ``fp32`` (default
  switches in fp32), ``default``, and ablations that turn one default switch off
  (``no_reuse_memory``, ``no_silu``), plus opt-in ones (``int8``, ``onnx``, ``compile``);
* the compute ceiling: every round also times a 2048^3 matmul in the compute dtype, so
  "percent of ceiling" compares frames/s with the matmul speed of the same moments.

Random weights (``ARCH/random``) are used: speed does not depend on the weights' values.

Example:
    python -m benchmarks.reward_throughput --models ViT-B-32 --batch-sizes 8,auto,128 --rounds 2
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
from typing import Any

from benchmarks._common import (
    Ceiling,
    NaiveReward,
    build_reward_model,
    emit,
    median,
    synthetic_frames,
    system_info,
    time_call,
)

__all__ = ["DEFAULT_VARIANTS", "VARIANTS", "main", "run"]

_OFF = {"uint8_resize": False, "channels_last": False, "reuse_memory": False,
        "quick_gelu_as_silu": False}
# name -> (precision, fast-path switches); None = the loader's defaults.
VARIANTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "off": ("fp32", _OFF),
    "fp32": ("fp32", None),
    "default": ("auto", None),
    "no_reuse_memory": ("auto", {"reuse_memory": False}),
    "no_silu": ("auto", {"quick_gelu_as_silu": False}),
    "int8": ("fp32", {"int8": True}),
    "onnx": ("fp32", {"onnx": True}),
    "compile": ("auto", {"compile": True}),
}
DEFAULT_VARIANTS = ("off", "fp32", "default", "no_reuse_memory", "no_silu")


def _progress(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]reward_throughput:[/dim] {msg}")


def _reuses_memory(rm: Any) -> bool:
    fast_path = getattr(rm.embedder, "fast_path", None)
    return bool(fast_path and fast_path.reuse_memory)


def _use_allocator_of(rm: Any) -> None:
    """``reuse_memory`` is process-wide: set it to what this configuration asked for."""
    from vlm_reward.models.acceleration import reuse_freed_memory

    reuse_freed_memory(_reuses_memory(rm))


def parse_batch_sizes(text: str) -> list[int | None]:
    """``"8,auto,128"`` -> ``[8, None, 128]`` (``auto``: the loader's choice)."""
    return [None if x.strip() == "auto" else int(x) for x in text.split(",") if x.strip()]


def run(
    models: list[str],
    batch_sizes: list[int | None],
    *,
    frames: int = 64,
    naive_frames: int = 16,
    variants: list[str] | None = None,
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
        "settings": {"frame_shape": [400, 600, 3], "frames_per_measurement": frames,
                     "naive_frames": naive_frames, "rounds": rounds,
                     "statistic": "median over interleaved rounds"},
        "models": {},
    }
    for arch in models:
        result["models"][arch] = _measure_model(
            arch, batch_sizes, frames=frames, naive_frames=naive_frames, variants=variants,
            rounds=rounds,
        )
        gc.collect()
    return result


def _measure_model(
    arch: str,
    batch_sizes: list[int | None],
    *,
    frames: int,
    naive_frames: int,
    variants: list[str],
    rounds: int,
) -> dict[str, Any]:
    """Every configuration of one architecture, timed in interleaved rounds."""
    spec = f"{arch}/random"
    _progress(f"{arch}: loading naive baseline and {len(variants)} variants")
    naive = NaiveReward(spec) if naive_frames else None
    default = build_reward_model(spec)
    auto_batch = default.embedder.batch_size
    sweep = sorted({auto_batch if b is None else b for b in batch_sizes})
    rms = {name: (default if name == "default" else
                  build_reward_model(spec, precision=VARIANTS[name][0],
                                     fast_path=VARIANTS[name][1], batch_size=auto_batch))
           for name in variants}
    ceiling = Ceiling(arch, default.embedder.dtype)
    pool = synthetic_frames(max([frames, naive_frames, *sweep]))

    def n_for(bs: int) -> int:
        return max(bs, frames // bs * bs)

    # ``reuse_memory`` is process-wide: configurations that turn it off run last in each
    # round, after which it is switched back on and the heap re-warmed untimed, so that no
    # configuration pays for the page faults of another one's allocator setting.
    names = sorted(rms, key=lambda name: _reuses_memory(rms[name]) is False)
    # warm-up: first calls allocate, pick kernels and (for compile) compile each shape
    _use_allocator_of(default)
    if naive is not None:
        naive.rewards(pool[:1])
    for bs in sweep:
        default.embedder.batch_size = bs
        default.rewards(pool[:n_for(bs)])
    default.embedder.batch_size = auto_batch
    for name in names:
        _progress(f"{arch}: warming up {name}")
        _use_allocator_of(rms[name])
        rms[name].rewards(pool[:n_for(auto_batch)])

    times: dict[str, list[float]] = {}
    n_var = n_for(auto_batch)
    for r in range(rounds):
        _progress(f"{arch}: round {r + 1}/{rounds}")
        _use_allocator_of(default)
        default.rewards(pool[:n_var])  # untimed: re-warm the heap after the last round
        ceiling.sample()
        if naive is not None:
            times.setdefault("naive", []).append(
                time_call(lambda: naive.rewards(pool[:naive_frames])) / naive_frames)
        for bs in sweep:
            default.embedder.batch_size = bs
            times.setdefault(f"ours/bs{bs}", []).append(
                time_call(lambda n=n_for(bs): default.rewards(pool[:n])) / n_for(bs))
        default.embedder.batch_size = auto_batch
        for name in names:
            rm = rms[name]
            _use_allocator_of(rm)
            times.setdefault(f"variant/{name}", []).append(
                time_call(lambda rm=rm: rm.rewards(pool[:n_var])) / n_var)
    _use_allocator_of(default)  # leave the process as a default load leaves it
    fps = {k: 1.0 / median(v) for k, v in times.items()}
    naive_fps = fps.get("naive")

    def figures(value: float) -> dict[str, Any]:
        return {"frames_per_s": value, "percent_of_ceiling": ceiling.percent(value),
                "x_naive": value / naive_fps if naive_fps else None}

    entry: dict[str, Any] = {
        "ceiling": ceiling.as_dict(),
        "naive_frames_per_s": naive_fps,
        "auto_batch_size": auto_batch,
        "batch_sweep": [{"batch_size": bs, **figures(fps[f"ours/bs{bs}"])} for bs in sweep],
        "variants": {
            name: {**figures(fps[f"variant/{name}"]),
                   "x_off": (fps[f"variant/{name}"] / fps["variant/off"]
                             if "variant/off" in fps else None),
                   "applied": list(rm.embedder.fast_path_applied),
                   "dtype": str(rm.embedder.dtype).removeprefix("torch."),
                   "batch_size": auto_batch}
            for name, rm in rms.items()
        },
        "raw_seconds_per_frame": times,
    }
    entry["default"] = {"batch_size": auto_batch, **figures(fps[f"ours/bs{auto_batch}"])}
    return entry


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32", help="open_clip architectures")
    parser.add_argument("--batch-sizes", default="8,auto,128",
                        help="batch sizes of ours ('auto': the loader's choice)")
    parser.add_argument("--frames", type=int, default=64,
                        help="frames per measurement of ours (at least one batch)")
    parser.add_argument("--naive-frames", type=int, default=16,
                        help="frames per measurement of the naive baseline (0: skip it)")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        help=f"fast-path variants, from {','.join(VARIANTS)}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    result = run(
        [m for m in args.models.split(",") if m], parse_batch_sizes(args.batch_sizes),
        frames=args.frames, naive_frames=args.naive_frames,
        variants=[v for v in args.variants.split(",") if v], rounds=args.rounds,
    )
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
