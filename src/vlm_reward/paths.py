"""Output paths checked before any work starts.

A command that trains for an hour and then fails to write its results, or that leaves an empty
folder behind because ``--out`` named a file, wastes the user's time. Every command that writes
calls :func:`check_output_path` on its output first; the check creates nothing.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_path(folder / "new" / "run", option="--out", kind="dir")
    >>> (folder / "notes.txt").write_text("x")
    1
    >>> check_output_path(folder / "notes.txt", option="--out", kind="dir")
    Traceback (most recent call last):
    ...
    vlm_reward.errors.OutputPathError: --out: ... is a file, not a folder; ...
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from vlm_reward.errors import OutputPathError

__all__ = ["check_output_path"]


def check_output_path(
    path: str | Path, option: str, kind: Literal["dir", "file"] = "dir"
) -> None:
    """Raise :class:`~vlm_reward.errors.OutputPathError` if ``path`` cannot be written as ``kind``.

    Args:
        path: the folder (``kind="dir"``) or file (``kind="file"``) a command will write.
        option: the option or argument that named it (``--out``), quoted in the message.
        kind: what the command creates there.

    Checks, without creating anything: a file where a folder is expected and vice versa, an
    ancestor that is a file, and write permission on the path (if it exists) or on the nearest
    existing folder above it.
    """
    if kind not in ("dir", "file"):
        raise ValueError(f"kind: expected 'dir' or 'file', got {kind!r}")
    path = Path(path)
    shown = str(path)
    if path.exists():
        if kind == "dir" and not path.is_dir():
            raise OutputPathError(f"{option}: {shown} is a file, not a folder; give a folder path "
                                  "(it is created if missing)")
        if kind == "file" and path.is_dir():
            raise OutputPathError(f"{option}: {shown} is a folder; give a file path, e.g. "
                                  f"{path / 'labels.csv'}")
    ancestor = path.parent if kind == "file" or not path.exists() else path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f"{option}: {shown} lies under {ancestor}, which is a file; "
                              "choose a path inside a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option}: cannot write to {ancestor} (permission denied or "
                              "read-only); choose a folder you can write to")
