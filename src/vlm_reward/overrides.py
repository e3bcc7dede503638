"""``KEY=VALUE`` items from the command line, with YAML value semantics.

One parser for every option that takes such items (``--set`` of ``train``, ``--env-kwarg`` of
``eval`` and ``render``, ``--fix`` of ``eval sweep``/``collect``), so a value means the same
thing everywhere, and the same as it would in a YAML config: ``False`` is a bool, ``3`` an
int, ``1e-3`` a float, ``[1, episode]`` a list, ``null`` None, anything else a string.
Exponent floats without a dot (``1e-3``) are read as floats, as YAML 1.2 does (PyYAML follows
YAML 1.1, where they would be strings). A value that is not valid YAML stays a plain string.

Example:
    >>> parse_overrides(["textured=False", "episode_length=50", "lr=1e-3"], "--env-kwarg")
    {'textured': False, 'episode_length': 50, 'lr': 0.001}
    >>> parse_overrides(["train_freq=[1, episode]", "name=x"], "--set")
    {'train_freq': [1, 'episode'], 'name': 'x'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

from vlm_reward.errors import ConfigError

__all__ = ["parse_override", "parse_overrides", "parse_value"]


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also resolves YAML 1.2 floats such as ``1e-3`` and ``2E5``."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_value(text: str) -> Any:
    """``text`` read as a YAML value (see the module docstring); invalid YAML stays a string."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError:
        return text


def parse_override(item: str, option: str, example: str = "key=value") -> tuple[str, Any]:
    """Split one ``KEY=VALUE`` item of ``option`` into ``(key, parsed value)``.

    Raises:
        ConfigError: no ``=`` or an empty key; the message names ``option`` and the item.
    """
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(
            f"{option}: expected KEY=VALUE (e.g. {option} {example}), got {item!r}"
        )
    return key, parse_value(raw.strip())


def parse_overrides(
    items: Iterable[str] | None, option: str, example: str = "key=value"
) -> dict[str, Any]:
    """``{key: value}`` of all ``items`` of ``option``, in order (a repeated key: last wins)."""
    return dict(parse_override(item, option, example) for item in items or ())
