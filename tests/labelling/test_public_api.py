from __future__ import annotations

import importlib

import pytest

MODULES = ["vlm_reward.labelling", "vlm_reward.labelling.agreement", "vlm_reward.labelling.app",
           "vlm_reward.labelling.items", "vlm_reward.labelling.server",
           "vlm_reward.labelling.summary"]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name):
    module = importlib.import_module(name)
    for exported in module.__all__:
        assert getattr(module, exported) is not None, f"{name}.{exported}"


def test_static_page_ships_with_the_package():
    from vlm_reward.labelling.app import STATIC_DIR

    assert {p.name for p in STATIC_DIR.iterdir()} >= {"index.html", "app.js", "style.css"}
