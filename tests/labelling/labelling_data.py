"""Datasets and run folders written per the contract (the collector is built elsewhere)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

__all__ = ["TASK", "write_dataset", "write_run"]

TASK = "pole vertically upright on top of the cart"


def write_dataset(
    root: Path, episodes: list[int], *, height: int = 24, width: int = 32, task: str | None = TASK
) -> Path:
    """Write ``dataset.json`` + ``frames.npy`` + ``table.csv``; ``episodes[e]`` = frames of e.

    Frame ``i`` has red channel ``i`` so tests can tell frames apart after PNG round trips.
    """
    root.mkdir(parents=True, exist_ok=True)
    n = sum(episodes)
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    frames[..., 0] = np.arange(n, dtype=np.uint8)[:, None, None]
    frames[..., 1] = 90
    np.save(root / "frames.npy", frames)
    with (root / "table.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "episode", "step", "env_reward", "success", "state_x"])
        index = 0
        for episode, length in enumerate(episodes):
            for step in range(length):
                writer.writerow([index, episode, step, 1.0, "", 0.01 * index])
                index += 1
    meta = {
        "format": "vlm-reward-dataset", "version": 1, "env_id": "vlm_reward/CartPole-v0",
        "task": task, "n_frames": n, "frame_shape": [height, width, 3], "policy": "random",
        "created_by": "tests",
    }
    (root / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    return root


def write_run(root: Path, n_videos: int, goal: str | list[str] | None = "a humanoid kneeling"
              ) -> Path:
    """A run folder with ``n_videos`` real H.264 mp4 files and a config.yaml."""
    import imageio.v2 as imageio
    import yaml

    (root / "videos").mkdir(parents=True, exist_ok=True)
    if goal is not None:
        (root / "config.yaml").write_text(yaml.safe_dump({"reward": {"goal": goal}}))
    for v in range(n_videos):
        writer = imageio.get_writer(root / "videos" / f"eval_{v:03d}.mp4", fps=10,
                                    codec="libx264", macro_block_size=16)
        for t in range(6):
            frame = np.zeros((32, 48, 3), dtype=np.uint8)
            frame[:, t * 8:(t + 1) * 8] = 255
            writer.append_data(frame)
        writer.close()
    return root
