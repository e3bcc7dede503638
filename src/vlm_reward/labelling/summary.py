"""Human verdicts: majority vote per item and the human success rate of a dataset or run.

This is what the paper reports as "success judged by human raters". It is meant to sit next
to automatic metrics (``vlm-reward eval``), so it reads the same files a user passes around:
a dataset folder, a run folder, their ``labels.sqlite`` or an exported labels CSV.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vlm_reward.errors import ConfigError
from vlm_reward.labelling.store import CSV_HEADER, LABELS, STORE_NAME, LabelStore

__all__ = ["human_success_rate", "majority_label", "read_labels", "read_labels_csv"]


def majority_label(labels: Iterable[str]) -> str | None:
    """The label given by strictly more raters than any other, or None on a tie.

    "unsure" can win the vote; such items, like ties, count as undecided.
    """
    counts = Counter(labels).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def read_labels_csv(path: str | Path) -> dict[int, dict[str, str]]:
    """``{index: {rater: label}}`` from a CSV with the contract header."""
    path = Path(path)
    result: dict[int, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != CSV_HEADER:
            raise ConfigError(
                f"{path} must start with the header {','.join(CSV_HEADER)}; export labels with "
                "`vlm-reward label DATA --export labels.csv`."
            )
        for line, row in enumerate(reader, start=2):
            if row["label"] not in LABELS:
                raise ConfigError(f"{path} line {line}: label must be one of {LABELS}.")
            try:
                index = int(row["index"])
            except ValueError as exc:
                raise ConfigError(f"{path} line {line}: index must be an integer.") from exc
            result.setdefault(index, {})[row["rater"]] = row["label"]
    return result


def _store_path(path: Path) -> Path:
    if path.is_dir():
        return path / STORE_NAME
    return path


def read_labels(path: str | Path, unit: str | None = None) -> tuple[str, dict[int, dict[str, str]]]:
    """Labels of a dataset/run folder, a ``labels.sqlite`` or a labels CSV.

    Args:
        path: folder, database or CSV.
        unit: ``frame``, ``episode`` or ``video`` (databases only; a CSV holds one unit).
            By default the database's only unit, preferring whole episodes / videos over
            single frames when both were labelled.

    Returns:
        ``(unit, {index: {rater: label}})``; unit is ``"csv"`` for a CSV file.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError(f"{path} does not exist; pass a dataset or run folder or a labels file.")
    if path.is_file() and path.suffix.lower() == ".csv":
        return "csv", read_labels_csv(path)
    store_path = _store_path(path)
    if not store_path.is_file():
        raise ConfigError(
            f"no human labels at {store_path}; label the data first with "
            f"`vlm-reward label {path}`."
        )
    store = LabelStore(store_path)
    units = store.units()
    if unit is None:
        preferred = [u for u in ("video", "episode", "frame") if u in units]
        unit = preferred[0] if preferred else "frame"
    elif unit not in ("frame", "episode", "video"):
        raise ConfigError(f"unit must be frame, episode or video, got {unit!r}.")
    result: dict[int, dict[str, str]] = {}
    for row in store.rows(unit):
        result.setdefault(row.index, {})[row.rater] = row.label
    return unit, result


def human_success_rate(path: str | Path, unit: str | None = None) -> dict[str, Any]:
    """Success rate by human label (majority vote of the raters of each item).

    Args:
        path: a dataset folder, a run folder, a ``labels.sqlite`` or an exported labels CSV.
        unit: which labels to use when a database holds several (see :func:`read_labels`).

    Returns:
        ``unit``, ``raters``, ``n_labelled`` (items with at least one label), ``n_success``,
        ``n_failure``, ``n_undecided`` (ties or an "unsure" majority) and ``success_rate`` =
        ``n_success / (n_success + n_failure)`` (None if no item was decided), plus
        ``verdicts`` ``{index: "success" | "failure" | None}``.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> store = LabelStore(folder / "labels.sqlite")
        >>> for rater, label in [("ann", "success"), ("bob", "success"), ("cy", "failure")]:
        ...     _ = store.set_label("video", 0, "a.mp4", rater, label)
        >>> _ = store.set_label("video", 1, "b.mp4", "ann", "failure")
        >>> human_success_rate(folder)["success_rate"]
        0.5
    """
    unit_name, labels = read_labels(path, unit)
    verdicts: dict[int, str | None] = {}
    raters: set[str] = set()
    for index, by_rater in sorted(labels.items()):
        raters.update(by_rater)
        vote = majority_label(by_rater.values())
        verdicts[index] = vote if vote in ("success", "failure") else None
    n_success = sum(v == "success" for v in verdicts.values())
    n_failure = sum(v == "failure" for v in verdicts.values())
    decided = n_success + n_failure
    return {
        "unit": unit_name,
        "raters": sorted(raters),
        "n_labelled": len(verdicts),
        "n_success": n_success,
        "n_failure": n_failure,
        "n_undecided": len(verdicts) - decided,
        "success_rate": n_success / decided if decided else None,
        "verdicts": verdicts,
    }
