"""Batched uint8 frames -> model input, as tensor ops on the model's device.

Replaces the per-frame PIL pipeline of reference CLIP transforms (resize shortest side,
centre crop, normalise) with one batched call. Resizing uses antialiased interpolation so the
result matches PIL's within a small tolerance (see tests/test_preprocess.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vlm_reward.errors import FrameError

__all__ = ["ImagePreprocess", "as_frame_batch"]


def as_frame_batch(frames: Any) -> torch.Tensor:
    """Validate frames and return them as a uint8 ``(N, H, W, 3)`` tensor (no copy if possible).

    Accepts numpy arrays or torch tensors, a single ``(H, W, 3)`` frame or a batch.
    """
    if isinstance(frames, np.ndarray):
        tensor = torch.from_numpy(np.ascontiguousarray(frames))
    elif isinstance(frames, torch.Tensor):
        tensor = frames
    elif isinstance(frames, Sequence) and len(frames) > 0:
        tensor = torch.from_numpy(np.stack([np.asarray(f) for f in frames]))
    else:
        raise FrameError(
            f"frames: expected a uint8 array or tensor of shape (N, H, W, 3), "
            f"got {type(frames).__name__}"
        )
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 4:
        raise FrameError(
            f"frames: expected shape (N, H, W, 3) or (H, W, 3), got {tuple(tensor.shape)}"
        )
    if tensor.shape[-1] != 3:
        hint = " (channels-first? transpose to (N, H, W, 3))" if tensor.shape[1] == 3 else ""
        raise FrameError(
            f"frames: expected 3 RGB channels in the last axis, got shape "
            f"{tuple(tensor.shape)}{hint}"
        )
    if tensor.dtype != torch.uint8:
        raise FrameError(
            f"frames: expected dtype uint8 (0-255 RGB), got {tensor.dtype}; "
            "convert with (x * 255).round().astype(np.uint8) if your frames are floats in [0, 1]"
        )
    if tensor.shape[0] == 0:
        raise FrameError("frames: got an empty batch (N = 0)")
    return tensor


@dataclass(frozen=True)
class ImagePreprocess:
    """CLIP-style preprocessing as batched tensor ops.

    Args:
        size: output (height, width) in pixels.
        mean: per-channel mean of the model's normalisation.
        std: per-channel std of the model's normalisation.
        interpolation: ``bicubic`` or ``bilinear``.
        resize_mode: ``shortest`` (resize shortest side then centre crop, the CLIP default) or
            ``squash`` (resize both sides, no crop).
    """

    size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"

    def __call__(self, frames: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Map uint8 ``(N, H, W, 3)`` frames to normalised ``(N, 3, h, w)`` in ``dtype``."""
        x = frames.permute(0, 3, 1, 2).float()
        out_h, out_w = self.size
        in_h, in_w = x.shape[-2:]
        if self.resize_mode == "squash":
            new_h, new_w = out_h, out_w
        else:
            scale = max(out_h / in_h, out_w / in_w)
            new_h, new_w = max(out_h, round(in_h * scale)), max(out_w, round(in_w * scale))
        if (new_h, new_w) != (in_h, in_w):
            x = F.interpolate(
                x, size=(new_h, new_w), mode=self.interpolation, antialias=True,
                align_corners=False,
            ).clamp_(0.0, 255.0)  # PIL clamps bicubic overshoot; so do we
        top, left = (new_h - out_h) // 2, (new_w - out_w) // 2
        x = x[..., top : top + out_h, left : left + out_w]
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1) * 255.0
        return ((x - mean) / std).to(dtype).contiguous()
