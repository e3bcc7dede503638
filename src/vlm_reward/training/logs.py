"""The SB3 logger of a run: ``tb/progress.csv`` and TensorBoard, both continued on resume.

SB3's own CSV writer opens ``progress.csv`` with ``"w"``, so a resumed run would erase every row
logged before. :class:`ProgressCSV` instead keeps the rows up to the step the run resumes
from, drops those after it (steps a crash lost and the run trains again, so ``time/
total_timesteps`` stays increasing), and appends. TensorBoard gets a new event file in the
same folder with ``purge_step`` set, which hides the lost steps' events in TensorBoard.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.logger import KVWriter, Logger, TensorBoardOutputFormat

from vlm_reward.atomic import atomic_write_text
from vlm_reward.run_dir import RunDir

__all__ = ["STEP_KEY", "ProgressCSV", "run_logger"]

STEP_KEY = "time/total_timesteps"
"""Every row carries its step under SB3's own key (evaluation rows included)."""


def _row_step(row: dict[str, str]) -> float | None:
    try:
        return float(row.get(STEP_KEY) or "nan")
    except ValueError:
        return None


def _csv_text(keys: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class ProgressCSV(KVWriter):
    """``progress.csv`` continued across segments; new keys rewrite the file atomically.

    Args:
        path: the CSV file.
        keep_until: keep existing rows logged at or before this step and drop later ones;
            None starts a new file.
    """

    def __init__(self, path: str | Path, keep_until: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keys: list[str] = []
        rows: list[dict[str, str]] = []
        if keep_until is not None and self.path.is_file():
            text = self.path.read_text(encoding="utf-8", errors="replace")
            if text and not text.endswith("\n"):  # a row cut off by a kill
                text = text[: text.rfind("\n") + 1]
            reader = csv.DictReader(io.StringIO(text))
            self.keys = list(reader.fieldnames or [])
            for row in reader:
                step = _row_step(row)
                if None in row or (step is not None and step > keep_until):
                    continue  # malformed, or logged after the checkpoint resumed from
                rows.append(row)
        atomic_write_text(self.path, _csv_text(self.keys, rows) if self.keys else "")
        self.file = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0
    ) -> None:
        row = {
            key: value for key, value in key_values.items()
            if "csv" not in (key_excluded.get(key) or ())
            and isinstance(value, (bool, int, float, str, np.generic))
        }
        row.setdefault(STEP_KEY, step)
        new = [key for key in row if key not in self.keys]
        if new:  # rewrite with the wider header; the old file stays intact until the rename
            self.file.close()
            with open(self.path, encoding="utf-8", newline="") as fh:
                old = list(csv.DictReader(fh))
            self.keys += new
            atomic_write_text(self.path, _csv_text(self.keys, old), newline="")
            self.file = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        csv.DictWriter(self.file, fieldnames=self.keys, extrasaction="ignore",
                       lineterminator="\n").writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class _TensorBoard(TensorBoardOutputFormat):
    """SB3's TensorBoard writer with ``purge_step``: events after it are hidden."""

    def __init__(self, folder: str, purge_step: int | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=folder, purge_step=purge_step)
        self._is_closed = False


def run_logger(run: RunDir, resumed_from: int | None) -> Logger:
    """The logger of a run segment; ``resumed_from`` is the step of the checkpoint loaded."""
    outputs: list[KVWriter] = [
        ProgressCSV(run.progress_csv, resumed_from),
        _TensorBoard(str(run.tb), None if resumed_from is None else resumed_from + 1),
    ]
    return Logger(str(run.tb), outputs)
