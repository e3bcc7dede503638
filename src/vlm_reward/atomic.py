"""Atomic, durable file writes: a reader, a crash or a power cut never leaves a half-written file.

Each writer goes to a uniquely named temp file in the target's folder, which is flushed and
``fsync``ed, then ``os.replace``d over the target; the folder is ``fsync``ed after the rename so
the new name itself survives a power cut. On any error the temp file is removed and the old
target is left untouched. The finished file gets the permissions a plain ``open(path, "w")``
would give (``0o666`` less the umask), not the owner-only ``0o600`` of
:func:`tempfile.mkstemp`: run folders, exports and caches are meant to be read by others.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_path", "atomic_write_json", "atomic_write_text", "fsync_dir"]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()


def fsync_dir(folder: str | Path) -> None:
    """Make a rename or new file in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on folders; the rename still happened
        pass
    finally:
        os.close(fd)


def _temp_beside(path: Path) -> tuple[int, Path]:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    return fd, Path(tmp)


def _commit(tmp: Path, path: Path) -> None:
    os.chmod(tmp, _FILE_MODE)
    os.replace(tmp, path)
    fsync_dir(path.parent)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", newline: str | None = None) -> Iterator[IO]:
    """Open a temp file beside ``path`` for writing; on a clean exit it replaces ``path``.

    ``mode`` is ``"w"`` (UTF-8 text, ``newline`` as for :func:`open`) or ``"wb"``.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_open(target) as fh:
        ...     _ = fh.write("done")
        >>> target.read_text()
        'done'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode: expected 'w' or 'wb', got {mode!r}")
    path = Path(path)
    fd, tmp = _temp_beside(path)
    try:
        fh: IO
        if mode == "wb":
            fh = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding="utf-8", newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _commit(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A fresh temp path beside ``path`` for a library that writes files itself (SB3 ``save``).

    The library must write exactly the yielded path (keep its suffix: it ends in ``.tmp``);
    on a clean exit the file is ``fsync``ed and renamed over ``path``.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "model.bin"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_bytes(b"weights")
        >>> target.read_bytes()
        b'weights'
    """
    path = Path(path)
    fd, tmp = _temp_beside(path)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        _commit(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, newline: str | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``newline`` as for :func:`open`."""
    with atomic_open(path, "w", newline=newline) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON (with a final newline) to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2) + "\n")
