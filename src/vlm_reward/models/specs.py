"""Parse a model spec string into a :class:`ModelSpec` naming its backend.

Parsing is pure string and file-system work (no torch, no network) so that the CLI can explain
a spec, and list close matches for a typo, without loading anything. Spec syntax::

    demo                              the bundled offline demo model (a local-dir folder)
    ViT-B-32/laion2b_s34b_b79k        open_clip architecture / pretrained tag
    ViT-B-32/random                   random weights of an open_clip architecture
    ViT-B-32:/path/model.safetensors  open_clip architecture + local checkpoint file (.pt too)
    local-dir:/path/folder            folder with open_clip_config.json + weights
    hf-hub:org/repo                   open_clip model on the Hugging Face Hub
    hf:/path/folder                   transformers CLIPModel / SiglipModel folder (extra ``hf``)
    hf:org/repo                       the same from the Hugging Face Hub (cached or downloaded)
    xclip:/path/folder                transformers XCLIPModel folder: a video-language model
    xclip:org/repo                    the same from the Hugging Face Hub (cached or downloaded)
    /path/folder                      a folder: open_clip if it has open_clip_config.json,
                                      transformers if it has config.json
    NAME or NAME:ARGUMENT             a backend added with :func:`register_backend`

The backend registry lives here, next to the parser that consults it: a registered ``NAME`` is
matched before any other form, and the names the built-in forms use are refused.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vlm_reward.errors import ConfigError, ModelNotFoundError

if TYPE_CHECKING:
    from vlm_reward.models.base import Embedder
    from vlm_reward.models.open_clip_backend import LoadOptions

__all__ = [
    "BACKENDS",
    "BUILTIN_KINDS",
    "BUNDLED_DIR",
    "CHECKPOINT_SUFFIXES",
    "SPEC_SYNTAX",
    "ModelSpec",
    "Resolver",
    "close_matches",
    "open_clip_architectures",
    "open_clip_tags",
    "parse_spec",
    "register_backend",
]

BUNDLED_DIR = Path(__file__).parent / "bundled"
CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_BACKEND_NAME = re.compile(r"[A-Za-z][\w.-]*")
#: spec prefixes of the built-in forms (``demo`` is a whole spec)
_BUILTIN_PREFIXES = ("demo", "local-dir", "hf-hub", "hf", "xclip")
#: resolver keys of the built-in forms (:attr:`ModelSpec.kind`)
BUILTIN_KINDS = ("open_clip_tag", "open_clip_random", "open_clip_file", "open_clip_dir",
                 "open_clip_hub", "hf_dir", "hf_hub_dir", "xclip_dir", "xclip_hub_dir")

SPEC_SYNTAX: tuple[tuple[str, str, str], ...] = (
    ("demo", "demo", "the bundled offline demo model (no download)"),
    ("open_clip", "ARCH/TAG", "open_clip architecture + pretrained tag, e.g. ViT-B-32/openai"),
    ("open_clip", "ARCH/random", "random weights (speed tests and pipeline checks only)"),
    ("open_clip", "ARCH:FILE", "architecture + local checkpoint (.safetensors, .pt, .pth, .bin)"),
    ("open_clip", "local-dir:FOLDER", "folder with open_clip_config.json + weights"),
    ("open_clip", "hf-hub:ORG/REPO", "open_clip model on the Hugging Face Hub (cached)"),
    ("transformers", "hf:FOLDER", "transformers CLIPModel or SiglipModel folder (extra 'hf')"),
    ("transformers", "hf:ORG/REPO", "transformers CLIP/SigLIP repo on the Hub (cached)"),
    ("x-clip", "xclip:FOLDER", "transformers XCLIPModel folder: video clips (extra 'hf')"),
    ("x-clip", "xclip:ORG/REPO", "X-CLIP repo on the Hub (cached), e.g. "
     "xclip:microsoft/xclip-base-patch32"),
    ("auto", "FOLDER", "a folder: open_clip_config.json -> open_clip, config.json -> hf"),
    ("registered", "NAME[:ARGUMENT]", "a backend added with register_backend(NAME, resolver)"),
)


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec.

    Attributes:
        text: the spec as the user wrote it (used as the embedder's name).
        kind: resolver key: one of :data:`BUILTIN_KINDS` (``open_clip_tag``,
            ``open_clip_random``, ``open_clip_file``, ``open_clip_dir``, ``open_clip_hub``,
            ``hf_dir``, ``hf_hub_dir``, ``xclip_dir``, ``xclip_hub_dir``) or the name of a
            registered backend.
        arch: open_clip architecture name, when the spec names one.
        tag: pretrained tag for ``open_clip_tag``.
        path: file or folder for the local kinds.
        repo: Hugging Face repo id for ``open_clip_hub`` and ``hf_hub_dir``.
        argument: for a registered backend, the text after ``NAME:`` (None for ``NAME``).
    """

    text: str
    kind: str
    arch: str | None = None
    tag: str | None = None
    path: Path | None = None
    repo: str | None = None
    argument: str | None = None


