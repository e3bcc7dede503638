from __future__ import annotations


def test_static_page_ships_with_the_package():
    from vlm_reward.labelling.app import STATIC_DIR

    assert {p.name for p in STATIC_DIR.iterdir()} >= {"index.html", "app.js", "style.css"}
