"""Dataset format: round trip, atomic writes, validation, human labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vlm_reward.evaluation.dataset import DatasetWriter, import_labels, load_dataset
from vlm_reward.evaluation.errors import DatasetError
from vlm_reward.evaluation.labels import read_labels_csv


def _write(path: Path, n: int = 5, **kwargs) -> Path:
    with DatasetWriter(path, env_id="Test-v0", state_names=("a", "b"), policy="random",
                       task="do it", **kwargs) as w:
        for i in range(n):
            frame = np.full((6, 8, 3), i, dtype=np.uint8)
            w.add(frame, episode=i // 3, step=i % 3, state=[i, -i], env_reward=0.5 * i,
                  success=None if i == 0 else bool(i % 2))
    return path


def test_round_trip_matches_contract(tmp_path: Path) -> None:
    ds = load_dataset(_write(tmp_path / "ds"))
    meta = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert meta["format"] == "vlm-reward-dataset" and meta["version"] == 1
    assert meta["n_frames"] == 5 and meta["frame_shape"] == [6, 8, 3]
    assert {"env_id", "task", "policy", "created_by"} <= set(meta)
    header = (tmp_path / "ds" / "table.csv").read_text().splitlines()[0]
    assert header == "index,episode,step,env_reward,success,state_a,state_b"
    assert isinstance(ds.frames, np.memmap)
    assert ds.frames.shape == (5, 6, 8, 3) and ds.frames[3].max() == 3
    np.testing.assert_array_equal(ds.episode, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(ds.step, [0, 1, 2, 0, 1])
    np.testing.assert_allclose(ds.env_reward, [0, 0.5, 1.0, 1.5, 2.0])
    assert np.isnan(ds.success[0])
    np.testing.assert_array_equal(ds.success[1:], [1, 0, 1, 0])
    np.testing.assert_array_equal(ds.states["b"], [0, -1, -2, -3, -4])
    assert ds.state_names == ("a", "b")


def test_existing_dataset_is_not_overwritten_without_flag(tmp_path: Path) -> None:
    _write(tmp_path / "ds")
    with pytest.raises(DatasetError, match="--overwrite"):
        _write(tmp_path / "ds")
    (tmp_path / "ds" / "cache").mkdir()
    _write(tmp_path / "ds", n=2, overwrite=True)
    assert len(load_dataset(tmp_path / "ds")) == 2
    assert not (tmp_path / "ds" / "cache").exists()  # stale cache goes with the old frames


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), DatasetWriter(tmp_path / "ds", env_id="T",
                                                    state_names=("a",)) as w:
        w.add(np.zeros((4, 4, 3), np.uint8), episode=0, step=0, state=[0])
        raise RuntimeError("crash mid-collection")
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_frames_and_states(tmp_path: Path) -> None:
    w = DatasetWriter(tmp_path / "ds", env_id="T", state_names=("a",))
    with pytest.raises(DatasetError, match="uint8"):
        w.add(np.zeros((4, 4, 3), np.float32), episode=0, step=0, state=[0])
    w.add(np.zeros((4, 4, 3), np.uint8), episode=0, step=0, state=[0])
    with pytest.raises(DatasetError, match="shape"):
        w.add(np.zeros((5, 4, 3), np.uint8), episode=0, step=1, state=[0])
    with pytest.raises(DatasetError, match="expected 1 values"):
        w.add(np.zeros((4, 4, 3), np.uint8), episode=0, step=1, state=[0, 1])
    w.discard()
    with pytest.raises(DatasetError, match="no frames"):
        DatasetWriter(tmp_path / "empty", env_id="T", state_names=()).close()


def test_invalid_datasets_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DatasetError, match=r"no dataset\.json"):
        load_dataset(tmp_path / "plain")
    ds = _write(tmp_path / "ds")
    (ds / "table.csv").write_text((ds / "table.csv").read_text().replace("\n4,", "\n9,"))
    with pytest.raises(DatasetError, match="index must count"):
        load_dataset(ds)
    (ds / "frames.npy").unlink()
    with pytest.raises(DatasetError, match=r"frames\.npy is missing"):
        load_dataset(ds)
    (ds / "dataset.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DatasetError, match="expected 'vlm-reward-dataset'"):
        load_dataset(ds)


def _labels(path: Path, rows: list[str]) -> Path:
    path.write_text("index,rater,label,timestamp\n" + "\n".join(rows) + "\n")
    return path


def test_import_labels_majority_vote(tmp_path: Path) -> None:
    ds = load_dataset(_write(tmp_path / "ds"))
    csv = _labels(tmp_path / "l.csv", [
        "0,ann,success,2024-01-01T00:00:00Z",
        "0,bob,success,2024-01-01T00:00:01Z",
        "0,cat,failure,2024-01-01T00:00:02Z",   # frame 0: 2 vs 1 -> success
        "1,ann,failure,2024-01-01T00:00:03Z",   # frame 1: failure
        "2,ann,success,2024-01-01T00:00:04Z",
        "2,bob,failure,2024-01-01T00:00:05Z",   # frame 2: tie -> left out
        "3,ann,unsure,2024-01-01T00:00:06Z",    # frame 3: only unsure -> left out
    ])
    agg = import_labels(ds, csv)
    np.testing.assert_array_equal(agg.index, [0, 1])
    np.testing.assert_array_equal(agg.label, [1, 0])
    np.testing.assert_array_equal(agg.n_votes, [3, 1])
    assert agg.raters == ("ann", "bob", "cat") and agg.n_raw == 7
    assert ds.has_human_labels()
    again = ds.human_labels()
    np.testing.assert_array_equal(again.label, agg.label)
    more = _labels(tmp_path / "m.csv", ["2,cat,success,2024-01-02T00:00:00Z",
                                        "1,ann,failure,2024-01-01T00:00:03Z"])  # duplicate
    agg = import_labels(ds, more, append=True)
    assert agg.n_raw == 8
    np.testing.assert_array_equal(agg.index, [0, 1, 2])
    agg = import_labels(ds, more)  # replace
    np.testing.assert_array_equal(agg.index, [1, 2])


@pytest.mark.parametrize(("rows", "message"), [
    (["x,ann,success,t"], "index must be a frame number"),
    (["5,ann,success,t"], "outside the dataset"),
    (["1,ann,great,t"], "label must be one of"),
])
def test_bad_label_files_are_rejected(tmp_path: Path, rows: list[str], message: str) -> None:
    ds = load_dataset(_write(tmp_path / "ds"))
    with pytest.raises(DatasetError, match=message):
        import_labels(ds, _labels(tmp_path / "l.csv", rows))
    assert not ds.has_human_labels()


def test_labels_header_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("frame,label\n1,success\n")
    with pytest.raises(DatasetError, match="index,rater,label,timestamp"):
        read_labels_csv(bad)


def test_labels_from_the_labelling_app(tmp_path: Path) -> None:
    """The labelling app's SQLite store and its CSV export both feed the human reference."""
    from vlm_reward.evaluation.labels import LabelStore
    from vlm_reward.evaluation.scoring import resolve_reference

    ds = load_dataset(_write(tmp_path / "ds"))
    assert not ds.has_human_labels()
    store = LabelStore(ds.root / "labels.sqlite")
    store.set_label("frame", 1, "1", "ann", "success")
    store.set_label("frame", 3, "3", "ann", "failure")
    store.set_label("episode", 0, "0", "ann", "success")  # clip labels are not states
    assert ds.has_human_labels()
    ref = resolve_reference(ds, "auto")
    assert ref.name == "human" and ref.binary
    np.testing.assert_array_equal(ref.index, [1, 3])
    np.testing.assert_array_equal(ref.values, [1.0, 0.0])
    store.export_csv("frame", tmp_path / "export.csv")
    agg = import_labels(ds, tmp_path / "export.csv")
    np.testing.assert_array_equal(agg.index, [1, 3])
    store.set_label("frame", 2, "2", "bob", "success")  # imported CSV now takes precedence
    np.testing.assert_array_equal(resolve_reference(ds, "human").index, [1, 3])


