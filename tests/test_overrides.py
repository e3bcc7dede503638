"""The one KEY=VALUE parser: YAML values, errors that name the option and show the form."""

from __future__ import annotations

import doctest

import pytest

from vlm_reward import overrides
from vlm_reward.config import apply_overrides
from vlm_reward.errors import ConfigError
from vlm_reward.overrides import parse_override, parse_overrides, parse_value


@pytest.mark.parametrize(("text", "value"), [
    ("False", False), ("false", False), ("true", True), ("3", 3), ("-7", -7), ("2.5", 2.5),
    ("1e-3", 1e-3), ("-2E+4", -2e4), ("1.5e3", 1500.0), ("[1, episode]", [1, "episode"]),
    ("{a: 1}", {"a": 1}), ("null", None), ("", None), ("x", "x"), ("'3'", "3"),
    ("ViT-B-32/openai", "ViT-B-32/openai"), ("cuda:0", "cuda:0"), ("1e", "1e"),
])
def test_values_read_as_yaml(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_invalid_yaml_stays_a_string():
    assert parse_value("a: b: c") == "a: b: c"
    assert parse_value("@home") == "@home"


def test_items_split_at_the_first_equals_and_strip_the_key():
    assert parse_override(" textured =False", "--env-kwarg") == ("textured", False)
    assert parse_override("goal=a=b", "--set") == ("goal", "a=b")
    assert parse_overrides(["n=1", "n=2", "m=[]"], "--fix") == {"n": 2, "m": []}
    assert parse_overrides(None, "--fix") == {}


@pytest.mark.parametrize("item", ["textured", "=False", " =3", ""])
def test_bad_items_name_the_option_the_item_and_the_form(item):
    with pytest.raises(ConfigError) as info:
        parse_override(item, "--env-kwarg", "textured=false")
    message = str(info.value)
    assert message.startswith("--env-kwarg: expected KEY=VALUE")
    assert "--env-kwarg textured=false" in message and repr(item) in message


def test_config_overrides_use_the_same_values_and_keep_dotted_keys():
    data = {"algorithm": {"name": "PPO"}}
    apply_overrides(data, ["algorithm.hyperparameters.learning_rate=1e-3",
                           "algorithm.hyperparameters.train_freq=[1, episode]",
                           "env.kwargs.textured=False", "seed=3"])
    assert data == {"algorithm": {"name": "PPO", "hyperparameters": {
        "learning_rate": 1e-3, "train_freq": [1, "episode"]}},
        "env": {"kwargs": {"textured": False}}, "seed": 3}
    with pytest.raises(ConfigError, match=r"^--set: expected KEY=VALUE.*'total_steps'"):
        apply_overrides({}, ["total_steps"])
    with pytest.raises(ConfigError, match="empty part"):
        apply_overrides({}, ["reward..alpha=1"])


def test_docstring_example_runs():
    assert doctest.testmod(overrides).failed == 0
