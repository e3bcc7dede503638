"""Sample frames for `vlm-reward render`: seeded, sized, checked, written atomically."""

from __future__ import annotations

import numpy as np

from vlm_reward.envs.frames import iter_random_frames, write_png
from vlm_reward.rendering_env import make_rendering_env


def test_random_frames_are_seeded_and_span_episodes() -> None:
    def frames(seed: int) -> list[np.ndarray]:
        env = make_rendering_env("vlm_reward/CartPole-v0", (32, 32), episode_length=3)
        return list(iter_random_frames(env, 7, seed))  # crosses two resets

    a, b = frames(1), frames(1)
    assert len(a) == 7 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0].shape == (32, 32, 3)


def test_frames_of_a_fixed_canvas_env_are_resized_to_the_asked_size() -> None:
    env = make_rendering_env("Pendulum-v1", (30, 40))  # Pendulum draws 500x500 only
    assert [f.shape for f in iter_random_frames(env, 2, 0, (30, 40))] == [(30, 40, 3)] * 2


def test_write_png_leaves_no_temp(tmp_path) -> None:
    from PIL import Image

    path = tmp_path / "f.png"
    write_png(np.zeros((10, 20, 3), np.uint8), path)
    assert Image.open(path).size == (20, 10)
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]
