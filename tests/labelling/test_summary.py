from __future__ import annotations

import pytest

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.errors import DatasetError
from vlm_reward.evaluation.labels import LabelStore
from vlm_reward.labelling.summary import human_success_rate, read_labels

S, F, U = "success", "failure", "unsure"


def _fill(store: LabelStore, unit: str, votes: dict[int, list[str]]) -> None:
    for index, labels in votes.items():
        for rater, label in zip(["ann", "bob", "cy"], labels, strict=False):
            store.set_label(unit, index, str(index), rater, label)


def test_human_success_rate_of_a_run_folder_by_majority_vote(run_dir):
    store = LabelStore(run_dir / "labels.sqlite")
    # 0: success 2-1, 1: failure, 2: tie -> undecided, 3: unsure abstains -> success 1-0,
    # 4: only unsure -> undecided
    _fill(store, "video", {0: [S, S, F], 1: [F, F], 2: [S, F], 3: [U, U, S], 4: [U, U]})
    result = human_success_rate(run_dir)
    assert result["unit"] == "video"
    assert result["raters"] == ["ann", "bob", "cy"]
    assert (result["n_labelled"], result["n_success"], result["n_failure"],
            result["n_undecided"]) == (5, 2, 1, 2)
    assert result["success_rate"] == pytest.approx(2 / 3)
    assert result["verdicts"] == {0: S, 1: F, 2: None, 3: S, 4: None}


def test_dataset_prefers_episode_labels_unless_a_unit_is_given(dataset):
    store = LabelStore(dataset / "labels.sqlite")
    _fill(store, "frame", {0: [S], 1: [F], 2: [F], 3: [F]})
    _fill(store, "episode", {0: [S], 1: [S]})
    assert human_success_rate(dataset)["success_rate"] == pytest.approx(1.0)
    assert human_success_rate(dataset, unit="frame")["success_rate"] == pytest.approx(0.25)


def test_csv_export_round_trips_through_human_success_rate(dataset, tmp_path):
    store = LabelStore(dataset / "labels.sqlite")
    _fill(store, "frame", {0: [S, S], 1: [F, S, F], 4: [U]})
    out = tmp_path / "labels.csv"
    store.export_csv("frame", out)
    unit, labels = read_labels(out)
    assert unit == "csv"
    assert labels == {0: {"ann": S, "bob": S}, 1: {"ann": F, "bob": S, "cy": F}, 4: {"ann": U}}
    from_csv = human_success_rate(out)
    from_db = human_success_rate(dataset / "labels.sqlite", unit="frame")
    assert from_csv["success_rate"] == from_db["success_rate"] == pytest.approx(0.5)


def test_missing_labels_and_bad_csv_are_config_errors(dataset, tmp_path):
    with pytest.raises(ConfigError, match="no human labels"):
        human_success_rate(dataset)
    bad = tmp_path / "bad.csv"
    bad.write_text("frame,who,label\n1,ann,success\n")
    with pytest.raises(DatasetError, match="header index,rater,label,timestamp"):
        human_success_rate(bad)


def test_a_changed_answer_in_a_csv_counts_once(tmp_path):
    """A rater's rows for one item collapse to the latest; the earlier answer does not vote."""
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("index,rater,label,timestamp\n"
                        "0,ann,failure,2024-01-02T00:00:00+00:00\n"
                        "0,bob,success,2024-01-01T00:00:00+00:00\n"
                        "0,ann,success,2024-01-03T00:00:00+00:00\n"   # ann changed her mind
                        "1,ann,success,2024-01-05T00:00:00+00:00\n"
                        "1,ann,failure,2024-01-04T00:00:00+00:00\n")  # older row, later line
    assert read_labels(csv_path) == ("csv", {0: {"ann": S, "bob": S}, 1: {"ann": S}})
    result = human_success_rate(csv_path)
    assert result["verdicts"] == {0: S, 1: S} and result["n_success"] == 2
