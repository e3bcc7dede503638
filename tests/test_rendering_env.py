"""make_rendering_env: one way to get rgb_array frames from any env, with errors that say why."""

from __future__ import annotations

import doctest

import gymnasium as gym
import numpy as np
import pytest

from vlm_reward import rendering_env
from vlm_reward.errors import ConfigError, EnvError
from vlm_reward.rendering_env import (
    check_frame,
    iter_random_frames,
    make_rendering_env,
    render_frame,
    render_size_kwargs,
    takes_render_size,
    write_png,
)


class _NoRender(gym.Env):
    metadata = {"render_modes": ["human"]}  # noqa: RUF012
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)


class _Canvas(gym.Env):
    """Renders a fixed 20x30 canvas and takes no width/height."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode: str | None = None, colour: int = 0) -> None:
        self.render_mode, self.colour = render_mode, colour

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def render(self):
        return np.full((20, 30, 3), self.colour, np.uint8)


def _canvas_factory(render_mode: str | None = None) -> gym.Env:
    return _Canvas(render_mode=render_mode, colour=7)


@pytest.fixture()
def registered():
    ids = {"vlmr_re/Canvas-v0": _Canvas, "vlmr_re/Factory-v0": _canvas_factory,
           "vlmr_re/NoRender-v0": _NoRender}
    for env_id, entry in ids.items():
        gym.register(env_id, entry_point=entry)
    yield ids
    for env_id in ids:
        del gym.registry[env_id]


def test_fixed_canvas_env_is_made_at_its_own_size(registered):
    assert not takes_render_size("vlmr_re/Canvas-v0")
    assert render_size_kwargs("vlmr_re/Canvas-v0", (48, 64)) == {}
    env = make_rendering_env("vlmr_re/Canvas-v0", (48, 64), colour=3)
    env.reset(seed=0)
    assert env.render().shape == (20, 30, 3) and env.render()[0, 0, 0] == 3


def test_factory_function_entry_point_is_accepted(registered):
    """No class, so no metadata to check up front: the made env's render_mode decides."""
    env = make_rendering_env("vlmr_re/Factory-v0")
    env.reset(seed=0)
    assert env.render()[0, 0, 0] == 7


def test_unknown_constructor_argument_is_a_config_error(registered):
    with pytest.raises(ConfigError, match=r"vlmr_re/Canvas-v0: does not accept"):
        make_rendering_env("vlmr_re/Canvas-v0", colur=3)


def test_unknown_id_and_unimportable_module_name_the_problem():
    with pytest.raises(EnvError, match=r"'MountainCarContinous-v0'.*MountainCarContinuous-v0"):
        make_rendering_env("MountainCarContinous-v0")
    with pytest.raises(EnvError, match="cannot import module 'no_such_module_xyz'"):
        make_rendering_env("no_such_module_xyz:Thing-v0")


def test_other_render_modes_are_refused():
    with pytest.raises(EnvError, match="rgb_array"):
        make_rendering_env("vlm_reward/CartPole-v0", render_mode="human")


def test_env_without_rgb_array_is_refused(registered):
    with pytest.raises(EnvError, match="cannot render 'rgb_array'"):
        make_rendering_env("vlmr_re/NoRender-v0")


def test_one_side_of_the_size_renders_natively_and_the_other_stays_the_envs():
    env = make_rendering_env("vlm_reward/CartPole-v0", (None, 40))
    env.reset(seed=0)
    assert env.render().shape == (400, 40, 3)  # the env's default height


def test_explicit_width_height_kwargs_win_over_the_size():
    env = make_rendering_env("vlm_reward/CartPole-v0", (48, 72), width=40)
    env.reset(seed=0)
    assert env.render().shape == (400, 40, 3)  # no mix of the user's width and size's height


def test_bad_sizes_name_the_side():
    with pytest.raises(ConfigError, match="height: expected a positive number of pixels"):
        make_rendering_env("vlm_reward/CartPole-v0", (0, 40))
    with pytest.raises(ConfigError, match="width"):
        render_size_kwargs("vlm_reward/CartPole-v0", (40, -1))


def test_render_frame_resizes_fixed_canvas_frames(registered):
    env = make_rendering_env("vlmr_re/Canvas-v0", (10, 15), colour=9)
    env.reset(seed=0)
    frame = render_frame(env, (10, 15))
    assert frame.shape == (10, 15, 3) and frame.dtype == np.uint8 and (frame == 9).all()
    assert render_frame(env).shape == (20, 30, 3)  # no size: the env's own
    assert render_frame(env, (None, 60)).shape == (40, 60, 3)  # one side keeps the aspect


def test_check_frame_rejects_bad_images():
    with pytest.raises(EnvError, match=r"\(H, W, 3\)"):
        check_frame(np.zeros((4, 4), np.uint8), "e")
    with pytest.raises(EnvError, match="uint8"):
        check_frame(np.zeros((4, 4, 3), np.float32), "e")
    with pytest.raises(EnvError, match="returned None"):
        check_frame(None, "e")
    with pytest.raises(EnvError, match="list of frames"):
        check_frame([np.zeros((4, 4, 3), np.uint8)], "e")


def test_check_frame_is_the_one_the_wrapper_uses():
    from vlm_reward import wrappers

    assert wrappers.check_frame is check_frame


def test_random_frames_are_seeded_and_span_episodes():
    def frames(seed: int) -> list[np.ndarray]:
        env = make_rendering_env("vlm_reward/CartPole-v0", (32, 32), episode_length=3)
        return list(iter_random_frames(env, 7, seed))  # crosses two resets

    a, b = frames(1), frames(1)
    assert len(a) == 7 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0].shape == (32, 32, 3)


def test_random_frames_of_a_fixed_canvas_env_get_the_asked_size():
    env = make_rendering_env("Pendulum-v1", (30, 40))  # Pendulum draws 500x500 only
    assert [f.shape for f in iter_random_frames(env, 2, 0, (30, 40))] == [(30, 40, 3)] * 2


def test_write_png_leaves_no_temp(tmp_path):
    from PIL import Image

    path = tmp_path / "f.png"
    write_png(np.zeros((10, 20, 3), np.uint8), path)
    assert Image.open(path).size == (20, 10)
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]


def test_docstring_example_runs():
    assert doctest.testmod(rendering_env).failed == 0
