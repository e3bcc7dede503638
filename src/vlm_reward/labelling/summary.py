"""Human verdicts: the human success rate of a dataset or run.

This is what the paper reports as "success judged by human raters". It is meant to sit next
to automatic metrics (``vlm-reward eval``), so it reads the same files a user passes around
(a dataset folder, a run folder, their ``labels.sqlite`` or an exported labels CSV) and uses
the same voting rule, :func:`vlm_reward.evaluation.labels.verdict`: ``unsure`` abstains,
the majority of success/failure votes decides, a tie is undecided.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.labels import (
    LABELS_SQLITE_FILE,
    LabelStore,
    answers_by_item,
    read_labels_csv,
    verdict,
)

__all__ = ["human_success_rate", "read_labels"]


def read_labels(path: str | Path, unit: str | None = None) -> tuple[str, dict[int, dict[str, str]]]:
    """Labels of a dataset/run folder, a ``labels.sqlite`` or a labels CSV.

    Args:
        path: folder, database or CSV.
        unit: ``frame``, ``episode`` or ``video`` (databases only; a CSV holds one unit).
            By default the database's only unit, preferring whole episodes / videos over
            single frames when both were labelled.

    Returns:
        ``(unit, {index: {rater: label}})`` with one (the latest) answer per rater and item;
        unit is ``"csv"`` for a CSV file.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError(f"{path} does not exist; pass a dataset or run folder or a labels file.")
    if path.is_file() and path.suffix.lower() == ".csv":
        return "csv", answers_by_item(read_labels_csv(path))
    store_path = path / LABELS_SQLITE_FILE if path.is_dir() else path
    if not store_path.is_file():
        raise ConfigError(
            f"no human labels at {store_path}; label the data first with "
            f"`vlm-reward label {path}`."
        )
    store = LabelStore(store_path)
    if unit is None:
        units = store.units()
        preferred = [u for u in ("video", "episode", "frame") if u in units]
        unit = preferred[0] if preferred else "frame"
    elif unit not in ("frame", "episode", "video"):
        raise ConfigError(f"unit must be frame, episode or video, got {unit!r}.")
    return unit, answers_by_item(store.rows(unit))


def human_success_rate(path: str | Path, unit: str | None = None) -> dict[str, Any]:
    """Success rate by human verdict (:func:`~vlm_reward.evaluation.labels.verdict` per item).

    Args:
        path: a dataset folder, a run folder, a ``labels.sqlite`` or an exported labels CSV.
        unit: which labels to use when a database holds several (see :func:`read_labels`).

    Returns:
        ``unit``, ``raters``, ``n_labelled`` (items with at least one label), ``n_success``,
        ``n_failure``, ``n_undecided`` (ties, or only "unsure" votes) and ``success_rate`` =
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
    verdicts = {index: verdict(by_rater.values()) for index, by_rater in labels.items()}
    raters = {rater for by_rater in labels.values() for rater in by_rater}
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
