"""RunDir: the one owner of the run-folder layout."""

import doctest

from vlm_reward import run_dir as run_dir_module
from vlm_reward.config import validate_run_config
from vlm_reward.run_dir import RunDir


def _cfg():
    return validate_run_config({
        "env": {"id": "CartPole-v1"}, "reward": "ground_truth", "total_steps": 10,
        "algorithm": {"name": "PPO"},
    })


def _touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_layout_and_config_round_trip(tmp_path):
    run = RunDir(tmp_path / "run")
    assert not run.holds_run() and not run.looks_like_run()
    run.write_config(_cfg())
    assert run.read_config() == _cfg()
    assert run.read_config_data()["total_steps"] == 10
    assert run.looks_like_run() and not run.holds_run()  # no checkpoint yet: reusable
    assert run.progress_csv == tmp_path / "run" / "tb" / "progress.csv"
    assert run.relative(run.videos / "a.mp4") == "videos/a.mp4"


def test_checkpoints_newest_first_with_their_buffers_and_state(tmp_path):
    run = RunDir(tmp_path)
    for steps in (100, 2000, 300):
        _touch(run.checkpoint_files(steps).model)
    _touch(run.checkpoint_files(2000).replay_buffer)
    _touch(run.checkpoint_files(300).state)
    _touch(run.checkpoint_dir / "model_x.zip")  # not a checkpoint name
    found = run.checkpoints()
    assert [c.steps for c in found] == [2000, 300, 100]
    assert found[0].replay_buffer == run.checkpoint_dir / "replay_buffer_2000.pkl"
    assert found[0].state is None and found[1].state is not None
    assert found[1].replay_buffer is None


def test_legacy_single_replay_buffer_belongs_to_the_newest_checkpoint(tmp_path):
    run = RunDir(tmp_path)
    _touch(run.checkpoint_files(5).model)
    _touch(run.checkpoint_files(9).model)
    legacy = _touch(run.checkpoint_dir / "replay_buffer.pkl")
    assert [c.replay_buffer for c in run.checkpoints()] == [legacy, None]


def test_holds_run_needs_config_and_a_checkpoint_or_results(tmp_path):
    run = RunDir(tmp_path)
    _touch(run.checkpoint_files(5).model)
    assert not run.holds_run()  # no config: not a run of ours
    _touch(run.config_path, "name: x\n")
    assert run.holds_run()
    other = RunDir(tmp_path / "other")
    _touch(other.config_path, "name: x\n")
    other.write_results({"status": "completed"})
    assert other.holds_run()


def test_prune_keeps_the_newest_two_buffers(tmp_path):
    run = RunDir(tmp_path)
    for steps in (1, 2, 3):
        _touch(run.checkpoint_files(steps).model)
        _touch(run.checkpoint_files(steps).replay_buffer)
    _touch(run.checkpoint_files(4).replay_buffer)  # orphan of a save killed before its model
    run.prune_replay_buffers()
    assert sorted(p.name for p in run.checkpoint_dir.glob("*.pkl")) == [
        "replay_buffer_2.pkl", "replay_buffer_3.pkl"]


def test_temp_files_of_killed_writers_are_removed(tmp_path):
    run = RunDir(tmp_path)
    stale = [_touch(run.checkpoint_dir / ".model_5.zip.abc123.tmp"),
             _touch(run.videos / ".eval_step_5.tmp.mp4")]
    keep = _touch(run.checkpoint_files(5).model)
    assert sorted(run.remove_temp_files()) == sorted(stale)
    assert keep.exists() and not any(p.exists() for p in stale)


def test_unreadable_results_read_as_none(tmp_path):
    run = RunDir(tmp_path)
    assert run.read_results() is None
    _touch(run.results_path, '{"status": ')
    assert run.read_results() is None
    run.write_results({"status": "completed"})
    assert run.read_results() == {"status": "completed"}


def test_docstring_example_runs():
    assert doctest.testmod(run_dir_module).failed == 0
