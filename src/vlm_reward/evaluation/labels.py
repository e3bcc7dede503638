"""Human labels: the one contract shared by ``vlm-reward eval`` and ``vlm-reward label``.

A label is one rater's answer for one item: ``success``, ``failure`` or ``unsure``. Answers
live in two forms, both read here and nowhere else:

* ``labels.sqlite`` next to the data, written by ``vlm-reward label`` (:class:`LabelStore`);
* a CSV with the header ``index,rater,label,timestamp`` (:func:`read_labels_csv`), the
  export of ``vlm-reward label`` and what ``vlm-reward eval import-labels`` stores.

**One answer per rater and item.** A rater who changes an answer replaces it: the store keeps
one row per (unit, item, rater) and the CSV reader keeps only the latest row of each
(rater, item) (see :func:`latest_answers`).

**One voting rule** (:func:`verdict`): ``unsure`` is an abstention and does not count; the
verdict is the label of the majority of the decisive (success / failure) votes; a tie, or no
decisive vote at all, is undecided (None).

The store's SQLite file uses WAL mode with ``synchronous=FULL`` and commits every answer in
its own transaction, so an answer the page saw acknowledged survives a crashed server, a
killed process or a closed tab. Every answer ever given is also appended to ``history`` for
auditing. A connection is opened per operation: the web server answers from a thread pool and
SQLite connections must not be shared between threads; opening one costs well under a
millisecond.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vlm_reward.atomic import atomic_write_text
from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.errors import DatasetError

__all__ = [
    "LABELS_SQLITE_FILE",
    "LABEL_HEADER",
    "LABEL_VALUES",
    "RATER_PATTERN",
    "LabelRow",
    "LabelStore",
    "answers_by_item",
    "labels_csv_text",
    "latest_answers",
    "read_labels_csv",
    "validate_rater",
    "verdict",
]

LABELS_SQLITE_FILE = "labels.sqlite"
LABEL_VALUES = ("success", "failure", "unsure")
LABEL_HEADER = ("index", "rater", "label", "timestamp")
# Names are shown in the page and written to CSV: letters, digits, space, dot, dash, underscore.
RATER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._\-]{0,63}$"
_RATER_RE = re.compile(RATER_PATTERN)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    unit      TEXT    NOT NULL,
    item      INTEGER NOT NULL,
    item_key  TEXT    NOT NULL,
    rater     TEXT    NOT NULL,
    label     TEXT    NOT NULL CHECK (label IN ('success', 'failure', 'unsure')),
    timestamp TEXT    NOT NULL,
    PRIMARY KEY (unit, item, rater)
);
CREATE TABLE IF NOT EXISTS history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    unit      TEXT    NOT NULL,
    item      INTEGER NOT NULL,
    item_key  TEXT    NOT NULL,
    rater     TEXT    NOT NULL,
    label     TEXT    NOT NULL,
    timestamp TEXT    NOT NULL
);
"""


def validate_rater(name: str) -> str:
    """Return the stripped rater name, or raise ConfigError explaining the allowed form."""
    stripped = name.strip()
    if not _RATER_RE.match(stripped):
        raise ConfigError(
            f"rater name {name!r} is not allowed: use 1-64 letters, digits, spaces, '.', '-' "
            "or '_', starting with a letter or digit."
        )
    return stripped


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class LabelRow:
    """One rater's answer for one item.

    Attributes:
        unit: ``frame``, ``episode`` or ``video`` (``csv`` for rows read from a CSV).
        index: the item's number (frame index, episode id or video position).
        key: stable text id of the item (``"12"`` or a video file name).
        rater: who answered.
        label: one of :data:`LABEL_VALUES`.
        timestamp: when, as ISO-8601 text (the CSV may hold any text here).
    """

    unit: str
    index: int
    key: str
    rater: str
    label: str
    timestamp: str


def verdict(labels: Iterable[str]) -> str | None:
    """The human verdict on one item from its raters' labels: the one voting rule.

    ``unsure`` is an abstention and does not count. The verdict is ``"success"`` or
    ``"failure"``, whichever has strictly more votes; a tie, or no success/failure vote at
    all, gives None (undecided).

    Example:
        >>> verdict(["unsure", "unsure", "success"])
        'success'
        >>> verdict(["success", "failure", "unsure"]) is None
        True
    """
    counts = Counter(labels)
    success, failure = counts["success"], counts["failure"]
    if success == failure:
        return None
    return "success" if success > failure else "failure"


