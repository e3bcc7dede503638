"""open_clip backend: any open_clip architecture, pretrained tag, local file, folder or hub repo.

Loading is done in two steps so that every failure gets the right error class: first the
architecture is built without weights (may need hub files for text towers, so failures there
are :class:`WeightsUnavailableError`), then the checkpoint is loaded strictly (failures are
:class:`CheckpointError`). Random weights are only ever returned for ``ARCH/random``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vlm_reward.errors import CheckpointError, ModelNotFoundError, WeightsUnavailableError
from vlm_reward.models.base import Embedder
from vlm_reward.models.specs import ModelSpec
from vlm_reward.models.weights import (
    clip_url_cache_dir,
    fetch_hf_file,
    fetch_url_file,
    hub_offline,
)
from vlm_reward.preprocess import ImagePreprocess

__all__ = ["RANDOM_SPEC_SEED", "LoadOptions", "OpenCLIPEmbedder", "load_open_clip",
           "token_length"]

RANDOM_SPEC_SEED = 0
_PP_KEYS = ("mean", "std", "interpolation", "resize_mode", "fill_color")
_FOLDER_WEIGHTS = (
    "open_clip_model.safetensors", "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin", "open_clip_pytorch_model.pth",
    "model.safetensors", "pytorch_model.bin", "pytorch_model.pth", "model.pth",
)


@dataclass(frozen=True)
class LoadOptions:
    """Where and how to load a model (already resolved from user strings)."""

    device: torch.device
    dtype: torch.dtype
    batch_size: int = 64
    cache_dir: str | None = None
    offline: bool = False


class OpenCLIPEmbedder(Embedder):
    """Wraps a loaded open_clip model; build it with :func:`vlm_reward.load_model`."""

    def __init__(
        self,
        model: Any,  # open_clip / transformers module; duck-typed encode methods
        tokenizer: Any,
        preprocess: ImagePreprocess,
        *,
        name: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int = 64,
        is_random: bool = False,
        weight_files: Sequence[Path] = (),
    ) -> None:
        embed_dim = int(model.text_projection.shape[-1]) if _has_text_proj(model) else None
        if embed_dim is None:
            with torch.inference_mode():
                probe = model.encode_text(tokenizer(["probe"]).to(device))
            embed_dim = int(probe.shape[-1])
        super().__init__(
            name=name, device=device, dtype=dtype, embed_dim=embed_dim,
            batch_size=batch_size, is_random=is_random, weight_files=weight_files,
        )
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.preprocess = preprocess
        self.context_length = int(getattr(tokenizer, "context_length", None) or 77)

    @property
    def logit_scale(self) -> float | None:
        """The model's learned softmax temperature (``exp`` of its log scale), e.g. ~100."""
        scale = getattr(self.model, "logit_scale", None)
        return None if scale is None else float(torch.as_tensor(scale).detach().float().exp())

    @property
    def frame_elements(self) -> int | None:
        """Tokens x width of a ViT tower (its positional embedding); ``None`` for others."""
        pos = getattr(getattr(self.model, "visual", None), "positional_embedding", None)
        if not isinstance(pos, torch.Tensor) or pos.ndim != 2:
            return None
        return int(pos.shape[0] * pos.shape[1])

    def _encode_image_batch(self, frames: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(self.preprocess(frames, self.dtype))

    def _encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        for text in texts:
            n = token_length(self.tokenizer, text)
            if n is not None and n > self.context_length:
                warnings.warn(
                    f"prompt {text!r} is {n} tokens long but {self.name!r} reads at most "
                    f"{self.context_length}: it was truncated; shorten the prompt",
                    stacklevel=4,
                )
        tokens = self.tokenizer(texts).to(self.device)
        return self.model.encode_text(tokens)


def token_length(tokenizer: Any, text: str) -> int | None:
    """Number of tokens ``text`` needs including start/end tokens (None if unknown)."""
    if hasattr(tokenizer, "sot_token_id") and hasattr(tokenizer, "encode"):
        return len(tokenizer.encode(text)) + 2  # open_clip SimpleTokenizer: <sot> ... <eot>
    inner = getattr(tokenizer, "tokenizer", None)
    if inner is not None and callable(inner):
        return len(inner(text)["input_ids"])  # HF tokenizer: counts its own special tokens
    return None


def _has_text_proj(model: torch.nn.Module) -> bool:
    proj = getattr(model, "text_projection", None)
    return isinstance(proj, torch.Tensor) and proj.ndim == 2


# --------------------------------------------------------------------------------------------
# Resolvers, one per spec kind (registered in vlm_reward.models.loading)


def load_open_clip(spec: ModelSpec, opts: LoadOptions) -> OpenCLIPEmbedder:
    """Build an :class:`OpenCLIPEmbedder` for any open_clip spec kind."""
    import open_clip

    is_random = False
    weight_files: list[Path] = []  # what the weights were read from, for the fingerprint
    if spec.kind == "open_clip_tag":
        assert spec.arch and spec.tag  # guaranteed by parse_spec
        from open_clip.pretrained import get_pretrained_cfg

        pcfg = get_pretrained_cfg(spec.arch, spec.tag)
        ckpt = _tag_checkpoint(spec, pcfg, opts)
        pp = {k: pcfg[k] for k in _PP_KEYS if k in pcfg}
        model = _build_arch(spec, spec.arch, opts, quick_gelu=bool(pcfg.get("quick_gelu")),
                            preprocess_cfg=pp)
        _load_weights(model, ckpt, spec)
        weight_files = [ckpt]
        tokenizer_name = spec.arch
    elif spec.kind in ("open_clip_random", "open_clip_file"):
        assert spec.arch
        pcfg = _default_tag_cfg(spec.arch)
        pp = {k: pcfg[k] for k in _PP_KEYS if k in pcfg}
        # ARCH/random is deterministic (seed 0, caller's RNG untouched): every process, Ray
        # replica and rerun embeds with the same weights, so its numbers are reproducible.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SPEC_SEED)
            model = _build_arch(spec, spec.arch, opts, quick_gelu=bool(pcfg.get("quick_gelu")),
                                preprocess_cfg=pp)
        if spec.kind == "open_clip_file":
            assert spec.path
            _load_weights(model, spec.path, spec)
            weight_files = [spec.path]
        else:
            is_random = True
        tokenizer_name = spec.arch
    elif spec.kind in ("open_clip_dir", "open_clip_hub"):
        folder = spec.path if spec.kind == "open_clip_dir" else _hub_folder(spec, opts)
        assert folder is not None
        _read_folder_config(folder, spec)
        ckpt = _folder_checkpoint(folder, spec)
        model = _build_arch(spec, f"local-dir:{folder}", opts)
        _load_weights(model, ckpt, spec)
        weight_files = [folder]  # config, weights and any tokenizer files
        tokenizer_name = f"local-dir:{folder}"
    else:
        raise ModelNotFoundError(f"model {spec.text!r}: not an open_clip spec ({spec.kind})")

    tokenizer = _tokenizer(tokenizer_name, spec, opts)
    preprocess = ImagePreprocess.from_config(open_clip.get_model_preprocess_cfg(model))
    model = model.to(device=opts.device, dtype=opts.dtype).eval()
    return OpenCLIPEmbedder(
        model, tokenizer, preprocess, name=spec.text, device=opts.device, dtype=opts.dtype,
        batch_size=opts.batch_size, is_random=is_random, weight_files=weight_files,
    )


def _default_tag_cfg(arch: str) -> dict[str, Any]:
    """Preprocessing of the architecture's first known tag (e.g. SigLIP's 0.5 mean/std)."""
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

    tags = list_pretrained_tags_by_model(arch)
    return dict(get_pretrained_cfg(arch, tags[0])) if tags else {}


def _tag_checkpoint(spec: ModelSpec, pcfg: dict[str, Any], opts: LoadOptions) -> Path:
    """Local path of a tag's weights: open_clip's URL cache, the HF cache, then a download."""
    if pcfg.get("file"):
        return Path(pcfg["file"])
    url = pcfg.get("url", "")
    url_cached: list[Path] = []
    if url:
        cached = clip_url_cache_dir(opts.cache_dir) / os.path.basename(url)
        if cached.is_file():
            return cached
        url_cached.append(cached)
    hub = pcfg.get("hf_hub", "")
    if hub:
        from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

        repo, filename = os.path.split(hub)  # 'org/repo/' or 'org/repo/file.bin'
        names = [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME] if not filename else [filename]
        if filename.endswith((".bin", ".pth")):
            names.insert(0, filename[:-4] + ".safetensors")
        return fetch_hf_file(repo, names, model=spec.text, cache_dir=opts.cache_dir,
                             offline=opts.offline, also_searched=url_cached)
    if url:
        return fetch_url_file(url, model=spec.text, cache_dir=opts.cache_dir,
                              offline=opts.offline)
    raise ModelNotFoundError(f"model {spec.text!r}: open_clip has no download location for it")


def _hub_folder(spec: ModelSpec, opts: LoadOptions) -> Path:
    """Fetch (or find cached) config + weights of an ``hf-hub:`` open_clip repo; their folder."""
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    assert spec.repo
    cfg = fetch_hf_file(spec.repo, ["open_clip_config.json"], model=spec.text,
                        cache_dir=opts.cache_dir, offline=opts.offline)
    weights = fetch_hf_file(spec.repo, [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME], model=spec.text,
                            cache_dir=opts.cache_dir, offline=opts.offline)
    if weights.parent != cfg.parent:
        raise CheckpointError(
            f"model {spec.text!r}: config and weights are cached from different revisions "
            f"({cfg.parent} vs {weights.parent}); clear that repo from the cache and retry"
        )
    return cfg.parent


def _read_folder_config(folder: Path, spec: ModelSpec) -> dict[str, Any]:
    path = folder / "open_clip_config.json"
    try:
        cfg = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"model {spec.text!r}: cannot read {path}: {exc}") from None
    if not isinstance(cfg, dict) or "model_cfg" not in cfg:
        raise CheckpointError(
            f"model {spec.text!r}: {path} has no 'model_cfg' entry; an open_clip folder needs "
            '{"model_cfg": {...}, "preprocess_cfg": {...}}'
        )
    return cfg


