"""Find weights in local caches, download them only when allowed, and fail fast and clearly.

Rules every loader follows:

* the local cache is checked first (Hugging Face hub cache, open_clip's URL cache);
* in offline mode (``offline=True``, ``--offline``, ``HF_HUB_OFFLINE=1`` or
  ``TRANSFORMERS_OFFLINE=1``) the network is never touched;
* before a download, a quick reachability probe (3 s timeout) runs, so an unreachable or
  black-holed network gives an error within seconds instead of a hang;
* any failure becomes :class:`~vlm_reward.errors.WeightsUnavailableError` naming the model, the
  cache searched and how to pass a local checkpoint. Never random weights, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from vlm_reward.errors import WeightsUnavailableError

__all__ = [
    "PROBE_TIMEOUT_S",
    "clip_url_cache_dir",
    "env_offline",
    "fetch_hf_file",
    "fetch_hf_snapshot",
    "fetch_url_file",
    "files_fingerprint",
    "hf_cache_dir",
    "hf_endpoint",
    "hub_offline",
    "network_reachable",
    "scan_caches",
    "weights_error",
]

PROBE_TIMEOUT_S = 3.0
DOWNLOAD_TIMEOUT_S = 10.0
_TRUE = {"1", "true", "yes", "on"}


def env_offline() -> bool:
    """True when the environment asks Hugging Face libraries to stay offline."""
    return any(
        os.environ.get(var, "").strip().lower() in _TRUE
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hf_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The Hugging Face hub cache used for downloads (``cache_dir`` wins over ``HF_HOME``)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def clip_url_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Where open_clip keeps weights downloaded from plain URLs (``~/.cache/clip``)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path("~/.cache/clip").expanduser()


def hf_endpoint() -> str:
    """The Hugging Face endpoint downloads go to (``HF_ENDPOINT`` or huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def network_reachable(url: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Probe ``url`` (default: the HF endpoint) with a short timeout; honours proxy variables.

    Any HTTP answer, even an error status, counts as reachable: the server is there.

    Returns:
        ``(reachable, detail)`` where ``detail`` explains a failure in a few words.
    """
    target = url or hf_endpoint()
    request = urllib.request.Request(target, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True, "ok"
    except urllib.error.HTTPError:
        return True, "ok"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{target} unreachable: {reason}"


@contextlib.contextmanager
def hub_offline(active: bool = True) -> Iterator[None]:
    """Make huggingface_hub and transformers stay offline inside the block.

    huggingface_hub reads ``HF_HUB_OFFLINE`` once at import, so the environment variable alone
    is not enough once it is imported; this sets both and restores them afterwards.
    """
    if not active:
        yield
        return
    from huggingface_hub import constants

    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    saved_const = constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved_const
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def weights_error(
    model: str, reason: str, searched: Sequence[Path | str]
) -> WeightsUnavailableError:
    """Build the one error message users see when weights cannot be had."""
    where = ", ".join(str(p) for p in searched)
    return WeightsUnavailableError(
        f"weights for {model!r} are not on disk and cannot be downloaded ({reason}); "
        f"looked in: {where}. To use weights you already have, pass a local checkpoint: "
        "--model ARCH:/path/to/model.safetensors (or .pt), --model local-dir:/path/to/folder "
        "(open_clip_config.json + weights) or --model hf:/path/to/transformers-folder; "
        "or copy the files into that cache; or run online (without --offline / HF_HUB_OFFLINE)"
    )


def fetch_hf_file(
    repo: str,
    filenames: Sequence[str],
    *,
    model: str,
    cache_dir: str | Path | None = None,
    offline: bool = False,
    also_searched: Sequence[Path] = (),
) -> Path:
    """Return a local path for the first of ``filenames`` in ``repo``: cached, else downloaded.

    Raises:
        WeightsUnavailableError: not cached and offline, unreachable, or the download failed.
    """
    from huggingface_hub import try_to_load_from_cache

    cache = hf_cache_dir(cache_dir)
    for name in filenames:
        hit = try_to_load_from_cache(repo, name, cache_dir=str(cache))
        if isinstance(hit, str) and Path(hit).is_file():
            return Path(hit)
    searched = [cache / f"models--{repo.replace('/', '--')}", *also_searched]
    if offline or env_offline():
        raise weights_error(model, "offline mode", searched)
    ok, detail = network_reachable()
    if not ok:
        raise weights_error(model, f"no network: {detail}", searched)
    from huggingface_hub import hf_hub_download

    errors = []
    for name in filenames:
        try:
            with _short_hub_timeouts():
                path = hf_hub_download(
                    repo, name, cache_dir=str(cache), etag_timeout=DOWNLOAD_TIMEOUT_S
                )
            return Path(path)
        except Exception as exc:  # network, 404, auth: all mean "not available"
            errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    raise weights_error(model, "download failed: " + "; ".join(errors), searched)


def fetch_hf_snapshot(
    repo: str,
    patterns: Sequence[Sequence[str]],
    *,
    model: str,
    cache_dir: str | Path | None = None,
    offline: bool = False,
    complete: Any = None,
) -> Path:
    """Local folder of a hub repo: the cached snapshot, else downloaded with the first pattern
    set after which ``complete(folder)`` holds (e.g. safetensors before .bin weights).

    Raises:
        WeightsUnavailableError: not cached and offline, unreachable, or the download failed.
    """
    from huggingface_hub import snapshot_download

    cache = hf_cache_dir(cache_dir)
    searched = [cache / f"models--{repo.replace('/', '--')}"]
    done = complete or (lambda folder: True)
    try:
        folder = Path(snapshot_download(repo, cache_dir=str(cache), local_files_only=True))
        if done(folder):
            return folder
    except Exception:  # not cached (or half cached): fall through to the download rules
        pass
    if offline or env_offline():
        raise weights_error(model, "offline mode", searched)
    ok, detail = network_reachable()
    if not ok:
        raise weights_error(model, f"no network: {detail}", searched)
    try:
        for allow in patterns:
            with _short_hub_timeouts():
                folder = Path(snapshot_download(
                    repo, cache_dir=str(cache), etag_timeout=DOWNLOAD_TIMEOUT_S,
                    allow_patterns=list(allow),
                ))
            if done(folder):
                return folder
    except Exception as exc:  # network, 404, auth: all mean "not available"
        reason = f"download failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        raise weights_error(model, reason, searched) from None
    raise weights_error(model, "the repo has no usable weights", searched)


def fetch_url_file(
    url: str, *, model: str, cache_dir: str | Path | None = None, offline: bool = False
) -> Path:
    """Return open_clip's URL-cached file for ``url``, downloading it (with timeouts) if allowed."""
    cache = clip_url_cache_dir(cache_dir)
    target = cache / os.path.basename(url)
    if target.is_file():
        return target
    if offline or env_offline():
        raise weights_error(model, "offline mode", [target])
    ok, detail = network_reachable(url)
    if not ok:
        raise weights_error(model, f"no network: {detail}", [target])
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as src, tmp.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        tmp.replace(target)
    except (urllib.error.URLError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise weights_error(model, f"download failed: {exc}", [target]) from None
    return target


@contextlib.contextmanager
def _short_hub_timeouts() -> Iterator[None]:
    from huggingface_hub import constants

    saved = constants.HF_HUB_DOWNLOAD_TIMEOUT
    constants.HF_HUB_DOWNLOAD_TIMEOUT = int(min(saved, DOWNLOAD_TIMEOUT_S))
    try:
        yield
    finally:
        constants.HF_HUB_DOWNLOAD_TIMEOUT = saved


def scan_caches(cache_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """List model weights already on disk (HF hub cache and open_clip's URL cache); no network.

    Returns:
        One dict per cached repo or file: ``source``, ``name``, ``path``, ``size_mb``.
    """
    found: list[dict[str, Any]] = []
    hub = hf_cache_dir(cache_dir)
    if hub.is_dir():
        try:
            from huggingface_hub import scan_cache_dir

            info = scan_cache_dir(hub)
            for repo in sorted(info.repos, key=lambda r: r.repo_id):
                if repo.repo_type != "model":
                    continue
                found.append({
                    "source": "hf-hub cache", "name": repo.repo_id,
                    "path": str(repo.repo_path), "size_mb": round(repo.size_on_disk / 2**20, 1),
                })
        except Exception:  # a half-written cache must not break `doctor`
            pass
    urls = clip_url_cache_dir(cache_dir)
    if urls.is_dir() and urls != hub:
        for file in sorted(urls.glob("*.pt")):
            found.append({
                "source": "open_clip url cache", "name": file.name, "path": str(file),
                "size_mb": round(file.stat().st_size / 2**20, 1),
            })
    return found


def files_fingerprint(paths: Iterable[Path]) -> list[list[Any]]:
    """``[path, size, mtime_ns, ctime_ns]`` of each file, and of each file directly inside each
    folder, sorted: what identifies the weights a model was loaded from.

    A stat rather than a content hash: it costs microseconds even for a multi-gigabyte
    checkpoint (hashing one would add seconds to every evaluation), and every rewrite in place
    (a retrained checkpoint, a re-download, a new ``save_pretrained``) moves the modification
    time. The change time also moves when a copy restores an old modification time
    (``cp -p``, ``rsync -a``), which a user cannot set back. Paths are absolute and symlinks
    (the Hugging Face cache's snapshot links) are followed to the file they name. Folders are
    listed one level deep: model folders are flat, and a run folder full of old checkpoints
    must not be walked on every call.
    """
    files: set[Path] = set()
    for path in paths:
        path = Path(path).expanduser().absolute()
        if path.is_dir():
            files.update(p for p in path.iterdir() if p.is_file())
        else:
            files.add(path)
    out: list[list[Any]] = []
    for file in sorted(files):
        try:
            st = file.stat()
        except OSError:  # vanished since loading: record that instead of failing
            out.append([str(file), None, None, None])
            continue
        out.append([str(file), st.st_size, st.st_mtime_ns, st.st_ctime_ns])
    return out
