"""Scale curve: reward-path frames/s against batch size and against model size, with a plot.

Measures ``RewardModel.rewards`` on 400x600 uint8 frames with the default settings of
``load_model`` (``precision: auto``, default fast path) for

* one architecture at a range of batch sizes (where batching stops paying on this machine:
  the evidence behind :func:`vlm_reward.device.default_batch_size`);
* several architectures at the default batch size, each as frames/s and as a percentage of
  its compute ceiling (the matmul rate of the compute dtype, re-measured every round).

Every configuration is timed in interleaved rounds (median). Writes the JSON and a PNG with
two panels (matplotlib).

Example:
    python -m benchmarks.scale_curve --out benchmarks/results/scale_curve.json \\
        --plot benchmarks/results/scale_curve.png
"""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

from benchmarks._common import (
    Ceiling,
    build_reward_model,
    emit,
    median,
    parse_int_list,
    synthetic_frames,
    system_info,
    time_call,
)

__all__ = ["main", "plot", "run"]


def _progress(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]scale_curve:[/dim] {msg}")


def _frames_per_s(rm: Any, pool: Any, batch: int, min_frames: int) -> float:
    rm.embedder.batch_size = batch
    n = max(batch, min_frames // batch * batch)
    return n / time_call(lambda: rm.rewards(pool[:n]))


def run(sweep_model: str, batch_sizes: list[int], models: list[str], *, frames: int = 32,
        rounds: int = 2) -> dict[str, Any]:
    """Batch sweep of ``sweep_model`` and model sweep at the default batch size."""
    pool = synthetic_frames(max([frames, *batch_sizes]))
    result: dict[str, Any] = {
        "benchmark": "scale_curve",
        "system": system_info(),
        "settings": {"frame_shape": [400, 600, 3], "frames_per_measurement": frames,
                     "rounds": rounds, "statistic": "median over interleaved rounds",
                     "weights": "random (ARCH/random)"},
    }
    _progress(f"batch sweep of {sweep_model}: {batch_sizes}")
    rm = build_reward_model(f"{sweep_model}/random")
    auto_batch = rm.embedder.batch_size  # what the loader picked for this machine
    ceiling = Ceiling(sweep_model, rm.embedder.dtype)
    for bs in batch_sizes:  # warm-up
        _frames_per_s(rm, pool, bs, bs)
    samples: dict[int, list[float]] = {bs: [] for bs in batch_sizes}
    for _ in range(rounds):
        ceiling.sample()
        for bs in batch_sizes:
            samples[bs].append(_frames_per_s(rm, pool, bs, frames))
    result["batch_sweep"] = {
        "model": sweep_model, "auto_batch_size": auto_batch,
        "ceiling": ceiling.as_dict(),
        "points": [{"batch_size": bs, "frames_per_s": median(v),
                    "percent_of_ceiling": ceiling.percent(median(v))}
                   for bs, v in samples.items()],
    }
    del rm
    gc.collect()
    result["model_sweep"] = []
    for arch in models:
        _progress(f"model sweep: {arch}")
        rm = build_reward_model(f"{arch}/random")
        ceiling = Ceiling(arch, rm.embedder.dtype)
        bs = rm.embedder.batch_size
        _frames_per_s(rm, pool[:8], min(bs, 8), 8)  # warm-up; large towers are slow on CPU
        values = []
        for _ in range(rounds):
            ceiling.sample()
            values.append(_frames_per_s(rm, pool, bs, frames))
        fps = median(values)
        result["model_sweep"].append({
            "model": arch, "batch_size": bs, "frames_per_s": fps,
            "percent_of_ceiling": ceiling.percent(fps), "ceiling": ceiling.as_dict()})
        del rm
        gc.collect()
    return result


def plot(result: dict[str, Any], path: str) -> None:
    """Two panels: frames/s vs batch size (log x), and frames/s + % of ceiling per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = result["batch_sweep"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    xs = [p["batch_size"] for p in sweep["points"]]
    ax1.plot(xs, [p["frames_per_s"] for p in sweep["points"]], "o-", label="measured")
    ax1.axhline(sweep["ceiling"]["frames_per_s"], color="grey", ls="--",
                label=f"{sweep['ceiling']['dtype']} matmul ceiling")
    ax1.axvline(sweep["auto_batch_size"], color="tab:green", ls=":", label="default batch")
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("batch size (frames per forward pass)")
    ax1.set_ylabel("frames/s (400x600 uint8 -> reward)")
    ax1.set_title(f"{sweep['model']}: batch size")
    ax1.legend()
    models = result["model_sweep"]
    names = [m["model"] for m in models]
    bars = ax2.bar(names, [m["frames_per_s"] for m in models], color="tab:blue")
    for bar, m in zip(bars, models, strict=True):
        ax2.annotate(f"{m['percent_of_ceiling']:.0f}% of ceiling",
                     (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                     ha="center", va="bottom", fontsize=8)
    ax2.set_yscale("log")
    ax2.set_ylabel("frames/s (log)")
    ax2.set_title("model size (default batch)")
    sysinfo = result["system"]
    fig.suptitle(f"{sysinfo['cpu']}, {sysinfo['torch_threads']} threads, torch {sysinfo['torch']}",
                 fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweep-model", default="ViT-B-32")
    parser.add_argument("--batch-sizes", default="1,4,8,16,32,64,128")
    parser.add_argument("--models", default="ViT-B-32,ViT-B-16,ViT-L-14")
    parser.add_argument("--frames", type=int, default=32, help="frames per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    parser.add_argument("--plot", default=None, help="write the PNG here")
    args = parser.parse_args(argv)
    result = run(args.sweep_model, parse_int_list(args.batch_sizes),
                 [m for m in args.models.split(",") if m], frames=args.frames, rounds=args.rounds)
    if args.plot:
        plot(result, args.plot)
        result["plot"] = args.plot
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
