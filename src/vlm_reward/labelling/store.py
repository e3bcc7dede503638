"""Human labels in SQLite, next to the data (``labels.sqlite``).

Every answer is its own transaction in a WAL-mode database with ``synchronous=FULL``, so an
answer the page saw acknowledged survives a crashed server, a killed process or a closed tab.
The current answer of a rater for an item lives in ``labels`` (changing an answer replaces
it); every answer ever given is also appended to ``history`` for auditing.

A connection is opened per operation: the web server answers from a thread pool and SQLite
connections must not be shared between threads; opening one costs well under a millisecond.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vlm_reward.atomic import atomic_write_text
from vlm_reward.errors import ConfigError

__all__ = [
    "CSV_HEADER",
    "LABELS",
    "RATER_PATTERN",
    "STORE_NAME",
    "LabelRow",
    "LabelStore",
    "validate_rater",
]

STORE_NAME = "labels.sqlite"
LABELS = ("success", "failure", "unsure")
CSV_HEADER = ("index", "rater", "label", "timestamp")
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
    """One rater's current answer for one item."""

    unit: str
    index: int
    key: str
    rater: str
    label: str
    timestamp: str


class LabelStore:
    """The SQLite file holding human labels.

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
        if label not in LABELS:
            raise ConfigError(f"label must be one of {LABELS}, got {label!r}.")
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

    def rows(self, unit: str | None = None) -> list[LabelRow]:
        """Current answers, ordered by unit, item and rater."""
        query = "SELECT unit, item, item_key, rater, label, timestamp FROM labels"
        params: tuple[str, ...] = ()
        if unit is not None:
            query += " WHERE unit = ?"
            params = (unit,)
        with self._connect() as conn:
            fetched = conn.execute(query + " ORDER BY unit, item, rater", params).fetchall()
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
        query = "SELECT rater, COUNT(*) FROM labels"
        params: tuple[str, ...] = ()
        if unit is not None:
            query += " WHERE unit = ?"
            params = (unit,)
        with self._connect() as conn:
            fetched = conn.execute(query + " GROUP BY rater ORDER BY rater", params).fetchall()
        return {r: int(n) for r, n in fetched}

    def units(self) -> list[str]:
        """Units that have at least one label (``frame``, ``episode``, ``video``)."""
        with self._connect() as conn:
            fetched = conn.execute("SELECT DISTINCT unit FROM labels ORDER BY unit").fetchall()
        return [u for (u,) in fetched]

    def to_csv(self, unit: str) -> str:
        """The contract CSV (``index,rater,label,timestamp``) of one unit as text."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for row in self.rows(unit):
            writer.writerow((row.index, row.rater, row.label, row.timestamp))
        return buffer.getvalue()

    def export_csv(self, unit: str, dest: str | Path) -> int:
        """Write the contract CSV to ``dest`` atomically; returns the number of rows."""
        text = self.to_csv(unit)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(dest, text, newline="")
        return text.count("\n") - 1