def test_a_changed_answer_replaces_the_earlier_one_on_append(tmp_path: Path) -> None:
    """One vote per rater and frame: the latest answer, whichever file it came from."""
    ds = load_dataset(_write(tmp_path / "ds"))
    first = _labels(tmp_path / "a.csv", ["0,ann,success,2024-01-01T00:00:00Z",
                                         "1,bob,failure,2024-01-01T00:00:00Z"])
    agg = import_labels(ds, first)
    np.testing.assert_array_equal(agg.label, [1, 0])
    changed = _labels(tmp_path / "b.csv", ["0,ann,failure,2024-01-02T00:00:00Z",
                                           "1,bob,success,2023-12-31T00:00:00Z"])  # older
    agg = import_labels(ds, changed, append=True)
    np.testing.assert_array_equal(agg.index, [0, 1])
    np.testing.assert_array_equal(agg.label, [0, 0])  # ann's new answer; bob's older one lost
    np.testing.assert_array_equal(agg.n_votes, [1, 1])
    assert agg.n_raw == 2
    stored = ds.labels_path.read_text().splitlines()
    assert stored == ["index,rater,label,timestamp", "0,ann,failure,2024-01-02T00:00:00Z",
                      "1,bob,failure,2024-01-01T00:00:00Z"]


def test_unsure_votes_abstain_in_the_human_reference(tmp_path: Path) -> None:
    ds = load_dataset(_write(tmp_path / "ds"))
    csv = _labels(tmp_path / "l.csv", ["0,ann,unsure,t", "0,bob,unsure,t", "0,cat,success,t"])
    agg = import_labels(ds, csv)
    np.testing.assert_array_equal(agg.index, [0])
    np.testing.assert_array_equal(agg.label, [1])
    np.testing.assert_array_equal(agg.n_votes, [1])
