"""Shared pieces of the benchmarks: frames, models, the naive baseline, timing, output.

The naive baseline is what a typical Gym reward wrapper does: for every frame, a PIL resize and
centre crop, ``ToTensor`` and ``Normalize`` (open_clip's own eval transform), then one fp32
forward pass per frame. Ours is :class:`vlm_reward.reward.RewardModel` on a batch of uint8
frames with the fast-path switches of :mod:`vlm_reward.models.acceleration`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "GOAL",
    "NaiveReward",
    "build_reward_model",
    "cartpole_frames",
    "emit",
    "median",
    "parse_int_list",
    "peak_rss_mb",
    "synthetic_frames",
    "system_info",
    "time_call",
]

GOAL = "a pole vertically upright on top of a cart"
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("MUJOCO_GL", "egl")


def parse_int_list(text: str) -> list[int]:
    """``"1,8,32"`` -> ``[1, 8, 32]`` (for ``--batch-sizes`` style options)."""
    return [int(x) for x in text.split(",") if x.strip()]


def cartpole_frames(
    n: int, seed: int = 0, width: int = 600, height: int = 400, env_id: str = "CartPole-v1"
) -> np.ndarray:
    """``n`` rendered frames ``(n, height, width, 3)`` of ``env_id`` under a random policy.

    The episode is reset whenever it ends so the frames cover many pole angles and positions.
    """
    import gymnasium as gym

    env = gym.make(env_id, render_mode="rgb_array")
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    frames = []
    for _ in range(n):
        _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        frame = env.render()
        if frame.shape[:2] != (height, width):
            from PIL import Image

            frame = np.asarray(Image.fromarray(frame).resize((width, height)))
        frames.append(frame)
        if terminated or truncated:
            env.reset()
    env.close()
    return np.stack(frames)


def synthetic_frames(n: int, height: int = 400, width: int = 600, seed: int = 0) -> np.ndarray:
    """``n`` CartPole-sized frames made by tiling a few rendered ones (rendering costs time)."""
    base = cartpole_frames(min(n, 16), seed=seed, width=width, height=height)
    reps = -(-n // len(base))
    return np.concatenate([base] * reps)[:n].copy()


def build_reward_model(
    spec: str,
    *,
    precision: str = "fp32",
    fast_path: Any = None,
    batch_size: int = 64,
    goal: str = GOAL,
    seed: int = 0,
) -> Any:
    """Load ``spec`` on CPU through the public loader, apply ``fast_path``, build the reward.

    ``ARCH/random`` weights come from torch's global RNG, so it is seeded first: every
    configuration of a benchmark then holds the same weights.
    """
    import torch

    from vlm_reward import load_model
    from vlm_reward.models.acceleration import FastPath, apply_fast_path
    from vlm_reward.reward import RewardModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the random-weights warning: expected in benchmarks
        torch.manual_seed(seed)
        emb = load_model(spec, device="cpu", precision=precision, batch_size=batch_size)
    # The loader may already have applied the default switches; re-applying sets exactly these.
    apply_fast_path(emb, FastPath.from_value(fast_path))
    return RewardModel.from_prompts(emb, goal)


class NaiveReward:
    """The typical gym reward wrapper: PIL transform per frame, one fp32 model call per frame.

    Shares nothing with our fast path except the weights and the text embedding, which it
    computes once (even naive wrappers cache the prompt).
    """

    def __init__(self, spec: str, goal: str = GOAL, seed: int = 0) -> None:
        import open_clip
        import torch

        from vlm_reward import load_model
        from vlm_reward.models.acceleration import FastPath, apply_fast_path

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(seed)  # same random weights as build_reward_model(seed=seed)
            emb = load_model(spec, device="cpu", precision="fp32")
        apply_fast_path(emb, FastPath.off())  # plain fp32 eager model, whatever the loader did
        self.model = emb.model
        pre = emb.preprocess
        self.transform = open_clip.image_transform(
            pre.size, is_train=False, mean=pre.mean, std=pre.std,
            resize_mode=pre.resize_mode, interpolation=pre.interpolation,
        )
        with torch.inference_mode():
            text = self.model.encode_text(emb.tokenizer([goal]))
        self.text = torch.nn.functional.normalize(text.float(), dim=-1)[0]

    def embed(self, frames: np.ndarray) -> Any:
        import torch
        from PIL import Image

        out = []
        with torch.inference_mode():
            for frame in frames:
                x = self.transform(Image.fromarray(frame)).unsqueeze(0)
                out.append(self.model.encode_image(x)[0])
        return torch.nn.functional.normalize(torch.stack(out).float(), dim=-1)

    def rewards(self, frames: np.ndarray) -> np.ndarray:
        return (self.embed(frames) @ self.text).numpy().astype(np.float32)


def time_call(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the high-water mark of this process image.
    (``ru_maxrss`` is not used there: it survives ``fork``/``exec``, so a child started by a
    big parent reports at least the parent's size.) Elsewhere: ``ru_maxrss``.
    """
    import resource

    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def system_info() -> dict[str, Any]:
    """What the numbers depend on: CPU, threads, torch build, load, git commit."""
    import torch

    from vlm_reward.device import cpu_has_fast_bf16

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": cpu_has_fast_bf16(),
        "load_average": list(os.getloadavg()),
        "git_commit": commit,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def emit(result: dict[str, Any], out: str | None) -> None:
    """Print ``result`` as JSON on stdout and, if ``out`` is given, write it there atomically."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(path)