def _folder_checkpoint(folder: Path, spec: ModelSpec) -> Path:
    """The weights file open_clip would pick in ``folder``; an error instead of random init."""
    for name in _FOLDER_WEIGHTS:
        if (folder / name).is_file():
            return folder / name
    found = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".pth"))
    if found:
        return found[0]
    pts = sorted(folder.glob("*.pt"))
    hint = (f" (found {pts[0].name}: load it as ARCH:{pts[0]})" if pts else "")
    raise CheckpointError(
        f"model {spec.text!r}: no weights in {folder}; expected open_clip_model.safetensors or "
        f"open_clip_pytorch_model.bin next to open_clip_config.json{hint}"
    )


def _build_arch(
    spec: ModelSpec,
    name: str,
    opts: LoadOptions,
    *,
    quick_gelu: bool = False,
    preprocess_cfg: dict[str, Any] | None = None,
) -> torch.nn.Module:
    """The architecture with untouched (random) init; weights are loaded separately."""
    import open_clip

    try:
        with hub_offline(opts.offline), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="QuickGELU mismatch")
            return open_clip.create_model(
                name, pretrained=None, load_weights=False, device="cpu",
                force_quick_gelu=quick_gelu, force_preprocess_cfg=preprocess_cfg or None,
                pretrained_image=False, pretrained_text=False, cache_dir=opts.cache_dir,
            )
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        if spec.kind in ("open_clip_dir", "open_clip_hub"):
            raise CheckpointError(
                f"model {spec.text!r}: cannot build the architecture from its "
                f"open_clip_config.json: {_first_line(exc)}"
            ) from None
        raise WeightsUnavailableError(
            f"model {spec.text!r}: building architecture {name!r} needs files that are not "
            f"available ({_first_line(exc)}); run once online or use a local checkpoint"
        ) from None


