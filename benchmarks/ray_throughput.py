"""Reward-inference throughput: in-process vs Ray actors (1 and 2 CPU workers), same run.

Every configuration embeds the same rendered CartPole-v1 frames (400x600) with the same model,
after a warm-up; all stay loaded and the timed rounds interleave them, so load from other jobs
hits every configuration alike. The figure is frames per second of ``encode_images`` (median
over rounds); the largest difference to the in-process embeddings is a correctness check.

Configurations:

* ``in-process``: :func:`vlm_reward.load_model`, torch using all cores;
* ``in-process-1-thread``: the same with one torch thread (what one 1-CPU worker has);
* ``ray-1x1``: one Ray actor with 1 CPU; ``ray-1x2``: one actor with 2 CPUs (Ray overhead
  alone); ``ray-2x1``: two actors with 1 CPU each (scale-out).

Random weights (``ARCH/random``) are used: speed does not depend on the weights' values.

Example:
    nice -n 10 python -m benchmarks.ray_throughput --model ViT-B-32/random --frames 64
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "render_frames", "run"]

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
RAY_CONFIGS: tuple[tuple[int, float], ...] = ((1, 1.0), (1, 2.0), (2, 1.0))  # (workers, CPUs)


def _log(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]ray_throughput:[/dim] {msg}")


def render_frames(n: int, seed: int = 0) -> np.ndarray:
    """``n`` CartPole-v1 frames from a random policy (the episode restarts when it ends)."""
    import gymnasium as gym

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    frames = []
    for _ in range(n):
        _, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
        frames.append(env.render())
        if terminated or truncated:
            env.reset()
    env.close()
    return np.stack(frames)


def _time(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run(
    model: str,
    n_frames: int,
    *,
    batch_size: int = 32,
    precision: str = "fp32",
    rounds: int = 3,
    address: str | None = None,
) -> dict[str, Any]:
    """Measure every configuration and return the JSON-ready result."""
    import torch

    from vlm_reward import load_model
    from vlm_reward.distributed import RayEmbedder, init_ray, shutdown_ray

    commit = _git_commit()  # at the start: the code that is measured
    frames = render_frames(n_frames)
    _log(f"in-process: loading {model} ({precision})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = load_model(model, device="cpu", precision=precision, batch_size=batch_size)
    all_threads = torch.get_num_threads()

    def in_process(threads: int) -> Callable[[np.ndarray], Any]:
        def call(batch: np.ndarray) -> Any:
            torch.set_num_threads(threads)
            try:
                return local.encode_images(batch)
            finally:
                torch.set_num_threads(all_threads)

        return call

    # Every configuration stays loaded and the rounds interleave them, so a burst of load on
    # the (shared) machine hits all configurations alike; idle actors cost no CPU.
    configs: list[tuple[str, int, float, Callable[[np.ndarray], Any]]] = [
        ("in-process", 0, all_threads, in_process(all_threads)),
        ("in-process-1-thread", 0, 1, in_process(1)),
    ]
    init_ray(address, num_cpus=math.ceil(sum(w * c for w, c in RAY_CONFIGS)))
    embedders = []
    try:
        for workers, cpus in RAY_CONFIGS:
            name = f"ray-{workers}x{cpus:g}"
            _log(f"{name}: starting {workers} worker(s) with {cpus:g} CPU(s) each")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                emb = RayEmbedder.create(
                    model, num_workers=workers, num_cpus_per_worker=cpus, device="cpu",
                    precision=precision, batch_size=batch_size, address=address,
                )
            embedders.append(emb)
            configs.append((name, workers, cpus, emb.encode_images))
        for name, *_, fn in configs:  # warm-up: a chunk for every worker
            _log(f"{name}: warm-up")
            fn(frames[:4])
        times: dict[str, list[float]] = {name: [] for name, *_ in configs}
        outputs: dict[str, Any] = {}
        for r in range(rounds):
            for name, *_, fn in configs:
                seconds, outputs[name] = _time(lambda f=fn: f(frames), 1)
                times[name].append(seconds)
                _log(f"round {r + 1}/{rounds} {name}: {n_frames / seconds:.2f} frames/s")
    finally:
        for emb in embedders:
            emb.close()
        shutdown_ray()

    reference = outputs["in-process"]
    results: list[dict[str, Any]] = []
    for name, workers, cpus, _ in configs:
        seconds = statistics.median(times[name])
        results.append({
            "config": name, "workers": workers, "cpus_per_worker": cpus,
            "seconds": round(seconds, 3), "frames_per_s": round(n_frames / seconds, 2),
            "frames_per_s_each_round": [round(n_frames / t, 2) for t in times[name]],
            "max_abs_diff_vs_in_process": float((outputs[name] - reference).abs().max()),
        })
    base = results[0]["frames_per_s"]
    for row in results:
        row["speedup_vs_in_process"] = round(row["frames_per_s"] / base, 2)
    return {
        "benchmark": "ray_throughput",
        "model": model,
        "precision": precision,
        "frames": n_frames,
        "frame_shape": list(frames.shape[1:]),
        "batch_size": batch_size,
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "ray": __import__("ray").__version__,
        "python": platform.python_version(),
        "git_commit": commit,
        "results": results,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32/random", help="model spec")
    parser.add_argument("--frames", type=int, default=64, help="frames per measurement")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median)")
    parser.add_argument("--ray-address", default=None,
                        help="join this Ray cluster instead of starting a local instance")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.rounds < 1 or args.batch_size < 1:
        parser.error("--frames, --rounds and --batch-size must be positive")
    result = run(args.model, args.frames, batch_size=args.batch_size, precision=args.precision,
                 rounds=args.rounds, address=args.ray_address)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
