"""Datasets of states on disk: frames, a per-frame table, metadata and (imported) human labels.

The format is a contract shared with the web app of ``vlm-reward label`` (see
``/docs/evaluation.md``)::

    DATASET/
      dataset.json       {"format": "vlm-reward-dataset", "version": 1, "env_id", "task",
                          "n_frames", "frame_shape": [H, W, 3], "policy", "created_by"}
      frames.npy         uint8 (N, H, W, 3), read memory-mapped
      table.csv          index, episode, step, env_reward, success (1/0/empty), state_<name>...
      human_labels.csv   imported human labels: index, rater, label, timestamp
      labels.sqlite      written by ``vlm-reward label`` (see :mod:`vlm_reward.evaluation.labels`)
      cache/             embedding cache (see :mod:`vlm_reward.evaluation.cache`)

A dataset is written into a temporary folder next to its destination and renamed into place
when complete, so a crash never leaves a half-written dataset that other commands would read.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.atomic import atomic_write_text
from vlm_reward.evaluation.errors import DatasetError
from vlm_reward.evaluation.labels import (
    LABELS_SQLITE_FILE,
    LabelRow,
    LabelStore,
    answers_by_item,
    labels_csv_text,
    latest_answers,
    read_labels_csv,
    verdict,
)

__all__ = [
    "DATASET_FORMAT",
    "DATASET_VERSION",
    "HUMAN_LABELS_FILE",
    "DatasetWriter",
    "HumanLabels",
    "StateDataset",
    "aggregate_labels",
    "import_labels",
    "load_dataset",
]

DATASET_FORMAT = "vlm-reward-dataset"
DATASET_VERSION = 1
HUMAN_LABELS_FILE = "human_labels.csv"
_BASE_COLUMNS = ("index", "episode", "step", "env_reward", "success")


def _package_version() -> str:
    """The installed vlm-reward version, read from package metadata.

    Read this way rather than from the top-level package, which sits above this layer.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vlm-reward")
    except PackageNotFoundError:
        return "unknown"


def _fmt_float(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))


