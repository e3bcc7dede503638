"""VLM backends behind one interface (:class:`Embedder`) and one loader (:func:`load_model`).

Model specs:
    ``ViT-B-32/laion2b_s34b_b79k``  open_clip architecture / pretrained tag
    ``ViT-B-32/random``             random weights of a known architecture (pipeline tests only)
    ``local-dir:PATH`` or ``PATH``  a folder with ``open_clip_config.json`` + weights
"""

from __future__ import annotations

from vlm_reward.models.base import Embedder
from vlm_reward.models.loading import load_model

__all__ = ["Embedder", "load_model"]
