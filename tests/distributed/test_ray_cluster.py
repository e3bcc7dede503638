"""Connecting to Ray and validating RayEmbedder arguments, before any actor starts."""

from __future__ import annotations

import socket
import sys

import pytest

from vlm_reward.distributed import RayEmbedder, init_ray, require_ray
from vlm_reward.distributed.cluster import _check_address
from vlm_reward.errors import ConfigError, DependencyNotInstalled

ray = pytest.importorskip("ray")


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(DependencyNotInstalled, match=r"pip install 'vlm-reward\[ray\]'"):
        require_ray()
    with pytest.raises(DependencyNotInstalled):
        init_ray(None)


@pytest.mark.parametrize("address", ["auto", "10.0.0.5:6379", "head.local:6379", "ray://h:10001"])
def test_valid_addresses_pass(address: str) -> None:
    assert _check_address(address) == address


@pytest.mark.parametrize("address", ["", "  ", "10.0.0.5", "host:port", ":6379"])
def test_malformed_addresses_are_config_errors(address: str) -> None:
    with pytest.raises(ConfigError, match="ray_address"):
        _check_address(address)


def test_unreachable_head_fails_fast_with_a_hint() -> None:
    with socket.socket() as sock:  # a port nothing listens on: bind, then close
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConfigError, match="ray start --head"):
        init_ray(f"127.0.0.1:{port}")
    assert not ray.is_initialized()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_workers": 0}, "num_workers"),
        ({"num_cpus_per_worker": 0}, "num_cpus_per_worker"),
        ({"num_gpus_per_worker": -1}, "num_gpus_per_worker"),
        ({"device": "cuda"}, "num_gpus_per_worker"),
        ({"device": "cuda:1", "num_gpus_per_worker": 1}, "device"),
        ({"device": "cpu", "num_gpus_per_worker": 1}, "num_gpus_per_worker"),
        ({"precision": "fp8"}, "precision"),
        ({"precision": "fp16"}, "fp16"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_restarts": -1}, "max_restarts"),
    ],
)
def test_create_rejects_bad_arguments_before_starting_ray(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        RayEmbedder.create("ViT-B-32/random", **kwargs)
    assert not ray.is_initialized()
