"""Save and load a run's checkpoints: SB3 model zips, replay buffers and run statistics.

Each file goes to a unique temp name, is ``fsync``ed and renamed into place
(:func:`vlm_reward.atomic.atomic_path`); the model zip comes last, so a kill while saving
leaves the previous checkpoint as the newest. Loading tries the newest checkpoint first and
falls back to older ones when a file is damaged (truncated copy, disk error), naming each file
it skips; only when none loads is that an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlm_reward.atomic import atomic_path, atomic_write_json
from vlm_reward.errors import CheckpointError
from vlm_reward.learned.build import read_learned_file
from vlm_reward.run_dir import Checkpoint, RunDir

if TYPE_CHECKING:
    from vlm_reward.learned import LearnedReward

__all__ = ["Restored", "load_checkpoint", "save_checkpoint"]

logger = logging.getLogger(__name__)


@dataclass
class Restored:
    """A loaded checkpoint: the model, its files, the saved run statistics (if readable) and
    the learned reward's saved payload (``reward.learned`` runs)."""

    model: Any
    checkpoint: Checkpoint
    state: dict[str, Any] | None
    learned: dict[str, Any] | None = None


def save_checkpoint(
    model: Any,
    run_dir: RunDir | Path | str,
    save_replay_buffer: bool = True,
    state: dict[str, Any] | None = None,
    learned: LearnedReward | None = None,
) -> Checkpoint:
    """Save ``model`` (with its replay buffer, ``state`` and the ``learned`` reward with its
    labels) as the checkpoint of its step count."""
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    run.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    files = run.checkpoint_files(int(model.num_timesteps))
    buffer = None
    digest = None
    if save_replay_buffer and getattr(model, "replay_buffer", None) is not None:
        assert files.replay_buffer is not None  # checkpoint_files names every file
        with atomic_path(files.replay_buffer) as tmp:
            model.save_replay_buffer(tmp)
            digest = _sha256(tmp)
        buffer = files.replay_buffer
    saved_state = None
    if state is not None or digest is not None:
        assert files.state is not None
        saved_state = atomic_write_json(files.state, {
            "num_timesteps": files.steps, "replay_buffer_sha256": digest, **(state or {}),
        })
    saved_learned = None
    if learned is not None:
        assert files.learned is not None
        saved_learned = learned.save(files.learned)
    with atomic_path(files.model) as tmp:
        model.save(tmp)
    if buffer is not None or saved_learned is not None:
        run.prune_replay_buffers()
    return Checkpoint(files.steps, files.model, buffer, saved_state, saved_learned)


def _sha256(path: Path) -> str:
    """Checksum of a replay buffer: a pickle of numpy arrays loads even with flipped bytes.

    (Model zips need none: zip members carry CRCs that SB3's reads check.)
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_state(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        logger.warning("%s: unreadable run statistics (%s); metrics restart from here", path, exc)
        return None
    return state if isinstance(state, dict) else None


def _load_replay_buffer(model: Any, ckpt: Checkpoint, state: dict[str, Any] | None) -> str | None:
    """Load the checkpoint's buffer into ``model``; what is wrong with it, or None."""
    path = ckpt.replay_buffer
    if path is None:
        return f"checkpoint {ckpt.model} has no replay buffer on disk"
    expected = (state or {}).get("replay_buffer_sha256")
    if expected is not None and _sha256(path) != expected:
        return f"replay buffer {path} is damaged (checksum mismatch)"
    try:
        model.load_replay_buffer(path)
    except Exception as exc:  # pickle raises many types on damaged files
        return f"replay buffer {path} does not load ({type(exc).__name__}: {exc})"
    return None


def load_checkpoint(
    run_dir: RunDir | Path | str,
    algo_cls: Any,
    *,
    env: Any = None,
    device: str = "auto",
    need_replay_buffer: bool = False,
    need_learned: bool = False,
    **load_kwargs: Any,
) -> Restored:
    """Load the newest checkpoint that loads (model, buffer if ``need_replay_buffer``, and
    the learned reward's file if ``need_learned``).

    ``load_kwargs`` go to ``algo_cls.load`` (e.g. buffer classes that replace the saved ones).

    Damaged files are reported as warnings naming the file, and the next older checkpoint is
    tried. Raises :class:`CheckpointError` when the run has none, or none of them loads.
    """
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    candidates = run.checkpoints()
    if not candidates:
        raise CheckpointError(
            f"{run.path}: no checkpoint found in {run.checkpoint_dir}; was the run started with "
            "`vlm-reward train` and did it reach its first checkpoint?"
        )
    failures = []
    for i, ckpt in enumerate(candidates):
        try:
            model = algo_cls.load(ckpt.model, env=env, device=device, **load_kwargs)
        except Exception as exc:  # SB3 raises many types on damaged zips (incl. AssertionError)
            failures.append(f"{ckpt.model.name}: {type(exc).__name__}: {exc}")
            logger.warning("checkpoint %s does not load (%s: %s); trying an older one",
                           ckpt.model, type(exc).__name__, exc)
            continue
        state = _read_state(ckpt.state)
        if need_replay_buffer and hasattr(model, "load_replay_buffer"):
            problem = _load_replay_buffer(model, ckpt, state)
            if problem is not None:
                failures.append(problem)
                logger.warning("%s; trying an older checkpoint", problem)
                continue
        learned = None
        if need_learned:
            try:
                if ckpt.learned is None:
                    raise CheckpointError(f"checkpoint {ckpt.model} has no learned reward")
                learned = read_learned_file(ckpt.learned)
            except CheckpointError as exc:
                failures.append(str(exc))
                logger.warning("%s; trying an older checkpoint", exc)
                continue
        if i > 0:
            logger.warning("using checkpoint %s (%d steps) instead of the newest, %s",
                           ckpt.model, ckpt.steps, candidates[0].model.name)
        return Restored(model, ckpt, state, learned)
    raise CheckpointError(
        f"{run.path}: no checkpoint loads ({'; '.join(failures)}); restore the files from a "
        "backup, or start the run again in a new folder"
    )
