"""One exception hierarchy for every user-facing failure.

The CLI turns any :class:`VLMRewardError` into a one-line message and a non-zero exit code;
anything else is a bug and keeps its traceback. Messages name the problem *and* the fix.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DependencyNotInstalled",
    "EnvError",
    "FrameError",
    "ModelNotFoundError",
    "OutputPathError",
    "PromptError",
    "RayWorkerError",
    "VLMRewardError",
    "WeightsUnavailableError",
]


class VLMRewardError(Exception):
    """Base class: a mistake or missing resource the user can fix."""


class ConfigError(VLMRewardError, ValueError):
    """An invalid argument or config value; the message names the key."""


class OutputPathError(ConfigError):
    """An output path that cannot be written as asked (a file where a folder is expected, a
    parent that is a file, no write permission); raised before any work starts."""


class ModelNotFoundError(VLMRewardError, LookupError):
    """Unknown model name, pretrained tag or backend; the message lists close matches."""


class WeightsUnavailableError(VLMRewardError):
    """Weights are not on disk and cannot be downloaded (offline, no network, bad URL)."""


class CheckpointError(VLMRewardError):
    """A checkpoint exists but cannot be read or does not match its architecture."""


class FrameError(VLMRewardError, ValueError):
    """Frames of the wrong shape, dtype or channel count."""


class PromptError(VLMRewardError, ValueError):
    """Empty or unusable prompt lists."""


class EnvError(VLMRewardError):
    """An environment that cannot be used as asked (e.g. it cannot render rgb_array)."""


class RayWorkerError(VLMRewardError, RuntimeError):
    """Ray workers could not start, all of them died, or their embedder was closed."""


class DependencyNotInstalled(VLMRewardError, ImportError):
    """An optional dependency is missing; the message gives the exact pip command."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'vlm-reward[{extra}]'"
        )
        self.package = package
        self.extra = extra
