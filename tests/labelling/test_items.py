from __future__ import annotations

import io
import json

import numpy as np
import pytest
from labelling_data import TASK, write_dataset, write_run
from PIL import Image

from vlm_reward.errors import VLMRewardError
from vlm_reward.labelling.items import open_source, read_task_from_run


def test_dataset_frames_are_items_with_captions(dataset):
    source = open_source(dataset)
    assert (source.unit, source.kind, len(source), source.task) == ("frame", "dataset", 5, TASK)
    assert [item.index for item in source.items] == [0, 1, 2, 3, 4]
    assert source.items[3].caption == "frame 3 · episode 1 · step 0"
    assert source.items[3].url == "/api/frame/3.png"


def test_frame_png_is_the_frame_from_the_memory_map(dataset):
    source = open_source(dataset)
    image = np.asarray(Image.open(io.BytesIO(source.frame_png(4))))
    assert image.shape == (24, 32, 3)
    assert (image[..., 0] == 4).all() and (image[..., 1] == 90).all()
    with pytest.raises(KeyError):
        source.frame_png(5)


def test_clips_group_frames_by_episode_in_step_order(dataset):
    source = open_source(dataset, clips=True)
    assert source.unit == "episode"
    assert [(i.index, i.caption) for i in source.items] == [
        (0, "episode 0 · 3 frames"), (1, "episode 1 · 2 frames")]
    gif = Image.open(io.BytesIO(source.clip_gif(1)))
    assert gif.n_frames == 2
    reds = []
    for k in range(gif.n_frames):
        gif.seek(k)
        reds.append(int(np.asarray(gif.convert("RGB"))[0, 0, 0]))
    assert reds == [3, 4]


def test_clip_frames_follow_the_step_column_not_the_row_order(dataset):
    table = dataset / "table.csv"
    lines = table.read_text().splitlines()
    # episode 1 is rows 3 and 4; swap their steps so frame 4 comes first
    lines[4] = lines[4].replace(",1,0,", ",1,1,", 1)
    lines[5] = lines[5].replace(",1,1,", ",1,0,", 1)
    table.write_text("\n".join(lines) + "\n")
    assert open_source(dataset).items[3].caption == "frame 3 · episode 1 · step 1"
    gif = Image.open(io.BytesIO(open_source(dataset, clips=True).clip_gif(1)))
    reds = []
    for k in range(gif.n_frames):
        gif.seek(k)
        reds.append(int(np.asarray(gif.convert("RGB"))[0, 0, 0]))
    assert reds == [4, 3]


def test_run_folder_videos_are_items_and_task_comes_from_config(run_dir):
    source = open_source(run_dir)
    assert (source.unit, len(source)) == ("video", 2)
    assert [i.key for i in source.items] == ["eval_000.mp4", "eval_001.mp4"]
    assert source.items[1].url == "/files/videos/eval_001.mp4"
    assert source.task == "a humanoid kneeling"
    assert open_source(run_dir, task="custom").task == "custom"


def test_run_task_joins_several_goal_prompts(tmp_path):
    run = write_run(tmp_path / "r", 0, goal=["a robot kneeling", "kneeling robot"])
    assert read_task_from_run(run) == "a robot kneeling / kneeling robot"


def test_empty_dataset_and_run_give_no_items(tmp_path):
    assert len(open_source(write_dataset(tmp_path / "empty", []))) == 0
    (tmp_path / "run" / "videos").mkdir(parents=True)
    assert len(open_source(tmp_path / "run")) == 0


@pytest.mark.parametrize("case", ["missing", "file", "unknown-folder", "bad-json", "bad-format",
                                  "bad-version", "bad-dtype", "no-table", "clips-on-run"])
def test_bad_folders_raise_an_error_naming_the_problem(tmp_path, case):
    target = tmp_path / "x"
    expected = {"missing": "does not exist", "file": "not a folder",
                "unknown-folder": "neither a dataset", "bad-json": "not valid JSON",
                "bad-format": "expected 'vlm-reward-dataset'", "bad-version": "version 7",
                "bad-dtype": "uint8", "no-table": "table.csv is missing",
                "clips-on-run": "--clips"}[case]
    clips = False
    if case == "file":
        target.write_text("x")
    elif case == "unknown-folder":
        target.mkdir()
    elif case == "bad-json":
        write_dataset(target, [2])
        (target / "dataset.json").write_text("{not json")
    elif case == "bad-format":
        write_dataset(target, [2])
        (target / "dataset.json").write_text(json.dumps({"format": "other"}))
    elif case == "bad-version":
        write_dataset(target, [2])
        (target / "dataset.json").write_text(
            json.dumps({"format": "vlm-reward-dataset", "version": 7}))
    elif case == "bad-dtype":
        write_dataset(target, [2])
        np.save(target / "frames.npy", np.zeros((2, 4, 4, 3), dtype=np.float32))
    elif case == "no-table":
        write_dataset(target, [2])
        (target / "table.csv").unlink()
    elif case == "clips-on-run":
        write_run(target, 1)
        clips = True
    with pytest.raises(VLMRewardError, match=expected):
        open_source(target, clips=clips)


def test_table_row_beyond_the_frames_is_refused(dataset):
    with (dataset / "table.csv").open("a") as handle:
        handle.write("9,1,5,0.0,,0.0\n")
    with pytest.raises(VLMRewardError, match="6 rows but 5 frames"):
        open_source(dataset)