Resolver = Callable[[ModelSpec, "LoadOptions"], "Embedder"]

#: backends added with :func:`register_backend`: name -> resolver
BACKENDS: dict[str, Resolver] = {}


def register_backend(name: str, resolver: Resolver) -> None:
    """Make the specs ``NAME`` and ``NAME:ARGUMENT`` load through ``resolver(spec, opts)``.

    The resolver gets the parsed :class:`ModelSpec` (``kind == name``, ``argument`` the text
    after the colon or None) and the resolved load options (device, dtype, batch size, cache
    folder, offline flag), and returns an :class:`~vlm_reward.models.base.Embedder`.
    :func:`~vlm_reward.models.load_model` then applies the fast-path switches and the
    random-weights warning as for any backend. Registering a name again replaces its resolver.

    Raises:
        ConfigError: ``name`` is malformed (a letter, then letters, digits, ``_ . -``), names a
            built-in spec form or resolver kind, or an open_clip architecture (``ARCH:FILE``
            would become ambiguous); or ``resolver`` is not callable.

    Example:
        >>> from vlm_reward.models import BACKENDS, register_backend
        >>> register_backend("mine", lambda spec, opts: ...)
        >>> parse_spec("mine:/data/weights").argument
        '/data/weights'
        >>> _ = BACKENDS.pop("mine")
    """
    if not isinstance(name, str) or not _BACKEND_NAME.fullmatch(name):
        raise ConfigError(
            f"register_backend: name must start with a letter and hold only letters, digits, "
            f"'_', '.' or '-' (it is used as NAME:ARGUMENT), got {name!r}"
        )
    if name in _BUILTIN_PREFIXES or name in BUILTIN_KINDS or name in open_clip_architectures():
        raise ConfigError(
            f"register_backend: {name!r} is taken by a built-in spec form or open_clip "
            "architecture; choose another name"
        )
    if not callable(resolver):
        raise ConfigError(
            f"register_backend: resolver must be callable as resolver(spec, opts), got "
            f"{type(resolver).__name__}"
        )
    BACKENDS[name] = resolver


def open_clip_architectures() -> list[str]:
    """Every architecture name open_clip knows (its model config registry)."""
    import open_clip

    return list(open_clip.list_models())


def open_clip_tags(arch: str) -> list[str]:
    """Pretrained tags open_clip knows for ``arch`` (may be empty)."""
    from open_clip.pretrained import list_pretrained_tags_by_model

    return list(list_pretrained_tags_by_model(arch))


def close_matches(word: str, choices: list[str], n: int = 5) -> list[str]:
    """Close matches of ``word`` among ``choices``, case-insensitive, best first."""
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def _folder_kind(path: Path) -> str | None:
    if (path / "open_clip_config.json").is_file():
        return "open_clip_dir"
    if (path / "config.json").is_file():
        return "hf_dir"
    return None


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", ".\\")) or text.endswith(CHECKPOINT_SUFFIXES)