def _when(timestamp: str) -> datetime | None:
    """An aware datetime for an ISO-8601 timestamp (naive ones read as UTC), else None."""
    text = timestamp.strip()
    if not text:
        return None
    if text[-1] in "Zz":  # Python 3.10's fromisoformat does not read the UTC designator
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def latest_answers(rows: Iterable[LabelRow]) -> list[LabelRow]:
    """One row per (unit, rater, item): the latest answer replaces earlier ones.

    "Latest" is the later timestamp when both rows carry an ISO-8601 one, else the row that
    comes later in ``rows``. The result is ordered by unit, item and rater.

    Example:
        >>> rows = [LabelRow("csv", 0, "0", "ann", "success", "2024-01-01T10:00:00Z"),
        ...         LabelRow("csv", 0, "0", "ann", "failure", "2024-01-02T10:00:00Z")]
        >>> [r.label for r in latest_answers(rows)]
        ['failure']
    """
    kept: dict[tuple[str, int, str], LabelRow] = {}
    for row in rows:
        key = (row.unit, row.index, row.rater)
        old = kept.get(key)
        if old is not None:
            old_when, new_when = _when(old.timestamp), _when(row.timestamp)
            if old_when is not None and new_when is not None and new_when < old_when:
                continue
        kept[key] = row
    return [kept[k] for k in sorted(kept)]


def answers_by_item(rows: Iterable[LabelRow]) -> dict[int, dict[str, str]]:
    """``{index: {rater: label}}`` of the latest answers, items in ascending order."""
    result: dict[int, dict[str, str]] = {}
    for row in latest_answers(rows):
        result.setdefault(row.index, {})[row.rater] = row.label
    return dict(sorted(result.items()))


def read_labels_csv(path: str | Path, *, n_frames: int | None = None,
                    unit: str = "csv") -> list[LabelRow]:
    """Read and validate a labels CSV (header ``index,rater,label,timestamp``).

    Every row is checked (index a non-negative integer, below ``n_frames`` when given; label
    one of :data:`LABEL_VALUES`); errors name the file and line. A rater's repeated answers
    for the same item collapse to the latest one (:func:`latest_answers`).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"labels: {path} does not exist or is not a file")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = tuple(h.strip() for h in (reader.fieldnames or ()))
            if header[: len(LABEL_HEADER)] != LABEL_HEADER:
                raise DatasetError(
                    f"labels: {path} must start with the header {','.join(LABEL_HEADER)}, "
                    f"got {','.join(header) or '(empty file)'}; export labels with "
                    "`vlm-reward label DATA --export labels.csv`"
                )
            rows = [_csv_row(path, line, raw, n_frames, unit)
                    for line, raw in enumerate(reader, start=2)]
    except UnicodeDecodeError as exc:
        raise DatasetError(f"labels: {path} is not UTF-8 text ({exc.reason})") from None
    return latest_answers(rows)


def _csv_row(path: Path, line: int, raw: dict[str | None, str | None], n_frames: int | None,
             unit: str) -> LabelRow:
    row = {k.strip(): (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
    try:
        index = int(row["index"])
    except ValueError:
        raise DatasetError(
            f"labels: {path}:{line}: index must be a frame number, got {row['index']!r}"
        ) from None
    if index < 0 or (n_frames is not None and index >= n_frames):
        bound = "" if n_frames is None else f" {n_frames} frames (0..{n_frames - 1})"
        raise DatasetError(f"labels: {path}:{line}: index {index} is outside the dataset's"
                           f"{bound or ' frames (indices start at 0)'}")
    if row["label"] not in LABEL_VALUES:
        raise DatasetError(
            f"labels: {path}:{line}: label must be one of {', '.join(LABEL_VALUES)}, "
            f"got {row['label']!r}"
        )
    if not row["rater"]:
        raise DatasetError(f"labels: {path}:{line}: the rater column is empty")
    return LabelRow(unit, index, str(index), row["rater"], row["label"], row["timestamp"])


def labels_csv_text(rows: Iterable[LabelRow]) -> str:
    """The contract CSV (``index,rater,label,timestamp``) of ``rows`` as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LABEL_HEADER)
    for row in rows:
        writer.writerow((row.index, row.rater, row.label, row.timestamp))
    return buffer.getvalue()


def _check_destination(dest: Path) -> None:
    """Refuse, naming the fix, a CSV destination that is a folder or lies under a file."""
    if dest.is_dir():
        raise ConfigError(f"--export: {dest} is a folder; give a file name such as "
                          f"{dest / 'labels.csv'}")
    for parent in dest.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"--export: {dest} lies under {parent}, which is a file, not "
                                  "a folder; choose another path")
            break


