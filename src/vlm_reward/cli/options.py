"""Options shared by every command (set by the top-level callback)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vlm_reward.errors import ConfigError

if TYPE_CHECKING:
    from vlm_reward.config import RewardConfig
    from vlm_reward.learned import LearnedReward

__all__ = ["GlobalOptions", "check_frame_size", "learned_reward", "options", "reward_config"]


@dataclass
class GlobalOptions:
    device: str = "auto"
    precision: str = "auto"
    offline: bool = False
    debug: bool = False


options = GlobalOptions()


def check_frame_size(width: int | None, height: int | None) -> None:
    """``--width``/``--height`` of the commands that render frames: positive pixel counts."""
    for name, value in (("--width", width), ("--height", height)):
        if value is not None and value < 1:
            raise ConfigError(f"{name}: expected a positive number of pixels, got {value}")


def reward_config(
    model: str,
    goal: Sequence[str] | None,
    baseline: Sequence[str] | None,
    alpha: float,
    reward_file: Path | None,
) -> RewardConfig:
    """The reward a scoring command uses: ``--reward FILE.yaml`` (any ``reward.kind``) or the
    VLM-RM reward of ``--goal/--baseline/--alpha``; validated by the config schema's own rules.
    """
    from vlm_reward.config import load_reward_config, validate_reward_config
    from vlm_reward.reward.rules import check_alpha

    if reward_file is not None:
        if goal or baseline or alpha:
            raise ConfigError("--reward gives the whole reward: drop --goal/--baseline/--alpha "
                              "(the file sets reward.goal, reward.baseline, reward.alpha), or "
                              "the file")
        return load_reward_config(reward_file, model)
    if not goal:
        raise ConfigError("give --goal SENTENCE (or --reward FILE.yaml for other reward kinds)")
    check_alpha(alpha, bool(baseline), "--baseline", "--alpha")  # the reward's rule, CLI names
    data = {"model": model, "goal": list(goal), "baseline": list(baseline) if baseline else None,
            "alpha": alpha}
    return validate_reward_config(data, "--goal/--baseline/--alpha")


def learned_reward(reward_file: Path | None, goal: Sequence[str] | None = None,
                   baseline: Sequence[str] | None = None) -> LearnedReward | None:
    """``--reward`` naming a learned reward (a run folder trained with ``reward.learned``, or
    its ``learned_reward.pt``), loaded without the VLM; None when ``--reward`` is a reward
    YAML or not given (then :func:`reward_config` applies)."""
    if reward_file is None:
        return None
    from vlm_reward.learned.build import learned_reward_file, load_learned_reward

    file = learned_reward_file(reward_file)
    if file is None:
        return None
    if goal or baseline:
        raise ConfigError("--reward gives the whole reward (a learned one): drop "
                          "--goal/--baseline")
    return load_learned_reward(file)
