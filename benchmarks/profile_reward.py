"""Where the reward path's time goes: torch.profiler op times grouped by what they do.

Profiles ``RewardModel.rewards`` on 400x600 uint8 frames with the default settings of
``load_model`` (or the switches given), and sums each op's *self* CPU time into groups:
``matmul`` (the part a faster kernel cannot shrink below the matmul ceiling), ``attention``
(softmax and the fused-attention glue around its matmuls), ``activation`` (GELU family),
``layer_norm``, ``elementwise`` (residual adds, copies, scaling), ``preprocess`` (resize,
normalise), ``other``. Also counts the process's minor page faults during the pass.

Example:
    python -m benchmarks.profile_reward --model ViT-B-32 --batch 32
    python -m benchmarks.profile_reward --fast-path '{"quick_gelu_as_silu": false}'
"""

from __future__ import annotations

import argparse
import json
import resource
from typing import Any

from benchmarks._common import build_reward_model, emit, synthetic_frames, system_info

__all__ = ["GROUPS", "group_of", "main", "run"]

# op-name fragments per group, checked in order (first match wins)
GROUPS: dict[str, tuple[str, ...]] = {
    "preprocess": ("upsample", "addcmul", "interpolate"),
    "matmul": ("addmm", "aten::mm", "bmm", "mkldnn_convolution", "aten::matmul"),
    "attention": ("softmax", "transform_bias_rescale_qkv", "scaled_dot_product", "attention"),
    "activation": ("gelu", "sigmoid", "silu"),
    "layer_norm": ("layer_norm",),
    "elementwise": ("aten::add", "aten::mul", "aten::copy_", "aten::div", "aten::clamp",
                    "aten::round"),
}


def group_of(op: str) -> str:
    """The group of a profiler op name (``other`` when none matches)."""
    for group, fragments in GROUPS.items():
        if any(f in op for f in fragments):
            return group
    return "other"


def run(model: str, batch: int | None, frames: int, fast_path: dict[str, Any] | None,
        precision: str) -> dict[str, Any]:
    from torch.profiler import ProfilerActivity, profile

    rm = build_reward_model(f"{model}/random", precision=precision, fast_path=fast_path,
                            batch_size=batch)
    pool = synthetic_frames(frames)
    rm.rewards(pool)  # warm-up
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        rm.rewards(pool)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    groups: dict[str, float] = {}
    ops = []
    for ev in prof.key_averages():
        us = ev.self_cpu_time_total
        if us <= 0:
            continue
        groups[group_of(ev.key)] = groups.get(group_of(ev.key), 0.0) + us
        ops.append({"op": ev.key, "self_ms": us / 1e3, "calls": ev.count})
    total = sum(groups.values())
    ops.sort(key=lambda o: -o["self_ms"])
    return {
        "benchmark": "profile_reward",
        "system": system_info(),
        "settings": {"model": f"{model}/random", "frames": frames,
                     "batch_size": rm.embedder.batch_size,
                     "dtype": str(rm.embedder.dtype).removeprefix("torch."),
                     "applied": list(rm.embedder.fast_path_applied)},
        "total_self_ms": total / 1e3,
        "share": {g: v / total for g, v in sorted(groups.items(), key=lambda kv: -kv[1])},
        "minor_page_faults": faults,
        "top_ops": ops[:15],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--batch", type=int, default=None, help="default: the loader's choice")
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--fast-path", default=None, help="JSON mapping of switches")
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    fast_path = json.loads(args.fast_path) if args.fast_path else None
    result = run(args.model, args.batch, args.frames, fast_path, args.precision)
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
