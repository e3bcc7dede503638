"""Small shared state of a run: episode statistics and the stop flag set by signals."""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

import numpy as np

__all__ = ["RunStats", "StopFlag", "stop_on_signals"]

WINDOW = 100  # episodes (or steps) averaged in logged means, as SB3's ep_info_buffer


def _window() -> deque[float]:
    return deque(maxlen=WINDOW)


@dataclass
class RunStats:
    """Rolling episode statistics and timers, filled by callbacks, read by logging."""

    gt_returns: deque[float] = field(default_factory=_window)
    vlm_returns: deque[float] = field(default_factory=_window)
    vlm_step_rewards: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    successes: deque[float] = field(default_factory=_window)
    inference_seconds: float = 0.0
    start_time: float = field(default_factory=time.perf_counter)
    start_steps: int = 0
    episodes: int = 0

    def summary(self, num_timesteps: int) -> dict[str, float | None]:
        """Means of the windows plus throughput; ``None`` where nothing was measured."""
        wall = max(time.perf_counter() - self.start_time, 1e-9)

        def mean(values: deque[float]) -> float | None:
            return float(np.mean(values)) if values else None

        return {
            "ground_truth_return": mean(self.gt_returns),
            "vlm_return": mean(self.vlm_returns),
            "vlm_step_reward": mean(self.vlm_step_rewards),
            "success_rate": mean(self.successes),
            "fps": (num_timesteps - self.start_steps) / wall,
            "reward_inference_share": min(1.0, self.inference_seconds / wall),
            "wall_seconds": wall,
            "episodes": float(self.episodes),
        }


class StopFlag:
    """Set by SIGINT/SIGTERM; training callbacks stop at the next step and a checkpoint is saved."""

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None


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
        if stop.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.requested = True
        stop.signal_name = signal.Signals(signum).name

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
