"""VLM backends behind one interface (:class:`Embedder`) and one loader (:func:`load_model`).

Model specs (``vlm-reward models`` prints this table and every known architecture/tag):
    ``demo``                          the bundled offline demo model
    ``ViT-B-32/laion2b_s34b_b79k``    open_clip architecture / pretrained tag (cached or downloaded)
    ``ViT-B-32/random``               random weights of a known architecture (pipeline tests only)
    ``ViT-B-32:/path/model.safetensors``  architecture + local checkpoint file (.pt too)
    ``local-dir:PATH`` or ``PATH``    a folder with ``open_clip_config.json`` + weights
    ``hf-hub:org/repo``               an open_clip model on the Hugging Face Hub
    ``hf:PATH`` or ``PATH``           a transformers CLIPModel / SiglipModel folder (extra ``hf``)
    ``xclip:PATH`` or ``xclip:org/repo``  a transformers XCLIPModel: a video-language model
    ``NAME`` or ``NAME:ARGUMENT``     a backend added with :func:`register_backend`
"""

from __future__ import annotations

from vlm_reward.models.base import Embedder
from vlm_reward.models.loading import load_model
from vlm_reward.models.specs import BACKENDS, ModelSpec, parse_spec, register_backend

__all__ = ["BACKENDS", "Embedder", "ModelSpec", "load_model", "parse_spec", "register_backend"]
