from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.labels import LABEL_HEADER, LabelStore, validate_rater


@pytest.fixture
def store(tmp_path):
    return LabelStore(tmp_path / "labels.sqlite")


def test_database_uses_wal_and_changing_an_answer_replaces_it(store):
    store.set_label("frame", 2, "2", "ann", "success")
    store.set_label("frame", 2, "2", "ann", "failure")
    assert store.labels_for("frame", "ann") == {2: "failure"}
    assert [r.label for r in store.history()] == ["success", "failure"]
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 1


def test_raters_and_units_are_kept_apart(store):
    store.set_label("frame", 0, "0", "ann", "success")
    store.set_label("frame", 0, "0", "bob", "unsure")
    store.set_label("episode", 0, "0", "ann", "failure")
    assert store.labels_for("frame", "bob") == {0: "unsure"}
    assert store.labels_for("episode", "ann") == {0: "failure"}
    assert store.raters("frame") == {"ann": 1, "bob": 1}
    assert store.units() == ["episode", "frame"]


def test_export_csv_has_contract_header_and_one_row_per_answer(store, tmp_path):
    store.set_label("frame", 3, "3", "bob", "failure")
    store.set_label("frame", 1, "1", "ann", "success")
    store.set_label("episode", 7, "7", "ann", "success")
    out = tmp_path / "sub" / "labels.csv"
    assert store.export_csv("frame", out) == 2
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == LABEL_HEADER
    assert [r[:3] for r in rows[1:]] == [["1", "ann", "success"], ["3", "bob", "failure"]]
    assert all(r[3].endswith("+00:00") for r in rows[1:])
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", ["", " ", "../etc", "a" * 65, "<script>", "ann\nbob", "-x"])
def test_bad_rater_names_are_refused(store, name):
    with pytest.raises(ConfigError, match="rater name"):
        store.set_label("frame", 0, "0", name, "success")


def test_rater_names_are_stripped_and_bad_labels_refused(store):
    assert validate_rater("  Ann Lee ") == "Ann Lee"
    with pytest.raises(ConfigError, match="label must be one of"):
        store.set_label("frame", 0, "0", "ann", "maybe")


def test_an_answer_survives_a_process_that_dies_right_after_it(tmp_path):
    """os._exit skips every cleanup: what was committed must already be on disk."""
    db = tmp_path / "labels.sqlite"
    code = textwrap.dedent(f"""
        import os
        from vlm_reward.evaluation.labels import LabelStore
        store = LabelStore({str(db)!r})
        store.set_label("frame", 5, "5", "ann", "success")
        os._exit(9)
    """)
    result = subprocess.run([sys.executable, "-c", code], check=False)
    assert result.returncode == 9
    assert LabelStore(db).labels_for("frame", "ann") == {5: "success"}


def test_a_corrupt_database_is_a_config_error(tmp_path):
    db = tmp_path / "labels.sqlite"
    db.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConfigError, match="not a usable label database"):
        LabelStore(db)
