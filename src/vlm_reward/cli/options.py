"""Options shared by every command (set by the top-level callback)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GlobalOptions", "options"]


@dataclass
class GlobalOptions:
    device: str = "auto"
    precision: str = "auto"
    offline: bool = False
    debug: bool = False


options = GlobalOptions()