class LabelStore:
    """The SQLite file holding human labels: one current answer per (unit, item, rater).

    Args:
        path: the database file (usually ``DATA_DIR/labels.sqlite``); created on first use.

    Example:
        >>> import tempfile, pathlib
        >>> store = LabelStore(pathlib.Path(tempfile.mkdtemp()) / "labels.sqlite")
        >>> store.set_label("frame", 3, "3", "ada", "success").label
        'success'
        >>> store.labels_for("frame", "ada")
        {3: 'success'}
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"{self.path} is not a usable label database ({exc}); move it away to start "
                "a new one."
            ) from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise ConfigError(
                f"cannot open {self.path} ({exc}); make the folder writable."
            ) from exc
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            yield conn
        finally:
            conn.close()

    def set_label(self, unit: str, index: int, key: str, rater: str, label: str) -> LabelRow:
        """Store (or replace) one answer, durably, in one transaction."""
        rater = validate_rater(rater)
        if label not in LABEL_VALUES:
            raise ConfigError(f"label must be one of {LABEL_VALUES}, got {label!r}.")
        row = LabelRow(unit, int(index), key, rater, label, _now())
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO labels (unit, item, item_key, rater, label, timestamp) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (unit, item, rater) DO UPDATE SET "
                    "item_key = excluded.item_key, label = excluded.label, "
                    "timestamp = excluded.timestamp",
                    (row.unit, row.index, row.key, row.rater, row.label, row.timestamp),
                )
                conn.execute(
                    "INSERT INTO history (unit, item, item_key, rater, label, timestamp) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (row.unit, row.index, row.key, row.rater, row.label, row.timestamp),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return row

    def clear_label(self, unit: str, index: int, rater: str) -> bool:
        """Remove a rater's answer for an item; True if there was one."""
        with self._connect() as conn:
            cur = conn.execute(
                "DELETE FROM labels WHERE unit = ? AND item = ? AND rater = ?",
                (unit, int(index), rater),
            )
            return cur.rowcount > 0

    def _select(self, columns: str, unit: str | None, tail: str) -> list[tuple]:
        """``SELECT columns FROM labels [WHERE unit = ?] tail``, all rows."""
        where, params = (" WHERE unit = ?", (unit,)) if unit is not None else ("", ())
        with self._connect() as conn:
            return conn.execute(f"SELECT {columns} FROM labels{where} {tail}", params).fetchall()

    def rows(self, unit: str | None = None) -> list[LabelRow]:
        """Current answers, ordered by unit, item and rater."""
        fetched = self._select("unit, item, item_key, rater, label, timestamp", unit,
                               "ORDER BY unit, item, rater")
        return [LabelRow(u, int(i), k, r, lab, t) for u, i, k, r, lab, t in fetched]

    def history(self) -> list[LabelRow]:
        """Every answer ever given, oldest first (changed answers included)."""
        with self._connect() as conn:
            fetched = conn.execute(
                "SELECT unit, item, item_key, rater, label, timestamp FROM history ORDER BY id"
            ).fetchall()
        return [LabelRow(u, int(i), k, r, lab, t) for u, i, k, r, lab, t in fetched]

    def labels_for(self, unit: str, rater: str) -> dict[int, str]:
        """``{index: label}`` of one rater."""
        with self._connect() as conn:
            fetched = conn.execute(
                "SELECT item, label FROM labels WHERE unit = ? AND rater = ?", (unit, rater)
            ).fetchall()
        return {int(i): lab for i, lab in fetched}

    def raters(self, unit: str | None = None) -> dict[str, int]:
        """``{rater: number of labelled items}``, by name."""
        fetched = self._select("rater, COUNT(*)", unit, "GROUP BY rater ORDER BY rater")
        return {r: int(n) for r, n in fetched}

    def units(self) -> list[str]:
        """Units that have at least one label (``frame``, ``episode``, ``video``)."""
        with self._connect() as conn:
            fetched = conn.execute("SELECT DISTINCT unit FROM labels ORDER BY unit").fetchall()
        return [u for (u,) in fetched]

    def to_csv(self, unit: str) -> str:
        """The contract CSV (``index,rater,label,timestamp``) of one unit as text."""
        return labels_csv_text(self.rows(unit))

    def export_csv(self, unit: str, dest: str | Path) -> int:
        """Write the contract CSV of ``unit`` to ``dest`` atomically; returns the row count.

        Raises:
            ConfigError: ``unit`` has no labels (nothing is written), or ``dest`` is a folder
                or lies under a file.
        """
        dest = Path(dest).expanduser()
        _check_destination(dest)
        rows = self.rows(unit)
        if not rows:
            others = [u for u in self.units() if u != unit]
            hint = ""
            if others:
                fix = "add --clips" if "episode" in others else "drop --clips"
                hint = f"; this folder has {', '.join(others)} labels ({fix} to export those)"
            raise ConfigError(f"no {unit} labels in {self.path} to export, so nothing was "
                              f"written{hint or '; label some items first'}")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(dest, labels_csv_text(rows), newline="")
        except OSError as exc:
            raise ConfigError(f"--export: cannot write {dest} ({exc.strerror or exc}); "
                              "choose a writable path") from exc
        return len(rows)
