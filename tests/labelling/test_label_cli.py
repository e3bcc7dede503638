"""`vlm-reward label` as a user runs it: subprocesses, real server, real files."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from labelling_data import write_dataset

from vlm_reward.evaluation.labels import LabelStore

SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vlm_reward", "label", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def labelled(dataset):
    store = LabelStore(dataset / "labels.sqlite")
    votes = {"ann": "SSFS", "bob": "SSFF", "cy": "SFFU"}
    names = {"S": "success", "F": "failure", "U": "unsure"}
    for rater, labels in votes.items():
        for index, code in enumerate(labels):
            store.set_label("frame", index, str(index), rater, names[code])
    return dataset


def test_export_writes_the_contract_csv(labelled, tmp_path):
    out = tmp_path / "labels.csv"
    result = cli(str(labelled), "--export", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 12 frame label(s)" in result.stdout
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["index", "rater", "label", "timestamp"]
    assert [(r["index"], r["rater"], r["label"]) for r in rows[:3]] == [
        ("0", "ann", "success"), ("0", "bob", "success"), ("0", "cy", "success")]


def test_agreement_and_success_rate_are_printed(labelled):
    result = cli(str(labelled), "--agreement", "--success-rate")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # ann-bob: 75 %, kappa 0.5; Fleiss over 4 items: 11/41 = 0.268 (see test_agreement)
    assert "75.0%" in out and "0.500" in out
    assert "Fleiss' kappa over 4 item(s) labelled by all 3 raters: 0.268" in out
    # majority: 0 S, 1 S, 2 F, 3 no majority -> 2 / 3
    assert "66.7%" in out and "2 / 1 / 1" in out


@pytest.mark.parametrize("case", ["missing", "empty", "no-labels", "bad-rater", "bad-dataset"])
def test_user_errors_are_one_line_and_exit_2(tmp_path, case):
    target = tmp_path / "data"
    args: list[str] = []
    if case == "empty":
        write_dataset(target, [])
    elif case in ("no-labels", "bad-rater"):
        write_dataset(target, [2])
        args = ["--agreement"] if case == "no-labels" else ["--rater", "../x", "--no-browser"]
    elif case == "bad-dataset":
        write_dataset(target, [2])
        (target / "table.csv").unlink()
    result = cli(str(target), *args)
    expected = {"missing": "does not exist", "empty": "nothing to label",
                "no-labels": "no labels yet", "bad-rater": "rater name",
                "bad-dataset": "table.csv is missing"}[case]
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_busy_port_is_reported_before_starting_and_leaves_no_file(dataset):
    before = sorted(p.name for p in dataset.iterdir())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = cli(str(dataset), "--port", str(busy.getsockname()[1]), "--no-browser")
    assert result.returncode == 2 and "pick another --port" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert sorted(p.name for p in dataset.iterdir()) == before  # no labels.sqlite (or -wal)


def test_server_starts_on_loopback_and_answers(dataset):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vlm_reward", "label", str(dataset), "--port", str(port),
         "--no-browser", "--rater", "ann", "--task", "balance the pole"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and info is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=2) as r:
                    info = json.load(r)
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.1)
        assert info is not None, "server did not answer within 30 s"
        assert info["task"] == "balance the pole" and info["default_rater"] == "ann"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert b"vlm-reward" in r.read()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in out


def test_export_with_no_labels_of_the_unit_fails_and_writes_nothing(dataset, tmp_path):
    LabelStore(dataset / "labels.sqlite").set_label("episode", 1, "1", "ann", "success")
    out = tmp_path / "frames.csv"
    result = cli(str(dataset), "--export", str(out))
    assert result.returncode == 2
    assert "no frame labels" in result.stderr and "add --clips" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["ds"]
    result = cli(str(dataset), "--clips", "--export", str(tmp_path / "episodes.csv"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "episodes.csv").read_text().splitlines()[1].startswith("1,ann,success,")


@pytest.mark.parametrize("case", ["folder", "under-a-file"])
def test_export_to_a_folder_or_under_a_file_is_one_line_exit_2(labelled, tmp_path, case):
    blocker = tmp_path / "blocker"
    if case == "folder":
        blocker.mkdir()
        dest = blocker
    else:
        blocker.write_text("a file")
        dest = blocker / "labels.csv"
    result = cli(str(labelled), "--export", str(dest))
    assert result.returncode == 2, result.stderr
    expected = "is a folder" if case == "folder" else "which is a file"
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (list(blocker.iterdir()) == []) if case == "folder" else blocker.read_text() == "a file"