def parse_spec(spec: str) -> ModelSpec:
    """Parse ``spec`` (see the module docstring) without loading anything.

    Raises:
        ModelNotFoundError: unknown architecture, tag or backend prefix, or a path that does
            not exist; the message lists close matches or the valid choices.
    """
    text = spec.strip()
    if not text:
        raise ModelNotFoundError("model: got an empty spec; try 'demo' or 'ViT-B-32/openai'")
    name, sep, rest = text.partition(":")
    if name in BACKENDS:
        return ModelSpec(text=text, kind=name, argument=rest if sep else None)
    if text == "demo":
        folder = BUNDLED_DIR / "demo"
        if not (folder / "open_clip_config.json").is_file():
            raise ModelNotFoundError(
                f"model 'demo': the bundled demo model is missing from this install (looked in "
                f"{folder}); reinstall vlm-reward from a full source checkout, or pass another "
                "model spec (see `vlm-reward models`)"
            )
        return ModelSpec(text=text, kind="open_clip_dir", path=folder)
    if text.startswith("local-dir:"):
        path = Path(text.removeprefix("local-dir:")).expanduser()
        _require_folder(path, text, "open_clip_config.json")
        return ModelSpec(text=text, kind="open_clip_dir", path=path)
    if text.startswith("hf-hub:"):
        repo = text.removeprefix("hf-hub:").strip("/")
        if repo.count("/") != 1:
            raise ModelNotFoundError(
                f"model {text!r}: expected 'hf-hub:ORG/REPO', e.g. "
                "'hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K'"
            )
        return ModelSpec(text=text, kind="open_clip_hub", repo=repo)
    for prefix in ("hf", "xclip"):
        if text.startswith(f"{prefix}:"):
            rest = text.removeprefix(f"{prefix}:")
            path = Path(rest).expanduser()
            if not path.exists() and _REPO_ID.fullmatch(rest):
                return ModelSpec(text=text, kind=f"{prefix}_hub_dir", repo=rest)
            _require_folder(path, text, "config.json")
            return ModelSpec(text=text, kind=f"{prefix}_dir", path=path)

    path = Path(text).expanduser()
    if path.is_dir():
        kind = _folder_kind(path)
        if kind is None:
            raise ModelNotFoundError(
                f"model {text!r}: the folder has neither open_clip_config.json (open_clip) nor "
                "config.json (transformers); pass a model folder, or ARCH:FILE for a checkpoint"
            )
        return ModelSpec(text=text, kind=kind, path=path)
    if path.is_file():
        raise ModelNotFoundError(
            f"model {text!r}: a checkpoint file needs its architecture; write it as "
            f"ARCH:{text}, e.g. ViT-B-32:{text} (see `vlm-reward models` for architectures)"
        )

    archs = open_clip_architectures()
    arch, sep, rest = text.partition(":")
    if sep and arch in archs:
        file = Path(rest).expanduser()
        if not file.is_file():
            raise ModelNotFoundError(
                f"model {text!r}: checkpoint file {str(file)!r} does not exist; give the path "
                "of a .safetensors or .pt file"
            )
        return ModelSpec(text=text, kind="open_clip_file", arch=arch, path=file)
    if _looks_like_path(text):
        raise ModelNotFoundError(
            f"model {text!r}: no such file or folder; give an existing model folder, or "
            "ARCH:FILE for a checkpoint file"
        )
    if sep and "/" not in arch:
        prefixes = [*_BUILTIN_PREFIXES[1:], *BACKENDS]
        hint = close_matches(arch, [*prefixes, *archs])
        also = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise ModelNotFoundError(
            f"model {text!r}: unknown backend {arch!r} before ':'{also} (prefixes: "
            f"{', '.join(prefixes)}; or an open_clip architecture for ARCH:FILE, see "
            "`vlm-reward models`)"
        )

    arch, sep, tag = text.partition("/")
    if arch not in archs:
        hint = close_matches(arch, [*archs, "demo"])
        also = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise ModelNotFoundError(
            f"model {text!r}: unknown open_clip architecture {arch!r}{also} "
            "(`vlm-reward models` lists them all)"
        )
    tags = open_clip_tags(arch)
    if not sep or not tag:
        raise ModelNotFoundError(
            f"model {text!r}: give a pretrained tag as {arch}/TAG; valid tags for {arch}: "
            f"{', '.join(tags) or '(none)'}; or {arch}/random for random weights"
        )
    if tag == "random":
        return ModelSpec(text=text, kind="open_clip_random", arch=arch)
    from open_clip.pretrained import get_pretrained_cfg

    if not get_pretrained_cfg(arch, tag):
        hint = close_matches(tag, tags)
        also = f" (closest: {', '.join(hint)})" if hint else ""
        raise ModelNotFoundError(
            f"model {text!r}: unknown pretrained tag {tag!r} for {arch}{also}; valid tags: "
            f"{', '.join(tags) or '(none: use ' + arch + '/random or ARCH:FILE)'}"
        )
    return ModelSpec(text=text, kind="open_clip_tag", arch=arch, tag=tag)


def _require_folder(path: Path, text: str, config_name: str) -> None:
    if not path.is_dir():
        raise ModelNotFoundError(f"model {text!r}: folder {str(path)!r} does not exist")
    if not (path / config_name).is_file():
        raise ModelNotFoundError(
            f"model {text!r}: folder {str(path)!r} has no {config_name}; "
            "is this the right kind of model folder?"
        )
