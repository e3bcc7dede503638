"""Run the whole benchmark suite and write one JSON file; print its Markdown report.

``python -m benchmarks.run_all`` (or ``make bench``) runs, in order: the compute limit, the
reward path (ours vs naive, batch sweep, fast-path variants, percent of ceiling), its
profile, fast-path quality, peak memory, training throughput and the scale curve (JSON plus
a PNG next to the results), then prints the tables BENCHMARKS.md quotes
(:mod:`benchmarks.report`). ``--quick`` shrinks every budget for a smoke run.

Example:
    python -m benchmarks.run_all --out benchmarks/results/latest.json
    python -m benchmarks.run_all --quick --skip training,memory,scale
    python -m benchmarks.report benchmarks/results/latest.json --update BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import (
    compute_limit,
    fast_path_quality,
    peak_memory,
    profile_reward,
    reward_throughput,
    scale_curve,
    training_throughput,
)
from benchmarks._common import system_info
from benchmarks.report import markdown

__all__ = ["SECTIONS", "main"]

SECTIONS = ("compute", "reward", "profile", "quality", "memory", "training", "scale")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32", help="reward/quality/memory models")
    parser.add_argument("--quick", action="store_true", help="tiny budgets (smoke run)")
    parser.add_argument("--skip", default="", help=f"comma list from {','.join(SECTIONS)}")
    parser.add_argument("--out", default="benchmarks/results/latest.json",
                        help="JSON file for all results ('' to skip writing)")
    args = parser.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    unknown = skip - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    models = [m for m in args.models.split(",") if m]
    quick = args.quick
    start = time.perf_counter()
    results: dict[str, Any] = {
        "suite": "vlm-reward benchmarks", "system": system_info(), "quick": quick,
        "command": " ".join(["python -m benchmarks.run_all", *sys.argv[1:]]),
    }

    def save() -> None:
        """Write what is done so far: an interrupted suite still leaves its finished sections."""
        results["suite_seconds"] = time.perf_counter() - start
        if args.out:
            path = Path(args.out)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(results, indent=2) + "\n")
            tmp.replace(path)

    frames = 16 if quick else 64
    if "compute" not in skip:
        results["compute"] = compute_limit.run(models, n=1024 if quick else 2048)
        save()
    if "reward" not in skip:
        # at least two batches of the largest batch size, so "auto" runs at its own size
        results["reward"] = reward_throughput.run(
            models, [8, None] if quick else [8, None, 128], frames=16 if quick else 256,
            naive_frames=4 if quick else 16, rounds=1 if quick else 3)
        save()
    if "profile" not in skip:
        results["profile"] = profile_reward.run(models[0], None, 16 if quick else 128, None,
                                                "auto")
        save()
    if "quality" not in skip:
        results["quality"] = fast_path_quality.run(models, frames=8 if quick else 48)
        save()
    if "memory" not in skip:
        results["memory"] = peak_memory.run(
            models, list(peak_memory.DEFAULT_VARIANTS), frames=frames, batch=frames)
        save()
    if "training" not in skip:
        results["training"] = training_throughput.run(models[0], steps=64 if quick else 512)
        save()
    if "scale" not in skip:
        results["scale"] = scale_curve.run(
            models[0], [1, 8, 32] if quick else [1, 4, 8, 16, 32, 64, 128],
            ["ViT-B-32"] if quick else ["ViT-B-32", "ViT-B-16", "ViT-L-14"],
            frames=frames // 2, rounds=1 if quick else 2)
        if args.out:
            png = str(Path(args.out).with_name("scale_curve.png"))
            scale_curve.plot(results["scale"], png)
            results["scale"]["plot"] = png
    save()
    print(markdown(results))
    if args.out:
        print(f"JSON written to {args.out}")
    return results


if __name__ == "__main__":
    main()
