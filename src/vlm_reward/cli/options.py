"""Options shared by every command (set by the top-level callback)."""

from __future__ import annotations

from dataclasses import dataclass

from vlm_reward.errors import ConfigError

__all__ = ["GlobalOptions", "check_frame_size", "options"]


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
