"""X-CLIP (transformers ``XCLIPModel``), a video-language model, behind the embedder interface.

X-CLIP embeds a *clip* of ``num_frames`` frames (8 for ``microsoft/xclip-base-patch32``): its
vision tower lets the frames of a clip attend to each other (cross-frame message tokens), and
a multi-frame integration transformer pools them into one video embedding, contrasted with the
text embedding in training. So:

* :meth:`XCLIPEmbedder.encode_clips` embeds clips of any length: each is resampled to
  ``num_frames`` evenly spaced frames (a shorter clip repeats frames) and embedded as one video.
* :meth:`~vlm_reward.models.base.Embedder.encode_images` embeds each frame as a *static clip*
  (the frame repeated ``num_frames`` times), not as X-CLIP's frame-level features: those are
  never compared with text in X-CLIP's training and depend on the other frames of the clip.
  A frame costs ``num_frames`` frames of compute.
* Text uses ``get_text_features``: the sentence alone. X-CLIP's prompt generator, which shifts
  text embeddings towards each video, is not applied, so that a goal is embedded once and the
  reward stays a function of the clip's embedding (the reward families' contract).

Frames go through the same batched uint8 :class:`~vlm_reward.preprocess.ImagePreprocess` as
the other backends, configured from the folder's ``preprocessor_config.json``. Loading (local
folders, the Hugging Face cache, offline errors, strict weight checks) is the transformers
backend's (:func:`vlm_reward.models.hf_backend.load_transformers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vlm_reward.errors import FrameError
from vlm_reward.models.hf_backend import TransformersEmbedder, _features, load_hf_model
from vlm_reward.models.open_clip_backend import LoadOptions
from vlm_reward.models.specs import ModelSpec
from vlm_reward.preprocess import as_frame_batch, frames_to_device

__all__ = ["XCLIPEmbedder", "clip_indices", "load_xclip"]


def clip_indices(length: int, num_frames: int) -> np.ndarray:
    """``num_frames`` evenly spaced frame indices of a clip of ``length`` frames, first and last
    included; a clip shorter than ``num_frames`` repeats frames (a single frame: all of it).

    Example:
        >>> clip_indices(10, 4).tolist()
        [0, 3, 6, 9]
        >>> clip_indices(2, 4).tolist()
        [0, 0, 1, 1]
    """
    if length < 1:
        raise FrameError("clips: got a clip with no frames")
    return np.floor(np.linspace(0, length - 1, num_frames) + 0.5).astype(np.int64)


class XCLIPEmbedder(TransformersEmbedder):
    """A transformers ``XCLIPModel``; build with ``load_model("xclip:FOLDER")`` (or ``hf:``)."""

    is_video = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.num_frames = int(self.model.config.vision_config.num_frames)

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "num_frames": self.num_frames}

    @property
    def clips_per_batch(self) -> int:
        """Clips per forward pass: ``batch_size`` frames' worth, at least one clip."""
        return max(1, self.batch_size // self.num_frames)

    def _video_features(self, frames: torch.Tensor, n_clips: int) -> torch.Tensor:
        """Video embeddings of ``n_clips`` clips given as ``(n_clips * num_frames, H, W, 3)``
        uint8 frames on the device, clip by clip."""
        pixels = self.preprocess(frames, self.dtype)
        pixels = pixels.reshape(n_clips, self.num_frames, *pixels.shape[1:])
        return _features(self.model.get_video_features(pixel_values=pixels))

    def _encode_image_batch(self, frames: torch.Tensor) -> torch.Tensor:
        out = []
        for chunk in frames.split(self.clips_per_batch):  # each frame a static clip
            static = chunk.repeat_interleave(self.num_frames, dim=0)
            out.append(self._video_features(static, chunk.shape[0]))
        return torch.cat(out)

    @torch.inference_mode()
    def encode_clips(self, clips: Any) -> torch.Tensor:
        """Embed clips into ``(N, D)`` unit video embeddings.

        Args:
            clips: uint8 ``(N, T, H, W, 3)`` (numpy or torch), or a sequence of ``N`` clips of
                shape ``(T_i, H, W, 3)`` (lengths may differ; frame sizes may not). Each clip
                is resampled to :attr:`num_frames` frames by :func:`clip_indices`.
        """
        items = list(clips) if isinstance(clips, Sequence) else list(_as_clip_array(clips))
        if not items:
            raise FrameError("clips: got no clips")
        batch = [as_frame_batch(c) for c in items]
        if len({tuple(c.shape[1:]) for c in batch}) != 1:
            raise FrameError("clips: every clip's frames must have the same (H, W, 3) size")
        picked = [c[torch.from_numpy(clip_indices(c.shape[0], self.num_frames))] for c in batch]
        chunks = []
        for start in range(0, len(picked), self.clips_per_batch):
            group = picked[start:start + self.clips_per_batch]
            frames = frames_to_device(torch.cat(group), self.device)
            chunks.append(self._video_features(frames, len(group)).float())
            self.image_calls += 1
        return F.normalize(torch.cat(chunks), dim=-1).cpu()


def _as_clip_array(clips: Any) -> Any:
    if isinstance(clips, (np.ndarray, torch.Tensor)) and clips.ndim == 5:
        return clips
    shape = tuple(getattr(clips, "shape", ()))
    raise FrameError(
        f"clips: expected uint8 (N, T, H, W, 3) or a list of (T, H, W, 3) clips, got "
        f"{type(clips).__name__}{' of shape ' + str(shape) if shape else ''}"
    )


def load_xclip(spec: ModelSpec, opts: LoadOptions) -> XCLIPEmbedder:
    """Load an XCLIPModel folder (``xclip:FOLDER``) or cached Hub repo (``xclip:ORG/REPO``)."""
    hf = load_hf_model(spec, opts, ("xclip",))
    return XCLIPEmbedder(
        hf.model, hf.tokenizer, hf.preprocess, model_type=hf.model_type,
        context_length=hf.context_length, name=spec.text, device=opts.device, dtype=opts.dtype,
        batch_size=opts.batch_size, weight_files=[hf.folder],
    )
