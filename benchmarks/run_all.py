"""Run the whole benchmark suite, print comparison tables and write one JSON file.

``python -m benchmarks.run_all`` (or ``make bench``) runs, in order: the compute limit, reward
throughput (ours vs naive, batch sweep and fast-path variants), fast-path quality, peak memory
and training throughput, then prints the tables that BENCHMARKS.md quotes. ``--quick`` shrinks
every budget for a smoke run (the figures are then noisier, not different in kind).

Example:
    python -m benchmarks.run_all --out benchmarks/results/latest.json
    python -m benchmarks.run_all --quick --skip training,memory
    python -m benchmarks.run_all --skip quality,memory --reuse benchmarks/results/earlier.json

``--reuse`` copies the skipped sections from an earlier result file, so sections that do not
depend on machine load (quality, memory) can be measured at another time than the timed ones;
each section keeps its own ``system`` block saying when and where it ran.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks import (
    compute_limit,
    fast_path_quality,
    peak_memory,
    reward_throughput,
    training_throughput,
)
from benchmarks._common import emit, system_info

__all__ = ["TARGETS", "main", "render_tables"]

SECTIONS = ("compute", "reward", "quality", "memory", "training")
# Targets of issue 7 for ViT-B-32 on this machine.
TARGETS = {"reward_frames_per_s": 100.0, "reward_x_naive": 5.0, "training_steps_per_s": 50.0}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_tables(results: dict[str, Any]) -> None:
    """Print the suite's results as rich tables on stdout."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    reward = results.get("reward")
    if reward:
        table = Table(title="Reward throughput: 400x600 uint8 frames -> rewards (frames/s)")
        for col in ("model", "configuration", "batch", "frames/s", "x naive", "x off",
                    "switches applied"):
            table.add_column(col, justify="right" if col in ("batch", "frames/s", "x naive",
                                                              "x off") else "left")
        for arch, entry in reward["models"].items():
            table.add_row(arch, "naive (PIL, 1 frame/call)", "1",
                          _fmt(entry["naive_frames_per_s"]), "1.0", "", "")
            for row in entry["batch_sweep"]:
                table.add_row(arch, "ours (default)", str(row["batch_size"]),
                              _fmt(row["frames_per_s"]), _fmt(row["x_naive"]), "", "")
            for name, v in entry["variants"].items():
                table.add_row(arch, f"variant: {name} ({v['dtype']})", str(v["batch_size"]),
                              _fmt(v["frames_per_s"]), _fmt(v["x_naive"]), _fmt(v["x_off"], 2),
                              ",".join(v["applied"]) or "-")
        console.print(table)
    quality = results.get("quality")
    if quality:
        table = Table(title="Fast-path quality vs fp32 PIL reference (rendered CartPole frames)")
        for col in ("model", "variant", "emb cos min", "emb cos mean", "reward max |diff|",
                    "reward pearson", "reward spearman", ">= 0.99"):
            table.add_column(col)
        for arch, entry in quality["models"].items():
            for name, v in entry["variants"].items():
                table.add_row(arch, name, _fmt(v["embedding_cosine_min"], 5),
                              _fmt(v["embedding_cosine_mean"], 5),
                              _fmt(v["reward_max_abs_diff"], 5), _fmt(v["reward_pearson"], 4),
                              _fmt(v["reward_spearman"], 4), "yes" if v["passes"] else "NO")
        console.print(table)
    memory = results.get("memory")
    if memory:
        table = Table(title="Peak memory (RSS of a fresh process, MiB)")
        for col in ("model", "configuration", "peak RSS", "model + run (peak - imports)"):
            table.add_column(col)
        for arch, entry in memory["models"].items():
            for name, v in entry.items():
                if "error" in v:
                    table.add_row(arch, name, "error", v["error"])
                else:
                    table.add_row(arch, name, _fmt(v["peak_rss_mb"], 0),
                                  _fmt(v["model_and_run_mb"], 0))
        console.print(table)
    training = results.get("training")
    if training:
        s = training["settings"]
        table = Table(title=f"Training throughput: {s['algorithm']} on {s['env_id']}, "
                            f"{s['model']} reward (env steps/s)")
        for col in ("configuration", "env steps/s", "x naive", "reward inference share"):
            table.add_column(col)
        for name, v in training["modes"].items():
            table.add_row(name, _fmt(v["env_steps_per_s"]), _fmt(v["x_naive"]),
                          _fmt(v.get("reward_inference_share"), 2))
        console.print(table)
    compute = results.get("compute")
    if compute:
        mm = compute["matmul_gflops"]
        table = Table(title=f"Compute limit (matmul fp32 {mm['fp32_all_threads']:.0f} GFLOP/s "
                            f"on {mm['threads']} threads, bf16 {mm['bf16_all_threads']:.0f})")
        for col in ("model", "GFLOPs/frame", "fp32 ceiling frames/s", "measured best frames/s",
                    "share of ceiling"):
            table.add_column(col)
        for arch, v in compute["models"].items():
            best = None
            if reward and arch in reward["models"]:
                e = reward["models"][arch]
                best = max([r["frames_per_s"] for r in e["batch_sweep"]]
                           + [x["frames_per_s"] for x in e["variants"].values()])
            share = best / v["fp32_ceiling_frames_per_s"] if best else None
            table.add_row(arch, _fmt(v["image_tower_gflops_per_frame"], 2),
                          _fmt(v["fp32_ceiling_frames_per_s"]), _fmt(best), _fmt(share, 2))
        console.print(table)
    console.print(f"Targets (issue 7, ViT-B-32): {json.dumps(TARGETS)}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32,RN50")
    parser.add_argument("--quick", action="store_true", help="tiny budgets (smoke run)")
    parser.add_argument("--skip", default="", help=f"comma list from {','.join(SECTIONS)}")
    parser.add_argument("--out", default="benchmarks/results/latest.json",
                        help="JSON file for all results ('' to skip writing)")
    parser.add_argument("--json", action="store_true", help="also print the JSON on stdout")
    parser.add_argument("--batch-sizes", default=None,
                        help="reward batch sweep (default 1,8,32,128; quick 1,8)")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames per reward and memory measurement (default 32; quick 8)")
    parser.add_argument("--quality-frames", type=int, default=None,
                        help="rendered frames for the quality section (default 48; quick 8)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved timing rounds (default 3; quick 1)")
    parser.add_argument("--train-steps", type=int, default=None,
                        help="env steps per training configuration (default 256; quick 32)")
    parser.add_argument("--reuse", default=None,
                        help="earlier run_all JSON to take the skipped sections from")
    args = parser.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    unknown = skip - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    models = [m for m in args.models.split(",") if m]
    quick = args.quick
    start = time.perf_counter()
    results: dict[str, Any] = {"suite": "vlm-reward benchmarks", "system": system_info(),
                               "quick": quick}

    def save() -> None:
        """Write what is done so far: an interrupted suite still leaves its finished sections."""
        results["suite_seconds"] = time.perf_counter() - start
        if args.out:
            path = Path(args.out)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(results, indent=2) + "\n")
            tmp.replace(path)

    if args.reuse:
        earlier_path = Path(args.reuse)
        if earlier_path.is_file():
            earlier = json.loads(earlier_path.read_text())
            reused = [s for s in SECTIONS if s in skip and s in earlier]
            results.update({s: earlier[s] for s in reused})
            results["reused_sections"] = {s: earlier[s]["system"]["time_utc"] for s in reused}
        else:
            print(f"warning: --reuse {earlier_path} not found; skipped sections stay empty")
    if "compute" not in skip:
        results["compute"] = compute_limit.run(models, n=1024 if quick else 2048)
        save()
    if "reward" not in skip:
        frames = args.frames or (8 if quick else 32)
        results["reward"] = reward_throughput.run(
            models,
            [int(b) for b in args.batch_sizes.split(",")] if args.batch_sizes
            else ([1, 8] if quick else [1, 8, 32, 128]),
            frames=frames, naive_frames=max(4, frames // 2), variant_batch=frames,
            rounds=args.rounds or (1 if quick else 3),
        )
        save()
    if "quality" not in skip:
        results["quality"] = fast_path_quality.run(
            models, frames=args.quality_frames or (8 if quick else 48)
        )
        save()
    if "memory" not in skip:
        results["memory"] = peak_memory.run(
            models, list(peak_memory.DEFAULT_VARIANTS), frames=args.frames or (8 if quick else 32),
            batch=args.frames or (8 if quick else 32),
        )
        save()
    if "training" not in skip:
        steps = args.train_steps or (32 if quick else 256)
        results["training"] = training_throughput.run(
            models[0], steps=steps, n_steps=max(16, steps // 2), batch=max(16, steps // 2),
        )
    save()
    render_tables(results)
    if args.out:
        print(f"JSON written to {args.out}")
    if args.json:
        emit(results, None)
    return results


if __name__ == "__main__":
    main()
