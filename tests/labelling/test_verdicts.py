"""`vlm-reward eval` and `vlm-reward label` reach the same verdict on the same votes.

Both read labels through :mod:`vlm_reward.evaluation.labels` and apply its one voting rule:
``unsure`` abstains, the majority of success/failure votes decides, a tie is undecided.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vlm_reward.evaluation.dataset import import_labels, load_dataset
from vlm_reward.evaluation.labels import LabelStore, verdict
from vlm_reward.labelling.summary import human_success_rate

S, F, U = "success", "failure", "unsure"
SRC = str(Path(__file__).resolve().parents[2] / "src")

CASES = [
    ([U, U, S], S),
    ([S, F], None),
    ([S, F, U], None),
    ([S, S, F], S),
    ([F, U, U], F),
    ([U], None),
    ([U, U], None),
    ([F, F, S, S, U], None),
    ([S, F, F, U, U, U], F),
    ([S], S),
]


@pytest.mark.parametrize(("votes", "expected"), CASES)
def test_the_voting_rule(votes, expected):
    assert verdict(votes) == expected


def _eval_verdict(dataset: Path) -> str | None:
    """Frame 0's verdict as `vlm-reward eval` sees it (the human reference)."""
    labels = load_dataset(dataset).human_labels()
    found = [int(lab) for i, lab in zip(labels.index, labels.label, strict=True) if i == 0]
    return None if not found else (S if found[0] == 1 else F)


@pytest.mark.parametrize(("votes", "expected"), CASES)
@pytest.mark.parametrize("source", ["labels.sqlite", "csv"])
def test_eval_and_label_agree(dataset, tmp_path, votes, expected, source):
    if source == "labels.sqlite":
        store = LabelStore(dataset / "labels.sqlite")
        for n, label in enumerate(votes):
            store.set_label("frame", 0, "0", f"rater{n}", label)
        store.set_label("frame", 1, "1", "rater0", "failure")  # another frame, decided
        label_side = human_success_rate(dataset, unit="frame")["verdicts"][0]
    else:
        csv_path = tmp_path / "labels.csv"
        lines = [f"0,rater{n},{label},2024-01-01T00:00:{n:02d}Z" for n, label in enumerate(votes)]
        csv_path.write_text("index,rater,label,timestamp\n" + "\n".join(lines)
                            + "\n1,rater0,failure,2024-01-01T00:01:00Z\n")
        import_labels(dataset, csv_path)
        label_side = human_success_rate(csv_path)["verdicts"][0]
    assert _eval_verdict(dataset) == label_side == expected


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vlm_reward", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_both_commands_count_unsure_unsure_success_as_success(dataset):
    store = LabelStore(dataset / "labels.sqlite")
    for rater, label in [("ann", U), ("bob", U), ("cy", S)]:
        store.set_label("frame", 0, "0", rater, label)
    info = _cli("eval", "info", str(dataset), "--json")
    assert info.returncode == 0, info.stderr
    human = json.loads(info.stdout)["human_labels"]
    assert human["labelled_frames"] == 1 and human["success"] == 1
    rate = _cli("label", str(dataset), "--success-rate")
    assert rate.returncode == 0, rate.stderr
    assert "1 / 0 / 0" in rate.stdout and "100.0%" in rate.stdout
