"""The preset tasks of the benchmark suites, as data: env settings, prompts, success rule.

One :class:`Preset` per task says everything a user would otherwise have to find out per
task: which suite env and task name it wraps, the camera and episode length that show the
task to a VLM, how ``info["success"]`` is decided, and a prompt set (goal, baseline and
negative sentences). The env classes, the shipped configs (``scripts/write_suite_configs.py``)
and ``docs/suites.md`` all read this table; importing it imports no suite package.

Example:
    >>> from vlm_reward.envs.suites.presets import PRESETS
    >>> p = PRESETS["vlm_reward/metaworld-door-open-v0"]
    >>> p.suite, p.task, p.camera
    ('metaworld', 'door-open', 'corner4')
    >>> p.goal
    'a robot arm pulling a door wide open'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["PRESETS", "SUITES", "Preset", "SuiteInfo", "preset_id"]

Suite = Literal["metaworld", "dmc", "atari"]


@dataclass(frozen=True)
class SuiteInfo:
    """What a suite needs installed, and the env class that wraps it."""

    name: Suite
    title: str
    extra: str  # ``pip install 'vlm-reward[<extra>]'``
    package: str  # the import name whose absence means "extra not installed"
    entry_point: str


SUITES: dict[str, SuiteInfo] = {
    "metaworld": SuiteInfo(
        "metaworld", "Meta-World v3", "metaworld", "metaworld",
        "vlm_reward.envs.suites.metaworld:MetaWorldEnv",
    ),
    "dmc": SuiteInfo(
        "dmc", "DeepMind Control", "dmc", "dm_control",
        "vlm_reward.envs.suites.dmc:DMControlEnv",
    ),
    "atari": SuiteInfo(
        "atari", "Atari (ALE)", "atari", "ale_py",
        "vlm_reward.envs.suites.atari:AtariEnv",
    ),
}


@dataclass(frozen=True)
class Preset:
    """One task of a suite, ready for ``gymnasium.make`` and a VLM reward.

    Attributes:
        suite: ``metaworld``, ``dmc`` or ``atari``.
        task: the suite's own task name (``door-open``, ``cartpole-swingup``, ``pong``).
        camera: camera the VLM sees the task through (a Meta-World camera name, a DMC
            camera id as a string, or ``screen`` for Atari).
        episode_length: steps per episode (truncation); None = the game's own end.
        success: how ``info["success"]`` is decided, in words (also in docs/suites.md).
        success_threshold: DMC: per-step task reward at or above which a step succeeds.
        goal: goal sentence of the VLM reward.
        baseline: baseline sentence (the scene in general) for goal-baseline regularisation.
        negatives: sentences describing failure or other states (for prompt evaluation and
            MineCLIP-style softmax rewards).
        continuous: continuous actions (SAC) or discrete (PPO/DQN).
    """

    suite: Suite
    task: str
    camera: str
    episode_length: int | None
    success: str
    goal: str
    baseline: str
    negatives: tuple[str, ...]
    continuous: bool
    success_threshold: float | None = None

    @property
    def env_id(self) -> str:
        """The Gymnasium id, e.g. ``vlm_reward/metaworld-door-open-v0``."""
        return preset_id(self.suite, self.task)

    @property
    def has_success(self) -> bool:
        """False for tasks without a success rule (``info`` then has no ``success`` key)."""
        return not self.success.startswith("none")

    @property
    def info(self) -> SuiteInfo:
        """The suite this preset belongs to."""
        return SUITES[self.suite]


def preset_id(suite: str, task: str) -> str:
    """The Gymnasium id of a preset: ``vlm_reward/<suite>-<task>-v0``."""
    return f"vlm_reward/{suite}-{task}-v0"


_MW_SUCCESS = (
    "Meta-World's own per-task `success` flag (e.g. door-open: the door within 0.08 rad of "
    "fully open; push: the puck within 5 cm of the goal), reported on every step"
)
_MW_BASELINE = "a robot arm above a table"


def _mw(task: str, camera: str, goal: str, negatives: tuple[str, ...]) -> Preset:
    return Preset("metaworld", task, camera, 500, _MW_SUCCESS, goal, _MW_BASELINE, negatives,
                  continuous=True)


def _dmc(task: str, threshold: float, rule: str, goal: str, baseline: str,
         negatives: tuple[str, ...], camera: str = "0") -> Preset:
    success = (f"the step's task reward (in [0, 1]) is at least {threshold}: {rule}")
    return Preset("dmc", task, camera, 1000, success, goal, baseline, negatives,
                  continuous=True, success_threshold=threshold)


def _atari(task: str, success: str, goal: str, baseline: str,
           negatives: tuple[str, ...]) -> Preset:
    return Preset("atari", task, "screen", None, success, goal, baseline, negatives,
                  continuous=False)


_ALL: tuple[Preset, ...] = (
    _mw("door-open", "corner4", "a robot arm pulling a door wide open",
        ("a closed door next to a robot arm", "a robot arm far away from the door handle")),
    _mw("drawer-open", "corner", "a robot arm pulling a drawer open",
        ("a closed drawer next to a robot arm", "a robot arm far away from the drawer")),
    _mw("drawer-close", "corner", "a robot arm pushing a drawer shut, the drawer closed",
        ("an open drawer sticking out", "a robot arm far away from the drawer")),
    _mw("button-press-topdown", "corner", "a robot arm pressing a red button down from above",
        ("a robot arm far above the button", "a red button that is not pressed")),
    _mw("window-open", "corner4", "a robot arm sliding a window open",
        ("a closed window next to a robot arm", "a robot arm far away from the window")),
    _mw("window-close", "corner4", "a robot arm sliding a window shut, the window closed",
        ("an open window next to a robot arm", "a robot arm far away from the window")),
    _mw("sweep-into", "corner3", "a robot arm sweeping a block into the hole in the table",
        ("a block far away from the hole", "a robot arm far away from the block")),
    _mw("soccer", "corner3", "a robot arm pushing a ball into the goal net",
        ("a ball far away from the goal", "a robot arm far away from the ball")),
    _mw("reach", "corner3", "a robot arm touching the red target point with its gripper",
        ("a robot arm far away from the target", "a robot arm pointing away from the target")),
    _mw("push", "corner3", "a robot arm pushing a puck onto the green goal mark",
        ("a puck far away from the goal mark", "a robot arm far away from the puck")),
    _dmc("cartpole-swingup", 0.9,
         "the pole within about 35 degrees of upright, the cart near the centre of the rail, "
         "both slow",
         "a pole balanced upright on top of a cart", "a pole attached to a cart on a rail",
         ("a pole hanging down below the cart", "a pole lying sideways next to the cart")),
    _dmc("walker-stand", 0.9,
         "the torso near its standing height of 1.2 m and upright",
         "a two-legged robot standing upright", "a two-legged robot",
         ("a two-legged robot lying on the ground", "a two-legged robot falling over",
          "a two-legged robot kneeling")),
    _dmc("cheetah-run", 0.5,
         "running forward at 5 m/s or more (the reward is speed / 10, capped at 1)",
         "a cheetah robot running forward fast", "a cheetah robot",
         ("a cheetah robot lying on its back", "a cheetah robot standing still",
          "a cheetah robot flipped over")),
    _dmc("finger-spin", 0.5,
         "the hinged body spinning fast (the reward is 1 while its angular velocity is "
         "beyond 15 rad/s, else 0)",
         "a robot finger flicking a spinning pole", "a robot finger next to a pole on a hinge",
         ("a pole standing still next to a robot finger",
          "a robot finger far away from the pole")),
    _atari("pong",
           "the agent is ahead: more points won than lost so far in the episode (the running "
           "sum of the game's +1/-1 point rewards is positive)",
           "the green paddle on the right hits the ball back past the orange paddle",
           "a game of Pong with two paddles and a ball",
           ("the ball flies past the green paddle", "the green paddle misses the ball")),
    _atari("breakout",
           "none: Breakout has no natural success state (info has no 'success' key)",
           "a wall of bricks with many bricks knocked out by the ball",
           "a game of Breakout with a paddle, a ball and a wall of bricks",
           ("a full wall of bricks with no brick broken", "the ball falls past the paddle")),
    _atari("freeway",
           "the chicken has crossed the road at least once in the episode (the game scores "
           "+1 per crossing)",
           "a chicken reaching the far side of the road at the top of the screen",
           "a chicken crossing a busy road with cars",
           ("a chicken at the bottom of the road", "a chicken hit by a car")),
)

PRESETS: dict[str, Preset] = {p.env_id: p for p in _ALL}
