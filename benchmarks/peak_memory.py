"""Peak memory (resident set size) of each configuration, each in its own fresh process.

Peak RSS is monotonic within a process, so every configuration runs in a child process
(``python -m benchmarks.peak_memory --child ...``) that imports torch, records its RSS, loads
the model, embeds ``frames`` CartPole frames at the given batch size and reports its peak RSS
(the kernel's high-water mark of resident memory, which counts everything the process touched:
weights, activations, allocator caches, ONNX Runtime arenas). ``model_and_run_mb`` is the peak
minus the RSS after imports, i.e. what the configuration itself costs. The peak is the
kernel's ``VmHWM`` (``ru_maxrss`` would inherit the parent's size across fork/exec).

Example:
    python -m benchmarks.peak_memory --models ViT-B-32 --variants naive,default,int8
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._common import emit, system_info

__all__ = ["main", "measure", "run"]

DEFAULT_VARIANTS = ("naive", "off", "fp32", "default", "int8", "onnx")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(arch: str, variant: str, frames: int, batch: int) -> dict[str, Any]:
    """Runs inside the child process: one configuration, then report memory as JSON."""
    import numpy as np
    import torch  # noqa: F401  (imported before the baseline reading on purpose)

    from benchmarks._common import NaiveReward, build_reward_model, peak_rss_mb
    from benchmarks.reward_throughput import VARIANTS

    images = np.load(os.environ["VLM_BENCH_FRAMES"])[:frames]
    import open_clip  # noqa: F401

    baseline = _rss_mb()
    spec = f"{arch}/random"
    if variant == "naive":
        naive = NaiveReward(spec)
        naive.rewards(images)
    else:
        precision, switches = VARIANTS[variant]
        rm = build_reward_model(spec, precision=precision, fast_path=switches, batch_size=batch)
        rm.rewards(images)
    peak = peak_rss_mb()
    return {"rss_after_imports_mb": baseline, "peak_rss_mb": peak,
            "model_and_run_mb": peak - baseline}


def measure(arch: str, variant: str, frames: int, batch: int, frames_file: str) -> dict:
    """Run one configuration in a fresh interpreter and return its memory figures."""
    env = {**os.environ, "VLM_BENCH_FRAMES": frames_file}
    cmd = [sys.executable, "-m", "benchmarks.peak_memory", "--child", arch, variant,
           str(frames), str(batch)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(models: list[str], variants: list[str], frames: int = 32, batch: int = 32) -> dict:
    """Measure peak RSS of every (model, variant) pair, one child process each."""
    import tempfile

    import numpy as np
    from rich.progress import Progress

    from benchmarks._common import synthetic_frames

    variants = list(variants)
    if "onnx" in variants and importlib.util.find_spec("onnxruntime") is None:
        variants.remove("onnx")
    result: dict[str, Any] = {
        "benchmark": "peak_memory",
        "system": system_info(),
        "settings": {"frames": frames, "batch_size": batch, "frame_shape": [400, 600, 3],
                     "naive_batch_size": 1, "measure": "VmHWM of a fresh child process"},
        "models": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        frames_file = str(Path(tmp) / "frames.npy")
        np.save(frames_file, synthetic_frames(frames))
        with Progress(transient=True, console=None) as progress:
            task = progress.add_task("peak memory", total=len(models) * len(variants))
            for arch in models:
                result["models"][arch] = {}
                for variant in variants:
                    progress.update(task, description=f"{arch} {variant}")
                    result["models"][arch][variant] = measure(arch, variant, frames, batch,
                                                              frames_file)
                    progress.advance(task)
    return result


def main(argv: list[str] | None = None) -> dict | None:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        arch, variant, frames, batch = sys.argv[2:6]
        print(json.dumps(_child(arch, variant, int(frames), int(batch))))
        return None
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS))
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    result = run([m for m in args.models.split(",") if m],
                 [v for v in args.variants.split(",") if v], args.frames, args.batch)
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