def _fmt_success(value: bool | float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return "1" if bool(value) else "0"


class DatasetWriter:
    """Builds a dataset frame by frame without holding all frames in memory.

    Frames stream to a raw file inside a hidden temporary folder next to ``path``; :meth:`close`
    turns it into ``frames.npy``, writes the table and metadata, then renames the folder into
    place. Use it as a context manager: an exception discards the temporary folder.

    Args:
        path: destination folder; must not exist unless ``overwrite``.
        env_id: Gymnasium id of the environment the frames come from.
        state_names: names of the state variables (columns ``state_<name>``).
        policy: how the frames were produced (``random``, ``scripted``, ``sb3:...``, ``sweep:..``).
        task: optional task sentence the dataset is meant for.
        overwrite: replace an existing dataset (its cache and labels go with it).
        extra_meta: more keys for ``dataset.json`` (kept alongside the contract keys).

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "ds"
        >>> with DatasetWriter(out, env_id="CartPole-v1", state_names=("x",)) as w:
        ...     w.add(np.zeros((4, 4, 3), np.uint8), episode=0, step=0, state=[0.5])
        >>> len(load_dataset(out))
        1
    """

    def __init__(
        self,
        path: str | Path,
        *,
        env_id: str,
        state_names: Sequence[str],
        policy: str = "unknown",
        task: str | None = None,
        overwrite: bool = False,
        extra_meta: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise DatasetError(
                f"dataset: {self.path} already exists; choose another folder or pass "
                "--overwrite to replace it"
            )
        if self.path.exists() and not self.path.is_dir():
            raise DatasetError(f"dataset: {self.path} exists and is not a folder")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.env_id = env_id
        self.state_names = tuple(state_names)
        self.policy = policy
        self.task = task
        self.overwrite = overwrite
        self.extra_meta = dict(extra_meta or {})
        self._tmp = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}."))
        self._raw = open(self._tmp / "frames.raw", "wb")  # noqa: SIM115 - closed in close()
        self._rows: list[dict[str, str]] = []
        self._shape: tuple[int, ...] | None = None
        self._closed = False

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self,
        frame: np.ndarray,
        *,
        episode: int,
        step: int,
        state: Sequence[float] | np.ndarray,
        env_reward: float | None = None,
        success: bool | None = None,
    ) -> None:
        """Append one frame and its table row."""
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
            raise DatasetError(
                f"frame: expected uint8 (H, W, 3), got {frame.dtype} {tuple(frame.shape)}"
            )
        if self._shape is None:
            self._shape = tuple(frame.shape)
        elif tuple(frame.shape) != self._shape:
            raise DatasetError(
                f"frame: every frame must have shape {self._shape}, got {tuple(frame.shape)}"
            )
        state = np.asarray(state, dtype=np.float64).reshape(-1)
        if state.shape[0] != len(self.state_names):
            raise DatasetError(
                f"state: expected {len(self.state_names)} values ({', '.join(self.state_names)}),"
                f" got {state.shape[0]}"
            )
        self._raw.write(np.ascontiguousarray(frame).tobytes())
        row = {
            "index": str(len(self._rows)),
            "episode": str(int(episode)),
            "step": str(int(step)),
            "env_reward": _fmt_float(env_reward),
            "success": _fmt_success(success),
        }
        for name, value in zip(self.state_names, state, strict=True):
            row[f"state_{name}"] = repr(float(value))
        self._rows.append(row)

    def discard(self) -> None:
        """Drop everything written so far."""
        if not self._raw.closed:
            self._raw.close()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._closed = True

    def close(self) -> Path:
        """Finish the dataset and move it into place; returns its path."""
        if self._closed:
            return self.path
        self._raw.close()
        try:
            if not self._rows or self._shape is None:
                raise DatasetError("dataset: no frames were added; nothing to save")
            n = len(self._rows)
            raw = np.memmap(self._tmp / "frames.raw", dtype=np.uint8, mode="r",
                            shape=(n, *self._shape))
            out = np.lib.format.open_memmap(self._tmp / "frames.npy", mode="w+", dtype=np.uint8,
                                            shape=(n, *self._shape))
            for start in range(0, n, 256):
                out[start : start + 256] = raw[start : start + 256]
            out.flush()
            del out, raw
            (self._tmp / "frames.raw").unlink()
            columns = [*_BASE_COLUMNS, *(f"state_{s}" for s in self.state_names)]
            with open(self._tmp / "table.csv", "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                writer.writerows(self._rows)
            meta = {
                "format": DATASET_FORMAT,
                "version": DATASET_VERSION,
                "env_id": self.env_id,
                "task": self.task,
                "n_frames": n,
                "frame_shape": list(self._shape),
                "policy": self.policy,
                "created_by": f"vlm-reward {_package_version()}",
                **self.extra_meta,
            }
            (self._tmp / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n")
            old = None
            if self.path.exists():
                old = self.path.with_name(f".{self.path.name}.old-{os.getpid()}")
                os.replace(self.path, old)
            os.replace(self._tmp, self.path)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        self._closed = True
        return self.path


@dataclass
class HumanLabels:
    """Human labels of a dataset, one verdict per frame by :func:`~.labels.verdict`.

    Attributes:
        index: frames with a verdict (undecided frames - ties, only ``unsure`` - left out).
        label: 1 for success, 0 for failure, aligned with ``index``.
        n_votes: number of success/failure votes per labelled frame.
        n_raw: number of answers (one per rater and frame, ``unsure`` included).
        raters: distinct rater names.
    """

    index: np.ndarray
    label: np.ndarray
    n_votes: np.ndarray
    n_raw: int
    raters: tuple[str, ...]


@dataclass
class StateDataset:
    """A dataset loaded from disk; frames stay memory-mapped.

    Attributes:
        root: the dataset folder.
        meta: contents of ``dataset.json``.
        frames: uint8 ``(N, H, W, 3)`` memory map.
        episode, step: per-frame episode number and step within it.
        env_reward: ground-truth reward per frame (NaN where unknown).
        success: 1.0 / 0.0 success flag per frame (NaN where unknown).
        states: state variable name -> ``(N,)`` values.
    """

    root: Path
    meta: dict[str, Any]
    frames: np.ndarray
    episode: np.ndarray
    step: np.ndarray
    env_reward: np.ndarray
    success: np.ndarray
    states: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def env_id(self) -> str:
        return str(self.meta.get("env_id", "unknown"))

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(self.states)

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def labels_path(self) -> Path:
        return self.root / HUMAN_LABELS_FILE

    @property
    def sqlite_path(self) -> Path:
        return self.root / LABELS_SQLITE_FILE

    def _sqlite_rows(self) -> list[LabelRow]:
        if not self.sqlite_path.is_file():
            return []
        rows = LabelStore(self.sqlite_path).rows("frame")
        for row in rows:
            if not 0 <= row.index < len(self):
                raise DatasetError(
                    f"labels: {self.sqlite_path} labels frame {row.index}, outside the "
                    f"dataset's {len(self)} frames; was the dataset re-collected?"
                )
        return rows

    def has_human_labels(self) -> bool:
        """True if labels were imported (CSV) or ``vlm-reward label`` stored frame labels here."""
        return self.labels_path.is_file() or bool(self._sqlite_rows())

    def human_labels(self) -> HumanLabels:
        """Human labels aggregated per frame (see :class:`HumanLabels`).

        Imported labels (``human_labels.csv``) win; without them, the frame labels the
        ``vlm-reward label`` app stored in ``labels.sqlite`` next to the data are read directly.
        Episode (clip) labels judge whole episodes, not states, and are not used.
        """
        if self.labels_path.is_file():
            return aggregate_labels(read_labels_csv(self.labels_path, n_frames=len(self)))
        rows = self._sqlite_rows()
        if not rows:
            raise DatasetError(
                f"dataset {self.root}: has no human labels; label frames with "
                "`vlm-reward label` or import a CSV with "
                "`vlm-reward eval import-labels DATASET labels.csv`"
            )
        return aggregate_labels(rows)


def aggregate_labels(rows: Iterable[LabelRow]) -> HumanLabels:
    """Frame verdicts of the latest answers, by the one voting rule (:func:`~.labels.verdict`)."""
    by_item = answers_by_item(rows)
    index, label, n_votes = [], [], []
    raters: set[str] = set()
    n_raw = 0
    for idx, by_rater in by_item.items():
        raters.update(by_rater)
        n_raw += len(by_rater)
        vote = verdict(by_rater.values())
        if vote is None:
            continue
        index.append(idx)
        label.append(1 if vote == "success" else 0)
        n_votes.append(sum(v != "unsure" for v in by_rater.values()))
    return HumanLabels(
        index=np.asarray(index, dtype=np.int64),
        label=np.asarray(label, dtype=np.int64),
        n_votes=np.asarray(n_votes, dtype=np.int64),
        n_raw=n_raw,
        raters=tuple(sorted(raters)),
    )


def _parse_optional_float(text: str, what: str, path: Path, line: int) -> float:
    text = text.strip()
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise DatasetError(
            f"{path}:{line}: column {what}: expected a number, got {text!r}"
        ) from None


def load_dataset(path: str | Path) -> StateDataset:
    """Open a dataset folder written by :class:`DatasetWriter` (or anything in the format)."""
    root = Path(path)
    if not root.exists():
        raise DatasetError(
            f"dataset: {root} does not exist; create one with `vlm-reward eval collect {root} "
            "--env ENV_ID`"
        )
    meta_path = root / "dataset.json"
    if not meta_path.is_file():
        raise DatasetError(
            f"dataset: {root} has no dataset.json, so it is not a vlm-reward dataset; "
            "create one with `vlm-reward eval collect`"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except OSError as exc:
        raise DatasetError(f"dataset: cannot read {meta_path} ({exc})") from None
    except ValueError as exc:  # invalid JSON, or bytes that are not text
        raise DatasetError(f"dataset: {meta_path} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != DATASET_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise DatasetError(
            f"dataset: {meta_path} has format {found!r}, expected {DATASET_FORMAT!r}"
        )
    if meta.get("version") != DATASET_VERSION:
        raise DatasetError(
            f"dataset: {meta_path} has version {meta.get('version')!r}; this vlm-reward reads "
            f"version {DATASET_VERSION}"
        )
    frames_path = root / "frames.npy"
    if not frames_path.is_file():
        raise DatasetError(f"dataset: {frames_path} is missing; the dataset is incomplete")
    try:
        frames = np.load(frames_path, mmap_mode="r")
    except (ValueError, OSError) as exc:
        raise DatasetError(f"dataset: cannot read {frames_path} ({exc})") from None
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise DatasetError(
            f"dataset: {frames_path} must hold uint8 (N, H, W, 3) frames, got {frames.dtype} "
            f"{tuple(frames.shape)}"
        )
    n = int(frames.shape[0])
    if meta.get("n_frames") not in (None, n):
        raise DatasetError(
            f"dataset: dataset.json says n_frames={meta.get('n_frames')} but frames.npy has {n}"
        )
    table_path = root / "table.csv"
    if not table_path.is_file():
        raise DatasetError(f"dataset: {table_path} is missing; the dataset is incomplete")
    with open(table_path, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in _BASE_COLUMNS if c not in header]
        if missing:
            raise DatasetError(f"dataset: {table_path} lacks column(s) {', '.join(missing)}")
        names = [c.removeprefix("state_") for c in header if c.startswith("state_")]
        rows = list(reader)
    if len(rows) != n:
        raise DatasetError(f"dataset: {table_path} has {len(rows)} rows but {n} frames")
    episode = np.empty(n, np.int64)
    step = np.empty(n, np.int64)
    env_reward = np.empty(n, np.float64)
    success = np.empty(n, np.float64)
    states = {name: np.empty(n, np.float64) for name in names}
    for i, row in enumerate(rows):
        line = i + 2
        if row["index"].strip() != str(i):
            raise DatasetError(
                f"{table_path}:{line}: index must count 0..N-1 in order, got {row['index']!r}"
            )
        try:
            episode[i] = int(row["episode"])
            step[i] = int(row["step"])
        except ValueError:
            raise DatasetError(f"{table_path}:{line}: episode and step must be integers") from None
        env_reward[i] = _parse_optional_float(row["env_reward"], "env_reward", table_path, line)
        flag = row["success"].strip()
        if flag not in ("", "0", "1"):
            raise DatasetError(f"{table_path}:{line}: success must be 1, 0 or empty, got {flag!r}")
        success[i] = math.nan if flag == "" else float(flag)
        for name in names:
            states[name][i] = _parse_optional_float(row[f"state_{name}"], f"state_{name}",
                                                    table_path, line)
    return StateDataset(root, meta, frames, episode, step, env_reward, success, states)


def import_labels(dataset: StateDataset | str | Path, csv_path: str | Path, *,
                  append: bool = False) -> HumanLabels:
    """Validate a labels CSV against a dataset and store it as ``human_labels.csv`` in it.

    With ``append``, rows are merged with previously imported ones; otherwise they replace
    them. Either way one answer per rater and frame is kept, the latest
    (:func:`~.labels.latest_answers`), so a rater who changed an answer counts once.
    Returns the aggregated labels.
    """
    ds = dataset if isinstance(dataset, StateDataset) else load_dataset(dataset)
    rows = read_labels_csv(csv_path, n_frames=len(ds))
    if append and ds.labels_path.is_file():
        rows = latest_answers([*read_labels_csv(ds.labels_path, n_frames=len(ds)), *rows])
    atomic_write_text(ds.labels_path, labels_csv_text(rows), newline="")
    return aggregate_labels(rows)
