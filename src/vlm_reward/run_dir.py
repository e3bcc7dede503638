"""The run folder: the one place that knows where a training run keeps what.

Layout (training writes it, evaluation, labelling and the demo read it, all through
:class:`RunDir`)::

    RUN_DIR/config.yaml                 resolved config
    RUN_DIR/tb/                         TensorBoard events + progress.csv (appended on resume)
    RUN_DIR/checkpoints/model_<N>.zip   SB3 model after N env steps (one per checkpoint)
    RUN_DIR/checkpoints/replay_buffer_<N>.pkl   off-policy buffer (newest two checkpoints)
    RUN_DIR/checkpoints/state_<N>.json  run statistics at N steps (results cover all segments)
    RUN_DIR/checkpoints/learned_<N>.pt  reward.learned runs: the learned reward and its labels
    RUN_DIR/learned_reward.pt           reward.learned runs: the final learned reward (scoring)
    RUN_DIR/videos/                     eval_step_<N>.mp4, evaluate_<N>.mp4
    RUN_DIR/results.json                whole-run metrics; ``status`` completed or interrupted
    RUN_DIR/evaluation.json             written by ``vlm-reward evaluate``

A model zip is renamed into place last, after its buffer and state, so every listed checkpoint
was completely written; whether it still *loads* (disk errors, a user's ``cp`` cut short) is for
the loader to find out, newest first.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vlm_reward.atomic import atomic_path, atomic_write_json
from vlm_reward.config import RunConfig, dump_run_config, load_run_config

__all__ = ["Checkpoint", "RunDir"]

_MODEL = re.compile(r"model_(\d+)\.zip")
KEEP_REPLAY_BUFFERS = 2
"""Replay buffers kept (newest checkpoints): one to resume from, one if that one is damaged."""


@dataclass(frozen=True)
class Checkpoint:
    """The files of one checkpoint; ``replay_buffer``/``state`` are None where not on disk."""

    steps: int
    model: Path
    replay_buffer: Path | None
    state: Path | None
    learned: Path | None = None


class RunDir:
    """A training run folder (see the module docstring for the layout).

    Example:
        >>> import tempfile
        >>> run = RunDir(tempfile.mkdtemp())
        >>> run.holds_run(), run.checkpoints()
        (False, [])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def tb(self) -> Path:
        return self.path / "tb"

    @property
    def progress_csv(self) -> Path:
        return self.tb / "progress.csv"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def videos(self) -> Path:
        return self.path / "videos"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    @property
    def evaluation_path(self) -> Path:
        return self.path / "evaluation.json"

    @property
    def learned_reward_path(self) -> Path:
        """The learned reward of a ``reward.learned`` run (written with each checkpoint)."""
        return self.path / "learned_reward.pt"

    def holds_run(self) -> bool:
        """True if the folder has a config and a checkpoint or results: resume it, don't overwrite.

        A folder whose run failed before its first checkpoint does not count and may be reused.
        """
        if not self.config_path.is_file():
            return False
        saved = self.checkpoint_dir.is_dir() and any(self.checkpoint_dir.iterdir())
        return saved or self.results_path.is_file()

    def looks_like_run(self) -> bool:
        """True if the folder has a config or videos (enough for the labelling app)."""
        return self.videos.is_dir() or self.config_path.is_file()

    # config ---------------------------------------------------------------------------------
    def read_config(self) -> RunConfig:
        """The run's validated config (:class:`~vlm_reward.errors.ConfigError` if missing/bad)."""
        return load_run_config(self.config_path)

    def read_config_data(self) -> dict[str, Any] | None:
        """The raw YAML mapping of ``config.yaml``, or None if missing or unreadable.

        For readers that want one field and must not fail on configs of other versions.
        """
        try:
            data = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return None
        return data if isinstance(data, dict) else None

    def write_config(self, cfg: RunConfig) -> Path:
        """Create the folder (if needed) and write the resolved config atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        return dump_run_config(cfg, self.config_path)

    # checkpoints ----------------------------------------------------------------------------
    def checkpoint_files(self, steps: int) -> Checkpoint:
        """Where the checkpoint after ``steps`` steps lives (whether or not it exists)."""
        folder = self.checkpoint_dir
        return Checkpoint(steps, folder / f"model_{steps}.zip",
                          folder / f"replay_buffer_{steps}.pkl", folder / f"state_{steps}.json",
                          folder / f"learned_{steps}.pt")

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint on disk, newest (most steps) first."""
        if not self.checkpoint_dir.is_dir():
            return []
        steps = sorted(
            (int(m.group(1)) for p in self.checkpoint_dir.iterdir()
             if (m := _MODEL.fullmatch(p.name))),
            reverse=True,
        )
        found = []
        for n in steps:
            files = self.checkpoint_files(n)
            buf = files.replay_buffer
            if buf is not None and not buf.is_file():
                legacy = self.checkpoint_dir / "replay_buffer.pkl"  # older layout: newest only
                buf = legacy if n == steps[0] and legacy.is_file() else None
            state = files.state if files.state is not None and files.state.is_file() else None
            learned = files.learned if files.learned is not None and files.learned.is_file() \
                else None
            found.append(Checkpoint(n, files.model, buf, state, learned))
        return found

    def prune_replay_buffers(self, keep: int = KEEP_REPLAY_BUFFERS) -> None:
        """Delete replay buffers and learned-reward label stores except those of the ``keep``
        newest checkpoints (they are big)."""
        newest = self.checkpoints()[:keep]
        kept = {c.replay_buffer for c in newest} | {c.learned for c in newest}
        for pattern in ("replay_buffer*.pkl", "learned_*.pt"):
            for path in self.checkpoint_dir.glob(pattern):
                if path not in kept:
                    path.unlink(missing_ok=True)

    def remove_temp_files(self) -> list[Path]:
        """Delete temp files left by a killed writer (``.NAME.*.tmp``, videos' ``.NAME.tmp.mp4``).

        Returns them.
        """
        stale = [p for folder in (self.path, self.checkpoint_dir, self.tb, self.videos)
                 if folder.is_dir() for p in folder.glob(".*.tmp*")]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def publish_learned(self, checkpoint: Checkpoint) -> Path | None:
        """Make ``checkpoint``'s learned reward the run's :attr:`learned_reward_path`
        (a hard link where the file system allows, else a copy; replaced atomically)."""
        if checkpoint.learned is None:
            return None
        with atomic_path(self.learned_reward_path) as tmp:
            tmp.unlink()
            try:
                os.link(checkpoint.learned, tmp)
            except OSError:  # no hard links here (another device, some network file systems)
                shutil.copyfile(checkpoint.learned, tmp)
        return self.learned_reward_path

    # results --------------------------------------------------------------------------------
    def read_results(self) -> dict[str, Any] | None:
        """``results.json`` as a dict, or None if there is none (or it cannot be parsed)."""
        try:
            data = json.loads(self.results_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_results(self, results: dict[str, Any]) -> Path:
        return atomic_write_json(self.results_path, results)

    def write_evaluation(self, summary: dict[str, Any]) -> Path:
        return atomic_write_json(self.evaluation_path, summary)

    def relative(self, path: Path) -> str:
        """``path`` relative to the run folder, as stored in results files."""
        return str(Path(path).relative_to(self.path))
