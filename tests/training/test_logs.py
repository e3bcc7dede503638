"""progress.csv across segments: rows kept up to the resumed step, appended after."""

from __future__ import annotations

import csv

from vlm_reward.training.logs import STEP_KEY, ProgressCSV


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def _log(writer: ProgressCSV, step: int, **values) -> None:
    writer.write(values, dict.fromkeys(values), step)


def test_new_keys_widen_the_header_and_every_row_has_its_step(tmp_path):
    path = tmp_path / "progress.csv"
    log = ProgressCSV(path)
    _log(log, 10, **{"a": 1.0})
    _log(log, 20, **{"a": 2.0, "eval/b": "x,y"})  # eval rows carry no SB3 step of their own
    log.close()
    assert _rows(path) == [{"a": "1.0", STEP_KEY: "10", "eval/b": ""},
                           {"a": "2.0", STEP_KEY: "20", "eval/b": "x,y"}]


def test_resume_keeps_rows_up_to_the_checkpoint_and_appends(tmp_path):
    path = tmp_path / "progress.csv"
    log = ProgressCSV(path)
    for step in (10, 20, 30):
        _log(log, step, a=float(step))
    log.close()
    with open(path, "a") as fh:
        fh.write("40.0,4")  # a row cut off by SIGKILL
    log = ProgressCSV(path, keep_until=20)  # resumed from the checkpoint at 20
    _log(log, 30, a=31.0)
    log.close()
    rows = _rows(path)
    assert [(r[STEP_KEY], r["a"]) for r in rows] == [("10", "10.0"), ("20", "20.0"),
                                                     ("30", "31.0")]


def test_excluded_and_non_scalar_values_are_left_out(tmp_path):
    path = tmp_path / "progress.csv"
    log = ProgressCSV(path)
    log.write({"a": 1, "b": 2, "video": object()}, {"a": None, "b": ("csv",), "video": None}, 5)
    log.close()
    assert _rows(path) == [{"a": "1", STEP_KEY: "5"}]
