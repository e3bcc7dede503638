"""Checkpoints of a run: SB3 model zips, the off-policy replay buffer, and a pointer file.

``checkpoints/latest.json`` names the newest model and buffer; it is written last (temp file +
rename), so a crash while saving leaves the previous checkpoint usable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vlm_reward.atomic import atomic_write_json
from vlm_reward.errors import CheckpointError

__all__ = ["holds_run", "latest_checkpoint", "save_checkpoint"]

LATEST = "latest.json"


def holds_run(run_dir: Path) -> bool:
    """True if ``run_dir`` has a config and a checkpoint: a run to resume, not to overwrite.

    A folder whose run failed before its first checkpoint does not count and may be reused.
    """
    run_dir = Path(run_dir)
    return (run_dir / "config.yaml").exists() and (run_dir / "checkpoints" / LATEST).exists()


def save_checkpoint(model: Any, run_dir: Path, save_replay_buffer: bool = True) -> Path:
    """Save ``model`` (and its replay buffer) under ``run_dir/checkpoints``; returns the zip."""
    folder = run_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    steps = int(model.num_timesteps)
    zip_path = folder / f"model_{steps}.zip"
    tmp = folder / f".model_{steps}.zip.tmp"
    model.save(tmp)
    os.replace(tmp, zip_path)
    info: dict[str, Any] = {"num_timesteps": steps, "model": zip_path.name, "replay_buffer": None}
    if save_replay_buffer and getattr(model, "replay_buffer", None) is not None:
        buf_path = folder / "replay_buffer.pkl"
        tmp_buf = folder / ".replay_buffer.pkl.tmp"
        model.save_replay_buffer(tmp_buf)
        os.replace(tmp_buf, buf_path)
        info["replay_buffer"] = buf_path.name
    atomic_write_json(folder / LATEST, info)
    return zip_path


def latest_checkpoint(run_dir: Path) -> dict[str, Any]:
    """``{"num_timesteps", "model": Path, "replay_buffer": Path | None}`` of the newest save."""
    folder = Path(run_dir) / "checkpoints"
    pointer = folder / LATEST
    if not pointer.is_file():
        raise CheckpointError(
            f"{run_dir}: no checkpoint found (missing {pointer}); was the run started with "
            "`vlm-reward train` and did it reach its first checkpoint?"
        )
    try:
        info = json.loads(pointer.read_text())
        model = folder / info["model"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{pointer}: unreadable checkpoint pointer ({exc})") from None
    if not model.is_file():
        raise CheckpointError(f"{pointer} names {model.name}, which does not exist")
    buf = info.get("replay_buffer")
    return {
        "num_timesteps": int(info["num_timesteps"]),
        "model": model,
        "replay_buffer": folder / buf if buf else None,
    }
