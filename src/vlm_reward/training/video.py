"""Evaluation videos with the reward drawn on each frame, written with imageio."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["annotate_frames", "write_video"]


def annotate_frames(
    frames: np.ndarray, rewards: Sequence[float], label: str = "VLM reward"
) -> np.ndarray:
    """Draw ``label: value`` and a bar (reward scaled over the episode's range) on each frame.

    Frames are padded to even sizes, which H.264 requires.
    """
    from PIL import Image, ImageDraw

    frames = np.asarray(frames)
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