def _load_weights(model: torch.nn.Module, ckpt: Path, spec: ModelSpec) -> None:
    """Strictly load ``ckpt`` into ``model``; any mismatch or corruption is a CheckpointError."""
    import open_clip

    if not ckpt.is_file():
        raise CheckpointError(f"model {spec.text!r}: checkpoint {ckpt} does not exist")
    try:
        open_clip.load_checkpoint(model, str(ckpt), strict=True)
    except Exception as exc:  # safetensors, pickle, zip and shape errors all mean "bad file"
        raise CheckpointError(
            f"model {spec.text!r}: cannot load checkpoint {ckpt} "
            f"({type(exc).__name__}: {_first_line(exc)}); is the file complete and does it "
            "match the architecture? full pickles need re-saving as a state_dict"
        ) from None


def _tokenizer(name: str, spec: ModelSpec, opts: LoadOptions) -> Any:
    import open_clip

    try:
        with hub_offline(opts.offline):
            return open_clip.get_tokenizer(name, cache_dir=opts.cache_dir)
    except Exception as exc:  # HF tokenizers download their vocab from the hub
        raise WeightsUnavailableError(
            f"model {spec.text!r}: its tokenizer is not available offline or cannot be "
            f"downloaded ({type(exc).__name__}: {_first_line(exc)}); run once online so the "
            "hub cache holds it"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
