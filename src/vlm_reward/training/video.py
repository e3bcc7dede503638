"""Evaluation videos with the reward drawn on each frame, written with imageio."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["MIN_VIDEO_HEIGHT", "annotate_frames", "write_video"]

MIN_VIDEO_HEIGHT = 240
"""Frames shorter than this are enlarged (whole-pixel nearest neighbour) before annotating, so
that a run on small model-size renders (the demo's 72x48) gives a video a person can watch and
an overlay that fits."""


def annotate_frames(
    frames: np.ndarray, rewards: Sequence[float], label: str = "VLM reward"
) -> np.ndarray:
    """Draw ``label: value`` and a bar (reward scaled over the episode's range) on each frame.

    Frames under :data:`MIN_VIDEO_HEIGHT` pixels are enlarged by a whole factor first; frames
    are padded to even sizes, which H.264 requires.
    """
    from PIL import Image, ImageDraw

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames: expected shape (N, H, W, 3), got {frames.shape}")
    scale = -(-MIN_VIDEO_HEIGHT // frames.shape[1]) if frames.shape[1] else 1
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, _ = frames.shape
    rewards = np.asarray(rewards, np.float64)
    lo, hi = (float(rewards.min()), float(rewards.max())) if len(rewards) else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    out = np.zeros((n, h + h % 2, w + w % 2, 3), np.uint8)
    for i in range(n):
        image = Image.fromarray(frames[i])
        draw = ImageDraw.Draw(image)
        text = f"{label}: {rewards[i]:+.4f}  step {i + 1}" if i < len(rewards) else f"step {i + 1}"
        box_w = min(w, 8 + 6 * len(text))
        draw.rectangle((0, 0, box_w, 14), fill=(0, 0, 0))
        draw.text((3, 2), text, fill=(255, 255, 255))
        if i < len(rewards):
            bar = int((rewards[i] - lo) / span * (w - 4))
            draw.rectangle((2, h - 6, 2 + bar, h - 2), fill=(40, 200, 60))
        out[i, :h, :w] = np.asarray(image)
    return out


def write_video(path: str | Path, frames: np.ndarray, fps: int = 30) -> Path:
    """Write uint8 frames to an mp4 (temp file then rename)."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    imageio.mimwrite(str(tmp), list(frames), fps=fps, macro_block_size=2)
    os.replace(tmp, path)
    return path
