"""Shared pieces of the benchmarks: frames, models, the naive baseline, timing, output.

The naive baseline is what a typical Gym reward wrapper does: for every frame, a PIL resize and
centre crop, ``ToTensor`` and ``Normalize`` (open_clip's own eval transform), then one fp32
forward pass per frame. Ours is :class:`vlm_reward.reward.RewardModel` on a batch of uint8
frames with the fast-path switches of :mod:`vlm_reward.models.acceleration`.
"""

from __future__ import annotations

import contextlib
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
    "Ceiling",
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

    with contextlib.suppress(ImportError):
        import vlm_reward.envs  # noqa: F401  (registers the paper's env variants)
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


def synthetic_frames(n: int, height: int = 400, width: int = 600, seed: int = 0,
                     env_id: str = "CartPole-v1") -> np.ndarray:
    """``n`` frames of ``env_id`` made by tiling a few rendered ones (rendering costs time)."""
    base = cartpole_frames(min(n, 16), seed=seed, width=width, height=height, env_id=env_id)
    reps = -(-n // len(base))
    return np.concatenate([base] * reps)[:n].copy()


def build_reward_model(
    spec: str,
    *,
    precision: str = "auto",
    fast_path: Any = None,
    batch_size: int | None = None,
    goal: str = GOAL,
    seed: int = 0,
    device: str = "cpu",
) -> Any:
    """Load ``spec`` through the public loader with ``fast_path``, build the reward.

    The defaults (``precision="auto"``, ``fast_path=None``, ``batch_size=None``) are exactly
    what a user gets from ``load_model`` without options. ``ARCH/random`` weights come from a
    fixed seed, so every configuration of a benchmark holds the same weights.
    """
    import torch

    from vlm_reward import load_model
    from vlm_reward.reward import RewardModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the random-weights warning: expected in benchmarks
        torch.manual_seed(seed)
        emb = load_model(spec, device=device, precision=precision, batch_size=batch_size,
                         fast_path=fast_path)
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
        from vlm_reward.models.acceleration import FastPath

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(seed)  # same random weights as build_reward_model(seed=seed)
            emb = load_model(spec, device="cpu", precision="fp32", fast_path=FastPath.off())
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


def emit(result: dict[str, Any], out: str | None, quiet: bool = False) -> None:
    """Print ``result`` as JSON on stdout (unless ``quiet``: partial results of a long run)
    and, if ``out`` is given, write it there atomically.

    Records the command line that produced it (``command``), so every table generated from
    the JSON can say how to reproduce its figures.
    """
    if "benchmark" in result or "suite" in result:
        name = result.get("benchmark", "run_all")
        result.setdefault("command", " ".join(["python -m", f"benchmarks.{name}", *sys.argv[1:]]))
    text = json.dumps(result, indent=2)
    if not quiet:
        print(text)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(path)


class Ceiling:
    """Frames/s an image tower would reach if it ran entirely at this run's matmul speed.

    ``gflops_per_frame`` comes from :func:`benchmarks.compute_limit.image_tower_gflops`; the
    matmul rate is re-measured by :meth:`sample` inside every timing round of a benchmark, so
    the ceiling and the throughput it is compared with see the same machine load.
    """

    def __init__(self, arch: str, dtype: Any) -> None:
        from benchmarks.compute_limit import image_tower_gflops

        self.arch = arch
        self.dtype = dtype
        self.gflops_per_frame = image_tower_gflops(arch)
        self.samples: list[float] = []

    def sample(self, n: int = 2048, repeats: int = 4) -> float:
        """GFLOP/s of ``repeats`` back-to-back matmuls in the compute dtype (after a warm-up).

        The mean over a stretch of work rather than the best single call: the throughput it
        is compared with is also a mean over a stretch, so both see the same share of a
        loaded machine.
        """
        import torch

        a = torch.randn(n, n).to(self.dtype)
        b = torch.randn(n, n).to(self.dtype)
        a @ b
        seconds = time_call(lambda: [a @ b for _ in range(repeats)])
        rate = 2 * n**3 * repeats / seconds / 1e9
        self.samples.append(rate)
        return rate

    @property
    def matmul_gflops(self) -> float:
        return median(self.samples) if self.samples else self.sample()

    @property
    def frames_per_s(self) -> float:
        return self.matmul_gflops / self.gflops_per_frame

    def percent(self, frames_per_s: float) -> float:
        return 100.0 * frames_per_s / self.frames_per_s

    def as_dict(self) -> dict[str, Any]:
        return {"dtype": str(self.dtype).removeprefix("torch."),
                "image_tower_gflops_per_frame": self.gflops_per_frame,
                "matmul_gflops": self.matmul_gflops, "matmul_gflops_samples": self.samples,
                "frames_per_s": self.frames_per_s}
