"""GPU suite: reward path and training throughput of large CLIP towers on one CUDA device.

For each architecture (random weights; speed does not depend on their values):

* the compute ceiling: image-tower GFLOPs per frame (``torch.utils.flop_counter``) and the
  best bf16 (fp16 where bf16 is unsupported) matmul rate of this GPU, measured in this run;
* the reward path: uint8 400x600 frames in host memory -> rewards, with ``load_model``'s
  defaults on CUDA (``precision: auto``, batch size from :func:`vlm_reward.device.
  default_batch_size`, frames copied through pinned memory and preprocessed on the GPU),
  median over rounds, as frames/s and percent of the ceiling; peak GPU memory;
* training: :func:`vlm_reward.training.train` on ``vlm_reward/CartPole-v0`` with PPO and
  batched relabelling, the reward model on the GPU, as env steps/s and as a fraction of the
  reward path's frames/s on frames of the training's render size.

Run through ``benchmarks/gpu_suite.sh`` on a machine without internet; one JSON comes out.

Example:
    python -m benchmarks.gpu_suite --models ViT-B-32,ViT-L-14,ViT-bigG-14 --out gpu.json
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import GOAL, emit, median, system_info

__all__ = ["cuda_matmul_gflops", "main", "run"]


def _progress(msg: str) -> None:
    print(f"gpu_suite: {msg}", flush=True)


def cuda_matmul_gflops(dtype: Any, n: int = 8192, repeats: int = 10) -> float:
    """Best GFLOP/s of an ``n x n`` matmul on the current CUDA device (events, synchronised)."""
    import torch

    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    del a, b
    return 2 * n**3 / best / 1e9


def _tower_gflops(model: Any, size: tuple[int, int], dtype: Any) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:  # grad enabled: the plain attention path, which the counter can see into
        model.encode_image(torch.zeros(1, 3, *size, device="cuda", dtype=dtype))
    return counter.get_total_flops() / 1e9


def reward_path(arch: str, frames: int, rounds: int, matmul: float) -> dict[str, Any]:
    """Frames/s, percent of ceiling and peak memory of uint8 host frames -> rewards."""
    import torch

    from benchmarks._common import build_reward_model

    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    rm = build_reward_model(f"{arch}/random", device="cuda")
    load_s = time.perf_counter() - t0
    emb = rm.embedder
    gflops = _tower_gflops(emb.model, emb.preprocess.size, emb.dtype)
    pool = np.random.default_rng(0).integers(0, 256, (frames, 400, 600, 3), dtype=np.uint8)
    rm.rewards(pool[: emb.batch_size])  # warm-up: kernels, pinned buffers
    torch.cuda.synchronize()
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        rm.rewards(pool)  # returns CPU numpy: includes the device round trip
        seconds.append(time.perf_counter() - start)
    fps = frames / median(seconds)
    ceiling = matmul / gflops
    out = {"frames_per_s": fps, "percent_of_ceiling": 100 * fps / ceiling,
           "ceiling_frames_per_s": ceiling, "image_tower_gflops_per_frame": gflops,
           "batch_size": emb.batch_size, "dtype": str(emb.dtype).removeprefix("torch."),
           "frames": frames, "load_seconds": load_s,
           "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30}
    del rm, emb
    gc.collect()
    torch.cuda.empty_cache()
    return out


def training(arch: str, steps: int, n_envs: int, n_steps: int) -> dict[str, Any]:
    """Env steps/s of batched-relabel PPO with the reward model on the GPU."""
    import torch

    from benchmarks.training_throughput import _env_id, reward_path_frames_per_s
    from vlm_reward.config import validate_run_config
    from vlm_reward.training import train

    spec = f"{arch}/random"
    env_id = _env_id()
    data = {
        "name": "gpu-bench", "env": {"id": env_id}, "seed": 0,
        "reward": {"model": spec, "goal": GOAL, "device": "cuda"},
        "reward_mode": "batched",
        "algorithm": {"name": "PPO", "hyperparameters": {"n_steps": n_steps, "batch_size": 256,
                                                         "n_epochs": 4}},
        "n_envs": n_envs, "total_steps": steps, "device": "cpu",
        "logging": {"eval_every": 0, "eval_episodes": 1, "video_every": 0,
                    "checkpoint_every": 0, "progress_bar": False},
    }
    cfg = validate_run_config(data, "<gpu_suite>")
    with tempfile.TemporaryDirectory(prefix="vlm-gpu-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = train(cfg, Path(tmp) / "run")
    torch.cuda.empty_cache()
    path = reward_path_frames_per_s(env_id, spec, "auto", n_envs * n_steps, device="cuda")
    return {"env_steps_per_s": res["fps"], "env_steps": res["num_timesteps"],
            "reward_inference_share": res.get("reward_inference_share"),
            "reward_path_frames_per_s": path["frames_per_s"],
            "of_reward_path": res["fps"] / path["frames_per_s"], "env_id": env_id,
            "n_envs": n_envs, "ppo_n_steps": n_steps}


def run(models: list[str], frames: int, rounds: int, train_steps: int, n_envs: int,
        n_steps: int) -> dict[str, Any]:
    import torch

    from vlm_reward.device import resolve_precision

    if not torch.cuda.is_available():
        raise SystemExit("gpu_suite: no CUDA device visible to torch")
    dtype = resolve_precision("auto", torch.device("cuda"))
    result: dict[str, Any] = {
        "benchmark": "gpu_suite", "system": system_info(),
        "gpu": torch.cuda.get_device_name(0),
        "gpu_memory_gib": torch.cuda.get_device_properties(0).total_memory / 2**30,
        "settings": {"frame_shape": [400, 600, 3], "frames": frames, "rounds": rounds,
                     "train_steps": train_steps, "dtype": str(dtype).removeprefix("torch.")},
        "matmul_gflops": {"used": cuda_matmul_gflops(dtype),
                          "fp32": cuda_matmul_gflops(torch.float32, repeats=5)},
        "models": {},
    }
    for arch in models:
        _progress(f"{arch}: reward path")
        entry: dict[str, Any] = {"reward": reward_path(
            arch, frames, rounds, result["matmul_gflops"]["used"])}
        if train_steps:
            _progress(f"{arch}: training, {train_steps} env steps")
            entry["training"] = training(arch, train_steps, n_envs, n_steps)
        result["models"][arch] = entry
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32,ViT-L-14,ViT-bigG-14")
    parser.add_argument("--frames", type=int, default=1024, help="frames per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=2048, help="0 skips training")
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--n-steps", type=int, default=128, help="PPO rollout length per env")
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    result = run([m for m in args.models.split(",") if m], args.frames, args.rounds,
                 args.train_steps, args.n_envs, args.n_steps)
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
