"""Connecting to Ray: start a private local instance or join an existing cluster.

One helper, :func:`init_ray`, serves the library (``RayEmbedder.create``) and the CLI
(``vlm-reward train --ray-address``), so both treat addresses, missing packages and unreachable
clusters the same way. A local instance is started without the dashboard and with usage
statistics off, so it serves only this process and nothing phones home.
"""

from __future__ import annotations

import logging
import os
import socket
from types import ModuleType
from typing import Any

from vlm_reward.errors import ConfigError, DependencyNotInstalled

__all__ = ["init_ray", "ray_started_here", "require_ray", "shutdown_ray"]

logger = logging.getLogger(__name__)

# True while a Ray instance started by init_ray(None) is running in this process; only that
# instance is ours to shut down. A cluster we merely connected to belongs to someone else.
_started_here = False


def require_ray(purpose: str = "Ray inference (reward.backend: ray)") -> ModuleType:
    """Import and return :mod:`ray`, or explain how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise DependencyNotInstalled("ray", "ray", purpose) from exc
    return ray


def _check_address(address: str) -> str:
    address = address.strip()
    if not address:
        raise ConfigError(
            "ray_address: got an empty string; use 'auto', 'HOST:PORT', 'ray://HOST:PORT', "
            "or leave it unset to start a local Ray instance"
        )
    if address == "auto" or address.startswith("ray://"):
        return address
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"ray_address: expected 'auto', 'HOST:PORT' or 'ray://HOST:PORT', got {address!r} "
            "(the head node prints its address when started with `ray start --head`)"
        )
    return address


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an unreachable head node; Ray itself retries for minutes before giving up."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ConfigError(
            f"ray_address: nothing answers at {address!r} ({exc.strerror or exc}). Is the head "
            "node running (`ray start --head` prints its address) and is the port open? Leave "
            "the address unset to start a local Ray instance instead"
        ) from exc


def init_ray(address: str | None = None, num_cpus: int | None = None) -> dict[str, float]:
    """Make sure this process is connected to Ray and return the cluster's total resources.

    Args:
        address: ``None`` starts a private Ray instance on this machine (no dashboard);
            ``"auto"`` joins the cluster this machine belongs to (started with ``ray start``);
            ``"HOST:PORT"`` joins the cluster whose head node listens there;
            ``"ray://HOST:PORT"`` uses Ray Client.
        num_cpus: CPUs the private instance may use (default: all cores). Ignored when
            joining an existing cluster, whose resources are set by ``ray start``.

    Returns:
        ``ray.cluster_resources()``, e.g. ``{"CPU": 2.0, "memory": ..., ...}``.

    If Ray is already initialised in this process, the existing connection is reused.

    Example:
        >>> from vlm_reward.distributed import init_ray, shutdown_ray
        >>> init_ray(None, num_cpus=2)["CPU"]  # doctest: +SKIP
        2.0
        >>> shutdown_ray()  # doctest: +SKIP
    """
    global _started_here
    ray = require_ray()
    if num_cpus is not None and num_cpus < 1:
        raise ConfigError(f"num_cpus: expected a positive integer, got {num_cpus}")
    if ray.is_initialized():
        return dict(ray.cluster_resources())
    # Usage statistics would try to reach the internet; these machines have none to spare.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
    if address is None:
        kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
        ray.init(**kwargs)
        _started_here = True
        logger.info("started a local Ray instance with %s CPUs", kwargs["num_cpus"])
    else:
        address = _check_address(address)
        _probe(address)
        kwargs.pop("include_dashboard")  # only meaningful when starting a new instance
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                f"ray_address: could not connect to a Ray cluster at {address!r} ({exc}). "
                "Start one with `ray start --head` (workers join with "
                "`ray start --address HEAD_IP:6379`), or leave the address unset to start a "
                "local instance"
            ) from exc
        logger.info("connected to the Ray cluster at %s", address)
    return dict(ray.cluster_resources())


def ray_started_here() -> bool:
    """True if the current Ray instance was started by :func:`init_ray` in this process."""
    return _started_here


def shutdown_ray() -> None:
    """Disconnect from Ray; a local instance started by :func:`init_ray` is stopped with it."""
    global _started_here
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
    _started_here = False
