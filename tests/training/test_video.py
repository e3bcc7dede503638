"""Evaluation videos: small renders are enlarged by whole pixels, annotated, and playable."""

import numpy as np
import pytest

from vlm_reward.training.video import MIN_VIDEO_HEIGHT, annotate_frames, write_video


def _frames(n: int, h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_small_frames_are_enlarged_by_a_whole_factor_without_blurring():
    frames = _frames(3, 48, 72)
    out = annotate_frames(frames, [0.1, 0.5, 0.3])
    assert out.shape == (3, 240, 360, 3)  # 5x: the first whole factor reaching 240 px
    # the middle of the frame is untouched by the overlay: each source pixel is a 5x5 block
    block = out[1, 100:105, 150:155]
    assert (block == frames[1, 20, 30]).all()


def test_frames_at_least_min_height_keep_their_size_and_are_padded_even():
    frames = _frames(2, MIN_VIDEO_HEIGHT + 1, 301)
    out = annotate_frames(frames, [0.0, 1.0])
    assert out.shape == (2, MIN_VIDEO_HEIGHT + 2, 302, 3)
    np.testing.assert_array_equal(out[0, 100:200, 10:290], frames[0, 100:200, 10:290])


def test_reward_bar_grows_with_the_reward():
    frames = np.zeros((2, 48, 72, 3), np.uint8)
    out = annotate_frames(frames, [0.0, 1.0])
    bar_rows = out[:, -5]  # the bar is drawn just above the bottom edge
    green = (bar_rows[..., 1] > 150).sum(axis=1)
    assert green[1] > green[0] * 10


def test_bad_frame_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        annotate_frames(np.zeros((4, 48, 72), np.uint8), [0.0] * 4)


def test_written_video_reads_back_at_the_enlarged_size(tmp_path):
    import imageio.v2 as imageio

    path = write_video(tmp_path / "v" / "clip.mp4", annotate_frames(_frames(4, 48, 72), [0] * 4))
    reader = imageio.get_reader(path)
    assert reader.get_data(0).shape == (240, 360, 3)
    assert not list(path.parent.glob(".*tmp*"))
