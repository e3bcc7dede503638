"""The offline demo: a small image-text model trained on this project's renders, and a command
that trains a CartPole agent from one sentence with it. See docs/demo_model_card.md."""

from __future__ import annotations

__all__: list[str] = []
