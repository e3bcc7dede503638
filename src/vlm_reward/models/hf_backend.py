"""transformers backend (extra ``hf``): CLIPModel and SiglipModel folders saved with
``save_pretrained`` (config.json + weights + tokenizer + preprocessor_config.json). The
video-language XCLIPModel loads through the same code (:func:`load_hf_model`), behind
:mod:`vlm_reward.models.xclip_backend`.

Images go through the same batched :class:`~vlm_reward.preprocess.ImagePreprocess` as open_clip
models, configured from the folder's ``preprocessor_config.json`` (size, crop, resample,
mean/std), so no PIL runs per frame. Loading is strict: missing weights or weights that leave
parameters uninitialised are a :class:`CheckpointError`, never silently random.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vlm_reward.errors import CheckpointError, DependencyNotInstalled, ModelNotFoundError
from vlm_reward.models.base import Embedder
from vlm_reward.models.open_clip_backend import LoadOptions
from vlm_reward.models.specs import ModelSpec
from vlm_reward.preprocess import ImagePreprocess

__all__ = ["SUPPORTED_MODEL_TYPES", "HFModel", "TransformersEmbedder", "load_hf_model",
           "load_transformers", "preprocess_from_hf_config"]

SUPPORTED_MODEL_TYPES = ("clip", "siglip")
#: transformers model class of each model_type this package loads
_MODEL_CLASSES = {"clip": "CLIPModel", "siglip": "SiglipModel", "xclip": "XCLIPModel"}
_RESAMPLE = {0: "nearest", 2: "bilinear", 3: "bicubic"}  # PIL resample codes
_DEFAULT_NORM = {
    "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "siglip": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "spiece.model", "tokenizer.model")
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")


class TransformersEmbedder(Embedder):
    """A transformers ``CLIPModel`` or ``SiglipModel``; build with ``load_model("hf:...")``."""

    def __init__(
        self,
        model: Any,  # open_clip / transformers module; duck-typed encode methods
        tokenizer: Any,
        preprocess: ImagePreprocess,
        *,
        model_type: str,
        context_length: int,
        name: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int = 64,
        weight_files: Sequence[Path] = (),
    ) -> None:
        cfg = model.config
        embed_dim = int(getattr(cfg, "projection_dim", 0) or cfg.text_config.hidden_size)
        super().__init__(name=name, device=device, dtype=dtype, embed_dim=embed_dim,
                         batch_size=batch_size, weight_files=weight_files)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.preprocess = preprocess
        self.model_type = model_type
        self.context_length = context_length

    @property
    def logit_scale(self) -> float | None:
        """The model's learned softmax temperature (``exp`` of its log scale), e.g. ~100."""
        scale = getattr(self.model, "logit_scale", None)
        return None if scale is None else float(torch.as_tensor(scale).detach().float().exp())

    @property
    def frame_elements(self) -> int | None:
        """Patches x hidden size of the vision tower, from its config."""
        vc = getattr(self.model.config, "vision_config", None)
        try:
            patches = (int(vc.image_size) // int(vc.patch_size)) ** 2
            return patches * int(vc.hidden_size)
        except (AttributeError, TypeError, ValueError, ZeroDivisionError):
            return None

    def _encode_image_batch(self, frames: torch.Tensor) -> torch.Tensor:
        out = self.model.get_image_features(pixel_values=self.preprocess(frames, self.dtype))
        return _features(out)

    def _encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        for text in texts:
            n = len(self.tokenizer(text)["input_ids"])
            if n > self.context_length:
                warnings.warn(
                    f"prompt {text!r} is {n} tokens long but {self.name!r} reads at most "
                    f"{self.context_length}: it was truncated; shorten the prompt",
                    stacklevel=4,
                )
        if self.model_type == "siglip":  # SigLIP was trained on max-length padded text
            enc = self.tokenizer(texts, padding="max_length", truncation=True,
                                 max_length=self.context_length, return_tensors="pt")
            out = self.model.get_text_features(input_ids=enc["input_ids"].to(self.device))
        else:
            enc = self.tokenizer(texts, padding=True, truncation=True,
                                 max_length=self.context_length, return_tensors="pt")
            out = self.model.get_text_features(
                input_ids=enc["input_ids"].to(self.device),
                attention_mask=enc["attention_mask"].to(self.device),
            )
        return _features(out)


def _features(out: Any) -> torch.Tensor:
    """transformers 5 returns a model output whose pooler_output is projected; 4.x a tensor."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def preprocess_from_hf_config(cfg: dict[str, Any], model_type: str, image_size: int,
                              source: str = "preprocessor_config.json") -> ImagePreprocess:
    """Translate an HF image-processor config into :class:`ImagePreprocess`."""
    mean_d, std_d = _DEFAULT_NORM.get(model_type, _DEFAULT_NORM["clip"])
    mean = tuple(cfg.get("image_mean") or mean_d)
    std = tuple(cfg.get("image_std") or std_d)
    resample = cfg.get("resample", 3)
    interpolation = _RESAMPLE.get(int(resample)) if resample is not None else "bicubic"
    if interpolation is None:
        raise CheckpointError(
            f"{source}: resample={resample} is not supported; use bicubic (3) or bilinear (2)"
        )
    size = cfg.get("size") or {"shortest_edge": image_size}
    if isinstance(size, int):
        size = {"shortest_edge": size}
    crop = cfg.get("crop_size") or {}
    if isinstance(crop, int):
        crop = {"height": crop, "width": crop}
    if "shortest_edge" in size:
        edge = int(size["shortest_edge"])
        out = (int(crop.get("height", edge)), int(crop.get("width", edge)))
        if cfg.get("do_center_crop", True) and out != (edge, edge):
            raise CheckpointError(
                f"{source}: shortest_edge={edge} with crop {out} is not supported (CLIP "
                "processors resize the short side to the crop size)"
            )
        mode = "shortest"
    elif "height" in size and "width" in size:
        out, mode = (int(size["height"]), int(size["width"])), "squash"
    else:
        raise CheckpointError(f"{source}: unrecognised size entry {size!r}")
    return ImagePreprocess(size=out, mean=mean, std=std,  # type: ignore[arg-type]
                           interpolation=interpolation, resize_mode=mode)


@dataclass
class HFModel:
    """What :func:`load_hf_model` read from a transformers folder, on the target device."""

    model: Any
    tokenizer: Any
    preprocess: ImagePreprocess
    model_type: str
    context_length: int
    folder: Path


def load_transformers(spec: ModelSpec, opts: LoadOptions) -> TransformersEmbedder:
    """Load a CLIPModel / SiglipModel folder (``hf:PATH`` or a folder with config.json)."""
    hf = load_hf_model(spec, opts, SUPPORTED_MODEL_TYPES)
    return TransformersEmbedder(
        hf.model, hf.tokenizer, hf.preprocess, model_type=hf.model_type,
        context_length=hf.context_length, name=spec.text, device=opts.device, dtype=opts.dtype,
        batch_size=opts.batch_size,
        weight_files=[hf.folder],  # config, weights (shards too), tokenizer, preprocessor config
    )


def load_hf_model(spec: ModelSpec, opts: LoadOptions, model_types: Sequence[str]) -> HFModel:
    """Model, tokenizer and preprocessing of a transformers folder or cached Hub repo whose
    ``model_type`` is one of ``model_types``; strict about weights, never a download offline."""
    try:
        import transformers
    except ImportError:
        raise DependencyNotInstalled(
            "transformers", "hf", f"model {spec.text!r} (a transformers folder)"
        ) from None
    folder = spec.path if spec.kind in ("hf_dir", "xclip_dir") else _hub_folder(spec, opts)
    if folder is None:
        raise ModelNotFoundError(f"model {spec.text!r}: the transformers backend needs a folder")
    cfg = _read_json(folder / "config.json", spec)
    model_type = str(cfg.get("model_type", ""))
    if model_type not in model_types:
        where = spec.path or spec.repo
        hint = ""
        if model_type == "xclip":
            hint = f"; it is an X-CLIP video model: load it as xclip:{where}"
        elif model_type in SUPPORTED_MODEL_TYPES:
            hint = f"; it is a {model_type} image model: load it as hf:{where}"
        names = ", ".join(_MODEL_CLASSES[t] for t in model_types)
        raise ModelNotFoundError(
            f"model {spec.text!r}: transformers model_type {model_type!r} is not supported "
            f"here; expected {', '.join(model_types)} ({names}){hint}"
        )
    if not any((folder / name).is_file() for name in _WEIGHT_FILES):
        raise CheckpointError(
            f"model {spec.text!r}: no weights in {folder}; expected model.safetensors or "
            "pytorch_model.bin (save the model with save_pretrained)"
        )
    cls = getattr(transformers, _MODEL_CLASSES[model_type])
    try:
        model, info = cls.from_pretrained(  # type: ignore[misc]
            str(folder), local_files_only=True, output_loading_info=True
        )
    except Exception as exc:  # corrupt or mismatched weights
        raise CheckpointError(
            f"model {spec.text!r}: cannot load the weights in {folder} "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]})"
        ) from None
    missing = [k for k in info.get("missing_keys", []) if not k.endswith("position_ids")]
    if missing or info.get("mismatched_keys"):
        shown = ", ".join(list(missing)[:5]) or str(info.get("mismatched_keys"))[:200]
        raise CheckpointError(
            f"model {spec.text!r}: the weights in {folder} do not cover the architecture "
            f"(missing or mismatched: {shown}); refusing to fill them with random values"
        )
    # Without vocab files AutoTokenizer may build an *empty* tokenizer from config.json alone.
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise CheckpointError(
            f"model {spec.text!r}: no tokenizer files in {folder} (looked for "
            f"{', '.join(_TOKENIZER_FILES)}); save the tokenizer (or processor) to the same "
            "folder with save_pretrained"
        )
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"model {spec.text!r}: no usable tokenizer in {folder} "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}); save the "
            "tokenizer (or processor) to the same folder with save_pretrained"
        ) from None
    pp_path = folder / "preprocessor_config.json"
    image_size = int(model.config.vision_config.image_size)
    if pp_path.is_file():
        pp_cfg = _read_json(pp_path, spec)
    else:
        warnings.warn(
            f"model {spec.text!r}: no preprocessor_config.json in {folder}; using the "
            f"{model_type} defaults (size {image_size}, its usual mean/std)",
            stacklevel=3,
        )
        pp_cfg = ({"size": {"height": image_size, "width": image_size}}
                  if model_type == "siglip" else {})
    preprocess = preprocess_from_hf_config(pp_cfg, model_type, image_size, str(pp_path))
    context_length = int(model.config.text_config.max_position_embeddings)
    model = model.to(device=opts.device, dtype=opts.dtype).eval()
    return HFModel(model, tokenizer, preprocess, model_type, context_length, folder)


def _hub_folder(spec: ModelSpec, opts: LoadOptions) -> Path:
    """Snapshot folder of an ``hf:org/repo`` spec: cached, else downloaded (safetensors first)."""
    from vlm_reward.models.weights import fetch_hf_snapshot

    if spec.repo is None:
        raise ModelNotFoundError(f"model {spec.text!r}: expected hf:ORG/REPO or hf:FOLDER")
    common = ["*.json", "*.txt", "*.model"]  # configs, tokenizer files (no TF/Flax weights)
    return fetch_hf_snapshot(
        spec.repo, [[*common, "model*.safetensors"], [*common, "pytorch_model*.bin"]],
        model=spec.text, cache_dir=opts.cache_dir, offline=opts.offline,
        complete=lambda f: any((f / name).is_file() for name in _WEIGHT_FILES),
    )


def _read_json(path: Path, spec: ModelSpec) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"model {spec.text!r}: cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"model {spec.text!r}: {path} is not a JSON object")
    return data
