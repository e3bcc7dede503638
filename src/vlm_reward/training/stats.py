"""Small shared state of a run: episode statistics and the stop flag set by signals."""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np

__all__ = ["RunStats", "StopFlag", "stop_on_signals"]

WINDOW = 100  # episodes (or steps) averaged in logged means, as SB3's ep_info_buffer


def _window() -> deque[float]:
    return deque(maxlen=WINDOW)


@dataclass
class RunStats:
    """Rolling episode statistics and timers, filled by callbacks, read by logging.

    A run may take several processes (segments: interrupted, resumed); :meth:`to_state` is
    saved with every checkpoint and :meth:`from_state` restores it, so windows, episode counts,
    wall time and inference time cover the whole run, not the last segment.
    """

    gt_returns: deque[float] = field(default_factory=_window)
    vlm_returns: deque[float] = field(default_factory=_window)
    vlm_step_rewards: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    successes: deque[float] = field(default_factory=_window)
    inference_seconds: float = 0.0
    start_time: float = field(default_factory=time.perf_counter)
    start_steps: int = 0
    episodes: int = 0
    wall_before: float = 0.0
    """Training seconds of earlier segments, up to the checkpoint this segment resumed from."""
    steps_before: int = 0
    """Env steps that ``wall_before`` covers (0 when earlier segments' statistics are lost)."""
    resumed_from: list[int] = field(default_factory=list)
    """Step counts at which later segments started."""

    def begin_segment(self, num_timesteps: int) -> None:
        """Start this process's clock at ``num_timesteps`` (called when training starts)."""
        self.start_time = time.perf_counter()
        self.start_steps = num_timesteps

    def wall_seconds(self) -> float:
        """Training wall time of the whole run so far."""
        return self.wall_before + time.perf_counter() - self.start_time

    def summary(self, num_timesteps: int) -> dict[str, float | None]:
        """Means of the windows plus throughput; ``None`` where nothing was measured."""
        wall = max(self.wall_seconds(), 1e-9)

        def mean(values: deque[float]) -> float | None:
            return float(np.mean(values)) if values else None

        steps = self.steps_before + num_timesteps - self.start_steps
        return {
            "ground_truth_return": mean(self.gt_returns),
            "vlm_return": mean(self.vlm_returns),
            "vlm_step_reward": mean(self.vlm_step_rewards),
            "success_rate": mean(self.successes),
            "fps": steps / wall,
            "reward_inference_share": min(1.0, self.inference_seconds / wall),
            "wall_seconds": wall,
            "episodes": float(self.episodes),
        }

    def to_state(self, num_timesteps: int) -> dict[str, Any]:
        """Plain-JSON snapshot at ``num_timesteps`` (saved with each checkpoint)."""
        return {
            "gt_returns": list(self.gt_returns),
            "vlm_returns": list(self.vlm_returns),
            "vlm_step_rewards": [float(f"{r:.6g}") for r in self.vlm_step_rewards],
            "successes": list(self.successes),
            "inference_seconds": self.inference_seconds,
            "episodes": self.episodes,
            "wall_seconds": self.wall_seconds(),
            "steps_timed": self.steps_before + num_timesteps - self.start_steps,
            "resumed_from": list(self.resumed_from),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any] | None, num_timesteps: int) -> RunStats:
        """Continue the statistics saved at ``num_timesteps``; fresh ones if ``state`` is None."""
        stats = cls(start_steps=num_timesteps)
        stats.resumed_from = [*(state or {}).get("resumed_from", []), num_timesteps]
        if state is None:
            return stats
        stats.gt_returns.extend(state.get("gt_returns", []))
        stats.vlm_returns.extend(state.get("vlm_returns", []))
        stats.vlm_step_rewards.extend(state.get("vlm_step_rewards", []))
        stats.successes.extend(state.get("successes", []))
        stats.inference_seconds = float(state.get("inference_seconds", 0.0))
        stats.episodes = int(state.get("episodes", 0))
        stats.wall_before = float(state.get("wall_seconds", 0.0))
        stats.steps_before = int(state.get("steps_timed", 0))
        return stats


class StopFlag:
    """Training stops at the next step and a checkpoint is saved once ``requested`` is set.

    Set by SIGINT/SIGTERM (``signal_name`` says which) or by the step limit (``signal_name``
    stays None); callbacks that record steps read it to skip the step SB3 will not store.
    """

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None

    @property
    def interrupted(self) -> bool:
        """True when a signal, not the step limit, stopped training."""
        return self.signal_name is not None


@contextmanager
def stop_on_signals(stop: StopFlag) -> Iterator[StopFlag]:
    """Turn the first SIGINT/SIGTERM into a graceful stop; a second SIGINT interrupts at once.

    Only installs handlers in the main thread (Python allows no other); elsewhere it is a no-op.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.interrupted and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.requested = True
        stop.signal_name = signal.Signals(signum).name

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
