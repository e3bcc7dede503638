"""open_clip backend: any open_clip architecture, pretrained tag, local file or folder."""

from __future__ import annotations

from typing import Any

import torch

from vlm_reward.models.base import Embedder
from vlm_reward.preprocess import ImagePreprocess

__all__ = ["OpenCLIPEmbedder"]


class OpenCLIPEmbedder(Embedder):
    """Wraps a loaded open_clip model; build it with :func:`vlm_reward.load_model`."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        preprocess: ImagePreprocess,
        *,
        name: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int = 64,
        is_random: bool = False,
    ) -> None:
        embed_dim = int(model.text_projection.shape[-1]) if _has_text_proj(model) else None
        if embed_dim is None:
            with torch.inference_mode():
                probe = model.encode_text(tokenizer(["probe"]).to(device))
            embed_dim = int(probe.shape[-1])
        super().__init__(
            name=name, device=device, dtype=dtype, embed_dim=embed_dim,
            batch_size=batch_size, is_random=is_random,
        )
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.preprocess = preprocess
        self.context_length = int(getattr(tokenizer, "context_length", 77))

    def _encode_image_batch(self, frames: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(self.preprocess(frames, self.dtype))

    def _encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(texts).to(self.device)
        return self.model.encode_text(tokens)


def _has_text_proj(model: torch.nn.Module) -> bool:
    proj = getattr(model, "text_projection", None)
    return isinstance(proj, torch.Tensor) and proj.ndim == 2
