"""Core commands: ``doctor`` (what to check first), ``models`` (what can be loaded) and
``score`` (rewards for image files or a video)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vlm_reward.cli import app
from vlm_reward.cli.options import learned_reward, options, reward_config
from vlm_reward.errors import ConfigError, FrameError

__all__ = ["doctor", "doctor_report", "models", "read_frames", "score"]

console = Console()

_EXTRAS: dict[str, tuple[str, ...]] = {
    "hf": ("transformers",),
    "ray": ("ray",),
    "web": ("fastapi", "uvicorn", "httpx"),
    "mujoco": ("mujoco",),
    "dev": ("pytest", "hypothesis", "ruff"),
}
_VERSIONS = ("torch", "open_clip_torch", "transformers", "huggingface_hub", "numpy",
             "gymnasium", "stable-baselines3", "ray")
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
_VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif"}


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def doctor_report(check_network: bool = True) -> dict[str, Any]:
    """Everything ``vlm-reward doctor`` shows, as plain data (also its ``--json`` output)."""
    import torch

    from vlm_reward import __version__
    from vlm_reward.device import cpu_has_fast_bf16, resolve_device, resolve_precision
    from vlm_reward.models.specs import BUNDLED_DIR
    from vlm_reward.models.weights import (
        clip_url_cache_dir,
        env_offline,
        hf_cache_dir,
        hf_endpoint,
        network_reachable,
        scan_caches,
    )

    auto_dev = resolve_device("auto")
    cuda = torch.cuda.is_available()
    offline = options.offline or env_offline()
    if offline:
        downloads: dict[str, Any] = {"possible": False, "detail": "offline mode"}
    elif check_network:
        ok, detail = network_reachable()
        downloads = {"possible": ok, "detail": detail if not ok else f"{hf_endpoint()} reachable"}
    else:
        downloads = {"possible": None, "detail": "not checked"}
    return {
        "vlm_reward": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in _VERSIONS},
        "device": {
            "auto": str(auto_dev),
            "cuda_available": cuda,
            "cuda_devices": [torch.cuda.get_device_name(i)
                             for i in range(torch.cuda.device_count())] if cuda else [],
            "cpu_threads": torch.get_num_threads(),
        },
        "precision": {
            "cpu_fast_bf16": cpu_has_fast_bf16(),
            "cuda_bf16": bool(cuda and torch.cuda.is_bf16_supported()),
            "auto_picks": str(resolve_precision("auto", auto_dev)).removeprefix("torch."),
        },
        "extras": {
            extra: all(importlib.util.find_spec(mod) is not None for mod in mods)
            for extra, mods in _EXTRAS.items()
        },
        "backends": {
            "open_clip": importlib.util.find_spec("open_clip") is not None,
            "transformers": importlib.util.find_spec("transformers") is not None,
        },
        "demo_model": (BUNDLED_DIR / "demo" / "open_clip_config.json").is_file(),
        "caches": {"hf_hub": str(hf_cache_dir()), "open_clip_urls": str(clip_url_cache_dir())},
        "cached_weights": scan_caches(),
        "offline": offline,
        "downloads": downloads,
    }


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead of tables."),
    no_network: bool = typer.Option(False, "--no-network", help="Skip the download check."),
) -> None:
    """Check versions, devices, bf16 support, extras, cached weights and downloads."""
    report = doctor_report(check_network=not no_network)
    if as_json:
        print(json.dumps(report, indent=2))
        return

    def yes(flag: Any) -> str:
        return {True: "[green]yes[/]", False: "[red]no[/]"}.get(flag, "[yellow]?[/]")

    table = Table(title="vlm-reward doctor", show_header=False, title_justify="left")
    table.add_row("vlm-reward", report["vlm_reward"])
    table.add_row("python", f"{report['python']} ({report['platform']})")
    for name, ver in report["versions"].items():
        table.add_row(name, ver or "[dim]not installed[/]")
    dev, prec = report["device"], report["precision"]
    table.add_row("device (auto)", dev["auto"])
    table.add_row("cuda", yes(dev["cuda_available"]) + (
        f" ({', '.join(dev['cuda_devices'])})" if dev["cuda_devices"] else ""))
    table.add_row("cpu native bf16", yes(prec["cpu_fast_bf16"]))
    table.add_row("precision (auto)", prec["auto_picks"] + (
        "" if prec["cpu_fast_bf16"] or dev["cuda_available"]
        else " (no native bf16 here: emulated bf16 is slower than fp32)"))
    for backend, ok in report["backends"].items():
        table.add_row(f"backend {backend}", yes(ok))
    for extra, ok in report["extras"].items():
        table.add_row(escape(f"extra [{extra}]"), yes(ok) + ("" if ok else
                      escape(f"  pip install 'vlm-reward[{extra}]'")))
    table.add_row("bundled demo model", yes(report["demo_model"]))
    table.add_row("hf hub cache", escape(report["caches"]["hf_hub"]))
    table.add_row("open_clip url cache", escape(report["caches"]["open_clip_urls"]))
    cached = report["cached_weights"]
    table.add_row("cached weights", escape(", ".join(c["name"] for c in cached)) if cached
                  else "[yellow]none[/] (use --model demo, or ARCH:FILE for a local checkpoint)")
    table.add_row("offline mode", yes(report["offline"]))
    dl = report["downloads"]
    table.add_row("downloads possible", f"{yes(dl['possible'])} ({escape(dl['detail'])})")
    console.print(table)


def models_report(arch_filter: str | None = None) -> dict[str, Any]:
    """Backends, spec syntax and known open_clip architectures/tags (``models --json``)."""
    import open_clip
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

    from vlm_reward.models.specs import BUNDLED_DIR, SPEC_SYNTAX
    from vlm_reward.models.weights import hf_cache_dir

    hub = hf_cache_dir()
    archs = []
    for arch in open_clip.list_models():
        if arch_filter and arch_filter.lower() not in arch.lower():
            continue
        tags = []
        for tag in list_pretrained_tags_by_model(arch):
            repo = os.path.split(get_pretrained_cfg(arch, tag).get("hf_hub", ""))[0]
            cached = bool(repo) and (hub / f"models--{repo.replace('/', '--')}").is_dir()
            tags.append({"tag": tag, "spec": f"{arch}/{tag}", "hf_repo": repo or None,
                         "cached": cached})
        archs.append({"arch": arch, "tags": tags})
    return {
        "backends": {
            "open_clip": importlib.util.find_spec("open_clip") is not None,
            "transformers": importlib.util.find_spec("transformers") is not None,
        },
        "spec_syntax": [{"backend": b, "syntax": s, "meaning": m} for b, s, m in SPEC_SYNTAX],
        "demo_model": (BUNDLED_DIR / "demo" / "open_clip_config.json").is_file(),
        "open_clip_architectures": archs,
    }


@app.command()
def models(
    arch: str = typer.Option(None, "--arch", help="Only architectures containing this text."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead of tables."),
) -> None:
    """List backends, the model spec syntax and known open_clip architectures and tags."""
    report = models_report(arch)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    syntax = Table(title="model specs (--model SPEC)", title_justify="left")
    for col in ("backend", "syntax", "meaning"):
        syntax.add_column(col)
    for row in report["spec_syntax"]:
        syntax.add_row(row["backend"], row["syntax"], row["meaning"])
    console.print(syntax)
    table = Table(title="open_clip architectures and pretrained tags (* = in local cache)",
                  title_justify="left")
    table.add_column("architecture", no_wrap=True)
    table.add_column("tags")
    for entry in report["open_clip_architectures"]:
        tags = ", ".join(t["tag"] + ("*" if t["cached"] else "") for t in entry["tags"])
        table.add_row(entry["arch"], tags or "[dim](no tags: ARCH/random or ARCH:FILE)[/]")
    console.print(table)
    installed = [name for name, ok in report["backends"].items() if ok]
    console.print(f"backends installed: {', '.join(installed)}; bundled demo model: "
                  f"{'yes' if report['demo_model'] else 'no'}")


def read_frames(path: Path) -> list[Any]:
    """Frames of one input: an image (1 frame), a video (all frames) or a ``.npy`` array."""
    import numpy as np

    if not path.is_file():
        raise ConfigError(f"frames: {str(path)!r} is not a file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, mmap_mode="r")
            frames = [np.asarray(arr)] if arr.ndim == 3 else list(np.asarray(arr))
        elif suffix in _IMAGE_SUFFIXES or suffix in _VIDEO_SUFFIXES:
            import imageio.v3 as iio

            frames = ([iio.imread(path, plugin="pillow")] if suffix in _IMAGE_SUFFIXES
                      else list(iio.imiter(path)))
        else:
            raise ConfigError(
                f"frames: {str(path)!r} has an unsupported type; use images "
                f"({', '.join(sorted(_IMAGE_SUFFIXES))}), videos "
                f"({', '.join(sorted(_VIDEO_SUFFIXES))}) or .npy"
            )
    except (OSError, ValueError, RuntimeError) as exc:
        raise FrameError(f"frames: cannot read {str(path)!r}: {exc}") from None
    out = []
    for frame in frames:
        if frame.ndim == 2:  # greyscale
            frame = np.repeat(frame[..., None], 3, axis=-1)
        elif frame.ndim == 3 and frame.shape[-1] == 4:  # drop alpha
            frame = frame[..., :3]
        out.append(np.ascontiguousarray(frame))
    if not out:
        raise FrameError(f"frames: {str(path)!r} contains no frames")
    return out


@app.command()
def score(
    ctx: typer.Context,
    frames: list[Path] = typer.Argument(..., help="Image files, videos or .npy frame arrays."),
    model: str = typer.Option("demo", "--model", "-m", help="Model spec (see `models`)."),
    goal: list[str] = typer.Option(None, "--goal", "-g", help="Goal sentence (repeatable)."),
    baseline: list[str] = typer.Option(None, "--baseline", "-b",
                                       help="Baseline sentence (repeatable)."),
    alpha: float = typer.Option(0.0, help="Goal-baseline regularisation strength in [0, 1]."),
    reward_file: Path = typer.Option(
        None, "--reward", help="YAML reward section (any reward.kind, docs/rewards.md) instead "
        "of --goal/--baseline/--alpha; temporal kinds treat each video as one episode. Or a "
        "learned reward: a run folder trained with reward.learned, or its learned_reward.pt."),
    batch_size: int = typer.Option(32, "--batch-size", help="Frames per forward pass."),
    cache_dir: str = typer.Option(None, "--cache-dir", help="Weights cache (HF hub layout)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Reward of each frame for a goal sentence (VLM-RM), or any reward kind (--reward)."""
    import warnings

    import numpy as np

    from vlm_reward.factory import build_frame_reward
    from vlm_reward.models import load_model
    from vlm_reward.reward import RewardModel, Steps

    learned = learned_reward(reward_file, goal, baseline)
    if learned is not None:
        _score_learned(learned, reward_file, [(p, read_frames(p)) for p in frames], as_json)
        return
    cfg = reward_config(model, goal, baseline, alpha, reward_file)  # checked before loading
    inputs = [(path, read_frames(path)) for path in frames]  # read (and fail) before loading
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        embedder = load_model(cfg.model, device=options.device, precision=options.precision,
                              batch_size=batch_size, cache_dir=cache_dir, offline=options.offline)
        ctx.call_on_close(embedder.close)  # closed however the command ends
        family = build_frame_reward(cfg, embedder)
    for w in caught:
        Console(stderr=True).print(f"[yellow]warning:[/] {escape(str(w.message))}",
                                   highlight=False)

    rows: list[dict[str, Any]] = []
    for path, items in inputs:
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, frame in enumerate(items):
            by_shape.setdefault(frame.shape, []).append(i)
        rewards = np.empty(len(items), dtype=np.float32)
        rm = RewardModel(embedder, family)  # a fresh stream per file
        if family.temporal and len(by_shape) == 1:  # a video: one episode, in order
            n = len(items)
            steps = Steps(np.zeros(n, int), np.arange(n) == 0, np.arange(n) == n - 1)
            rewards[:] = rm.step_rewards(np.stack(items), steps)
        else:
            for idx in by_shape.values():
                rewards[idx] = rm.rewards(np.stack([items[i] for i in idx]))
        rows += [{"file": str(path), "frame": i, "reward": float(r)} for i, r in enumerate(rewards)]

    if as_json:
        print(json.dumps({
            "model": cfg.model, "is_random": embedder.is_random, "device": str(embedder.device),
            "dtype": str(embedder.dtype).removeprefix("torch."),
            "goal": [cfg.goal] if isinstance(cfg.goal, str) else list(cfg.goal or []),
            "baseline": [cfg.baseline] if isinstance(cfg.baseline, str)
            else list(cfg.baseline or []),
            "alpha": cfg.alpha, "kind": cfg.kind,
            "reward": cfg.model_dump(mode="json", exclude_defaults=True), "results": rows,
        }, indent=2))
        return
    what = cfg.goal if isinstance(cfg.goal, str) else (cfg.goal or ["goal images"])[0]
    _print_rewards(f"{cfg.kind} reward for {what!r} — model {cfg.model}, alpha {cfg.alpha}",
                   rows)


