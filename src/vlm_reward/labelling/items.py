"""What a rater looks at: frames or episode clips of a dataset, or the videos of a run folder.

A :class:`ItemSource` turns a folder on disk into a numbered list of :class:`Item` objects.
Numbers are what the label store and the CSV export call ``index``:

* ``unit="frame"``: one item per frame of a dataset; ``index`` is the frame index.
* ``unit="episode"``: one item per episode of a dataset (``--clips``); ``index`` is the
  episode id from ``table.csv``.
* ``unit="video"``: one item per ``RUN_DIR/videos/*.mp4``; ``index`` is the position of the
  file in name order (the file name is stored next to every label as ``item_key``).

Sources never load all frames: ``frames.npy`` is memory-mapped and single frames or clips are
encoded to PNG / GIF only when the page asks for them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import numpy as np

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.dataset import DATASET_FORMAT, load_dataset
from vlm_reward.run_dir import RunDir

__all__ = [
    "DATASET_FORMAT",
    "Item",
    "ItemSource",
    "Unit",
    "encode_gif",
    "encode_png",
    "is_dataset_dir",
    "is_run_dir",
    "open_source",
    "read_task_from_run",
]

Unit = Literal["frame", "episode", "video"]
MediaType = Literal["image", "video"]
VIDEO_SUFFIXES = (".mp4", ".webm", ".gif")
# A clip longer than this is subsampled so the GIF stays small and quick to encode.
MAX_CLIP_FRAMES = 120


@dataclass(frozen=True)
class Item:
    """One thing to label.

    Attributes:
        position: 0-based place in the labelling order.
        index: the id written to the label store and CSV (frame index, episode id or video
            position, see module docstring).
        key: stable text id stored with each label (``"12"`` or the video file name).
        media_type: ``"image"`` (PNG or animated GIF) or ``"video"`` (mp4/webm).
        url: where the page fetches the media, relative to the server root.
        caption: short human description ("frame 12 · episode 0 · step 12").
    """

    position: int
    index: int
    key: str
    media_type: MediaType
    url: str
    caption: str


def is_dataset_dir(path: Path) -> bool:
    """True if ``path`` looks like a dataset of states (has ``dataset.json``)."""
    return (path / "dataset.json").is_file()


def is_run_dir(path: Path) -> bool:
    """True if ``path`` looks like a training run folder (has ``videos/`` or ``config.yaml``)."""
    return RunDir(path).looks_like_run()


def read_task_from_run(run_dir: Path) -> str | None:
    """The task sentence of a run: the reward goal prompt(s) of its resolved ``config.yaml``.

    Returns None when there is no config or it has no goal; several goal prompts are joined
    with " / " because the rater should see every phrasing the reward model was given.
    """
    data = RunDir(run_dir).read_config_data()
    if data is None:
        return None
    reward = data.get("reward")
    goal = reward.get("goal") if isinstance(reward, dict) else data.get("goal")
    if isinstance(goal, str) and goal.strip():
        return goal.strip()
    if isinstance(goal, list):
        parts = [g.strip() for g in goal if isinstance(g, str) and g.strip()]
        return " / ".join(parts) or None
    return None


def encode_png(frame: np.ndarray) -> bytes:
    """Encode one uint8 ``(H, W, 3)`` frame as PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def encode_gif(frames: np.ndarray, fps: float) -> bytes:
    """Encode uint8 ``(T, H, W, 3)`` frames as a looping animated GIF."""
    from PIL import Image

    images = [Image.fromarray(np.ascontiguousarray(f), mode="RGB") for f in frames]
    buffer = io.BytesIO()
    duration = max(20, round(1000.0 / fps))
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
    )
    return buffer.getvalue()


