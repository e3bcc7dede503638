"""Quality of the fast paths: how far each one moves embeddings and rewards from fp32.

On rendered frames (400x600; half CartPole-v1, half MountainCar-v0 so that rewards vary
between frames), each fast-path variant is compared with the fp32
reference pipeline, open_clip's own per-frame PIL transform + fp32 eager model (the naive
baseline): per-frame cosine similarity of the image embeddings (must stay >= 0.999), and for
rewards the largest absolute difference and the Pearson and Spearman correlations over frames.

Random weights (``ARCH/random``) are used since no pretrained weights can be downloaded here.
Every configuration is loaded with the same seed, so all hold the same random weights. Random
towers embed all frames of one scene almost alike, so rewards vary little from frame to frame
(the spread is reported); that makes the rank correlation a harsh test: tiny numeric noise
can reorder nearly tied rewards.

Example:
    python -m benchmarks.fast_path_quality --models ViT-B-32 --frames 32
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
from typing import Any

import numpy as np

from benchmarks._common import NaiveReward, build_reward_model, cartpole_frames, emit, system_info
from benchmarks.reward_throughput import VARIANTS

__all__ = ["EMBEDDING_COSINE_FLOOR", "main", "run"]

EMBEDDING_COSINE_FLOOR = 0.999
DEFAULT_VARIANTS = ("off", "fp32", "default", "no_silu", "int8", "onnx")


def _progress(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]fast_path_quality:[/dim] {msg}")


def compare(ref_emb: Any, emb: Any, ref_rewards: np.ndarray, rewards: np.ndarray) -> dict:
    """Agreement of one variant's embeddings and rewards with the reference."""
    import torch
    from scipy.stats import pearsonr, spearmanr

    cos = torch.nn.functional.cosine_similarity(ref_emb.float(), emb.float(), dim=-1).numpy()
    return {
        "embedding_cosine_min": float(cos.min()),
        "embedding_cosine_mean": float(cos.mean()),
        "reward_max_abs_diff": float(np.abs(ref_rewards - rewards).max()),
        "reward_pearson": float(pearsonr(ref_rewards, rewards)[0]),
        "reward_spearman": float(spearmanr(ref_rewards, rewards)[0]),
        "passes": bool(cos.min() >= EMBEDDING_COSINE_FLOOR),
    }


def run(models: list[str], frames: int = 48, variants: list[str] | None = None) -> dict:
    """Compare every variant with the fp32 PIL reference on ``frames`` rendered frames."""
    variants = list(DEFAULT_VARIANTS if variants is None else variants)
    if "onnx" in variants and importlib.util.find_spec("onnxruntime") is None:
        variants.remove("onnx")
    half = frames // 2
    images = np.concatenate([cartpole_frames(frames - half, seed=1),
                             cartpole_frames(half, seed=1, env_id="MountainCar-v0")])
    result: dict[str, Any] = {
        "benchmark": "fast_path_quality",
        "system": system_info(),
        "settings": {"frames": frames, "frame_shape": list(images.shape[1:]),
                     "reference": "fp32 eager, open_clip PIL transform per frame",
                     "frames_from": ["CartPole-v1", "MountainCar-v0"],
                     "embedding_cosine_floor": EMBEDDING_COSINE_FLOOR},
        "models": {},
    }
    for arch in models:
        spec = f"{arch}/random"
        _progress(f"{arch}: reference (fp32, PIL)")
        naive = NaiveReward(spec)
        ref_emb = naive.embed(images)
        ref_rewards = (ref_emb @ naive.text).numpy()
        entry: dict[str, Any] = {"reward_std_over_frames": float(ref_rewards.std()),
                                 "variants": {}}
        for name in variants:
            _progress(f"{arch}: {name}")
            precision, switches = VARIANTS[name]
            rm = build_reward_model(spec, precision=precision, fast_path=switches, batch_size=16)
            emb = rm.embed(images)
            rewards = rm.rewards_from_embeddings(emb)
            entry["variants"][name] = {
                **compare(ref_emb, emb, ref_rewards, rewards),
                "applied": list(rm.embedder.fast_path_applied),
                "dtype": str(rm.embedder.dtype).removeprefix("torch."),
            }
            del rm
            gc.collect()
        result["models"][arch] = entry
        del naive
        gc.collect()
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS))
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    result = run([m for m in args.models.split(",") if m], args.frames,
                 [v for v in args.variants.split(",") if v])
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
