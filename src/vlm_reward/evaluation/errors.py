"""Errors of the evaluation toolkit, inside the package-wide :mod:`vlm_reward.errors` hierarchy.

Both derive from :class:`~vlm_reward.errors.VLMRewardError`, so the CLI prints them as one line
and exits non-zero.
"""

from __future__ import annotations

from vlm_reward.errors import VLMRewardError

__all__ = ["DatasetError", "MetricError"]


class DatasetError(VLMRewardError, ValueError):
    """A dataset folder or labels file that is missing, incomplete or not in the contract format."""


class MetricError(VLMRewardError, ValueError):
    """A metric that is undefined for the given data (constant vector, one class only, ...)."""