class ItemSource:
    """A folder on disk seen as a numbered list of items to label.

    Use :func:`open_source` to build one; it checks the folder and raises an error of the
    :class:`~vlm_reward.errors.VLMRewardError` family naming the problem and the fix.
    """

    def __init__(
        self,
        root: Path,
        unit: Unit,
        items: list[Item],
        task: str | None,
        *,
        frames: np.ndarray | None = None,
        clip_frames: dict[int, np.ndarray] | None = None,
        fps: float = 15.0,
        kind: str,
    ) -> None:
        self.root = root
        self.unit: Unit = unit
        self.items = items
        self.task = task
        self.kind = kind
        self.fps = fps
        self._frames = frames
        self._clip_frames = clip_frames or {}
        self._by_index = {item.index: item for item in items}

    def __len__(self) -> int:
        return len(self.items)

    def by_index(self, index: int) -> Item | None:
        """The item with this ``index`` (not position), or None."""
        return self._by_index.get(index)

    def frame_png(self, index: int) -> bytes:
        """PNG bytes of frame ``index`` (dataset sources only)."""
        if self._frames is None or self.unit != "frame" or index not in self._by_index:
            raise KeyError(index)
        return encode_png(np.asarray(self._frames[index]))

    def clip_gif(self, episode: int) -> bytes:
        """Animated GIF of one episode (dataset sources in clip mode only)."""
        if self._frames is None or episode not in self._clip_frames:
            raise KeyError(episode)
        indices = self._clip_frames[episode]
        if len(indices) > MAX_CLIP_FRAMES:
            keep = np.linspace(0, len(indices) - 1, MAX_CLIP_FRAMES).round().astype(int)
            indices = indices[keep]
        return encode_gif(np.asarray(self._frames[indices]), self.fps)

    def describe(self) -> dict[str, Any]:
        """Summary for the page header."""
        return {"kind": self.kind, "unit": self.unit, "total": len(self.items), "task": self.task}


def _dataset_source(root: Path, clips: bool, task: str | None, fps: float) -> ItemSource:
    dataset = load_dataset(root)
    meta_task = dataset.meta.get("task")
    task = task or (meta_task if isinstance(meta_task, str) else None)
    episodes, steps = dataset.episode, dataset.step
    if not clips:
        items = [
            Item(i, i, str(i), "image", f"/api/frame/{i}.png",
                 f"frame {i} · episode {episodes[i]} · step {steps[i]}")
            for i in range(len(dataset))
        ]
        return ItemSource(root, "frame", items, task, frames=dataset.frames, kind="dataset",
                          fps=fps)
    clip_frames: dict[int, np.ndarray] = {}
    for episode in np.unique(episodes):
        members = np.flatnonzero(episodes == episode)
        clip_frames[int(episode)] = members[np.argsort(steps[members], kind="stable")]
    items = [
        Item(pos, ep, str(ep), "image", f"/api/clip/{ep}.gif",
             f"episode {ep} · {len(clip_frames[ep])} frames")
        for pos, ep in enumerate(sorted(clip_frames))
    ]
    return ItemSource(
        root, "episode", items, task, frames=dataset.frames, clip_frames=clip_frames,
        kind="dataset", fps=fps,
    )


def _run_source(root: Path, task: str | None) -> ItemSource:
    videos_dir = RunDir(root).videos
    files = sorted(
        p for p in videos_dir.glob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
    ) if videos_dir.is_dir() else []
    items = []
    for pos, path in enumerate(files):
        rel = path.relative_to(root).as_posix()
        media: MediaType = "image" if path.suffix.lower() == ".gif" else "video"
        items.append(Item(pos, pos, path.name, media, f"/files/{quote(rel)}", path.name))
    return ItemSource(root, "video", items, task or read_task_from_run(root), kind="run")


def open_source(
    path: str | Path, *, clips: bool = False, task: str | None = None, fps: float = 15.0
) -> ItemSource:
    """Open a dataset folder or a run folder for labelling.

    Args:
        path: a dataset folder (``dataset.json`` + ``frames.npy`` + ``table.csv``) or a run
            folder (``videos/*.mp4``).
        clips: for datasets, label whole episodes (animated clips) instead of single frames.
        task: the task sentence shown to raters; defaults to the dataset's ``task`` or the
            run's reward goal.
        fps: playback speed of episode clips.

    Raises:
        ConfigError: the folder is missing or is neither kind of folder.
        DatasetError: a dataset folder that does not follow the format (read with
            :func:`~vlm_reward.evaluation.dataset.load_dataset`).

    An existing but empty dataset or run gives a source with no items (the page says so).
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise ConfigError(f"{root} does not exist; pass a dataset folder or a run folder.")
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder; pass a dataset folder or a run folder.")
    if fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}.")
    root = root.resolve()
    if is_dataset_dir(root):
        return _dataset_source(root, clips, task, fps)
    if is_run_dir(root):
        if clips:
            raise ConfigError("--clips applies to datasets; a run folder's videos are clips.")
        return _run_source(root, task)
    raise ConfigError(
        f"{root} is neither a dataset (no dataset.json) nor a run folder (no videos/ or "
        "config.yaml); collect a dataset with the evaluation toolkit or pass a run folder."
    )