def _print_rewards(title: str, rows: list[dict[str, Any]]) -> None:
    """The reward of each frame of each file, as a table."""
    table = Table(title=escape(title), title_justify="left")
    table.add_column("file")
    table.add_column("frame", justify="right")
    table.add_column("reward", justify="right")
    for row in rows:
        table.add_row(escape(row["file"]), str(row["frame"]), f"{row['reward']:.4f}")
    console.print(table)


def _score_learned(learned: Any, source: Path, inputs: list[tuple[Path, list[Any]]],
                   as_json: bool) -> None:
    """``score --reward RUN_DIR``: each frame's reward by the learned model (no VLM)."""
    import numpy as np

    rows: list[dict[str, Any]] = []
    for path, items in inputs:
        rewards = np.empty(len(items), dtype=np.float32)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, frame in enumerate(items):
            by_shape.setdefault(frame.shape, []).append(i)
        for idx in by_shape.values():
            rewards[idx] = learned.score_frames(np.stack([items[i] for i in idx]))
        rows += [{"file": str(path), "frame": i, "reward": float(r)} for i, r in enumerate(rewards)]
    if as_json:
        print(json.dumps({"learned": str(source), "kind": learned.kind,
                          "metrics": learned.metrics(), "results": rows}, indent=2))
        return
    _print_rewards(f"learned ({learned.kind}) reward of {source}", rows)
