"""An :class:`~vlm_reward.models.base.Embedder` whose model replicas are Ray actors.

Everything above the embedder interface (reward math, wrappers, training, evaluation) works
unchanged: ``RayEmbedder.encode_images`` takes the same uint8 frames and returns the same
unit-normalised float32 CPU tensor as the in-process backend, only computed by ``num_workers``
actors on their own CPUs or GPUs, anywhere in a Ray cluster.

How a call runs:

1. Frames are validated on the driver and cut into contiguous chunks (at most ``batch_size``
   frames, fewer so that small batches still use every worker).
2. Each chunk is ``ray.put`` once, when it is dispatched, and only its object reference travels
   to an actor; on the actor's node the frames are read straight from shared memory (zero-copy).
   At most two chunks per actor are in flight, so a worker never waits for its next chunk and
   the object store never holds more than a few chunks per worker.
3. Results are reassembled by chunk index, so the output order is the input order whatever
   order the actors finish in.

Faults: actors are created with ``max_restarts``; Ray reloads the model in a restarted actor
and re-runs the chunks that were in flight on it (``max_task_retries=-1``: retried as long as
the actor can restart). Each actor incarnation carries a random token, so the driver notices a
restart, logs a warning and counts it in :attr:`RayEmbedder.worker_restarts`. An actor that is
gone for good (restarts used up, node lost) is dropped and its chunks go to the others; only if
no actor is left does the call fail with :class:`~vlm_reward.errors.RayWorkerError`.

Lifetime: :meth:`RayEmbedder.close` (or leaving a ``with`` block) kills the actors and stops
the Ray instance if :meth:`RayEmbedder.create` started it; a cluster joined by address, or a
Ray connection made before ``create``, is left running for its owner.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections import deque
from typing import Any

import numpy as np
import torch

from vlm_reward.device import PRECISIONS
from vlm_reward.distributed.cluster import init_ray, ray_started_here, require_ray, shutdown_ray
from vlm_reward.distributed.worker import EmbedWorker, WorkerInfo
from vlm_reward.errors import ConfigError, RayWorkerError, VLMRewardError
from vlm_reward.models.base import Embedder
from vlm_reward.preprocess import as_frame_batch

__all__ = ["RayEmbedder"]

logger = logging.getLogger(__name__)

_DEVICES = ("auto", "cpu", "cuda")


class RayEmbedder(Embedder):
    """Reward-model inference spread over Ray actors, behind the :class:`Embedder` interface.

    Build it with :meth:`create`; release the actors with :meth:`close` or a ``with`` block.

    Attributes:
        num_workers: actors still alive (and able to restart).
        worker_infos: per actor: node, pid, device and dtype of its current incarnation.
        worker_restarts: actor restarts noticed so far (each logged as a warning).
        worker_failures: actors lost for good and dropped from the pool.

    Example:
        >>> from vlm_reward.distributed import RayEmbedder
        >>> from vlm_reward.reward import RewardModel
        >>> with RayEmbedder.create("ViT-B-32/random", num_workers=2) as emb:  # doctest: +SKIP
        ...     rm = RewardModel.from_prompts(emb, "a pole upright on a cart")
        ...     rewards = rm.rewards(frames)
    """

    #: chunks queued per actor; two keep each actor busy while the driver handles a result
    max_inflight_per_worker = 2

    def __init__(
        self,
        workers: list[Any],
        infos: list[WorkerInfo],
        *,
        name: str,
        batch_size: int,
        owns_ray: bool = False,
    ) -> None:
        if not workers or len(workers) != len(infos):
            raise ConfigError("workers: expected one info dict per Ray actor, and at least one")
        dims = {info["embed_dim"] for info in infos}
        if len(dims) != 1:
            raise RayWorkerError(f"workers disagree on the embedding size: {sorted(dims)}")
        first = infos[0]
        super().__init__(
            name=name,
            device=torch.device(first["device"]),
            dtype=getattr(torch, first["dtype"]),
            embed_dim=int(first["embed_dim"]),
            batch_size=batch_size,
            is_random=bool(first["is_random"]),
        )
        self._workers: list[Any] = list(workers)
        self._alive: list[bool] = [True] * len(workers)
        self.worker_infos: list[WorkerInfo] = [dict(info) for info in infos]
        self.worker_restarts = 0
        self.worker_failures = 0
        self._owns_ray = owns_ray
        self._closed = False
        self._next_text_worker = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        spec: str,
        *,
        num_workers: int = 1,
        num_cpus_per_worker: float = 1.0,
        num_gpus_per_worker: float = 0.0,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 64,
        address: str | None = None,
        max_restarts: int = 3,
        ready_timeout: float = 600.0,
    ) -> RayEmbedder:
        """Start ``num_workers`` actors, each loading ``spec``, and wait until all are ready.

        Args:
            spec: model spec, as for :func:`vlm_reward.load_model`; every node must be able to
                load it (same path on shared storage, or weights in each node's cache).
            num_workers: number of model replicas (actors).
            num_cpus_per_worker: CPUs Ray reserves per actor; also its torch thread count.
            num_gpus_per_worker: GPUs per actor (``1`` = one GPU each, ``0.5`` = two actors
                share a GPU, ``0`` = CPU inference).
            device: ``auto`` (the actor's GPU if it has one, else CPU), ``cpu`` or ``cuda``.
            precision: ``auto``, ``fp32``, ``bf16`` or ``fp16``, resolved on each actor.
            batch_size: most frames per chunk and per forward pass.
            address: ``None`` starts a local Ray instance; ``"auto"`` or ``"HOST:PORT"`` joins
                an existing cluster (see :func:`vlm_reward.distributed.init_ray`).
            max_restarts: how often Ray may restart each actor after it dies.
            ready_timeout: seconds to wait for all actors to load their model; a cluster
                without the requested resources never schedules them.
        """
        _validate(num_workers, num_cpus_per_worker, num_gpus_per_worker, device, precision,
                  batch_size, max_restarts, ready_timeout)
        ray = require_ray()
        was_initialised = ray.is_initialized()
        needed_cpus = num_workers * num_cpus_per_worker
        resources = init_ray(address, num_cpus=max(1, math.ceil(needed_cpus)))
        owns_ray = not was_initialised and ray_started_here()
        _warn_if_short(resources, needed_cpus, num_workers * num_gpus_per_worker)

        actor_cls = ray.remote(EmbedWorker).options(
            num_cpus=num_cpus_per_worker,
            num_gpus=num_gpus_per_worker,
            max_restarts=max_restarts,
            max_task_retries=-1,
        )
        threads = max(1, int(num_cpus_per_worker))
        workers = [
            actor_cls.remote(spec, device, precision, batch_size, threads)
            for _ in range(num_workers)
        ]
        try:
            infos = ray.get([w.info.remote() for w in workers], timeout=ready_timeout)
        except BaseException as exc:
            for worker in workers:
                ray.kill(worker)
            if owns_ray:
                shutdown_ray()
            raise _startup_error(exc, ray, spec, num_cpus_per_worker, num_gpus_per_worker,
                                 ready_timeout) from exc
        emb = cls(workers, infos, name=spec, batch_size=batch_size, owns_ray=owns_ray)
        logger.info(
            "%d Ray workers ready for %s on %s",
            num_workers, spec, ", ".join(sorted({i["device"] for i in infos})),
        )
        emb.warn_if_random()
        return emb

    # ------------------------------------------------------------------ lifecycle
    @property
    def num_workers(self) -> int:
        return sum(self._alive)

    @property
    def workers(self) -> list[Any]:
        """Handles of the live actors (for monitoring and fault drills)."""
        return [w for w, alive in zip(self._workers, self._alive, strict=True) if alive]

    def close(self) -> None:
        """Kill the actors; stop Ray too if :meth:`create` started it. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        ray = require_ray()
        if ray.is_initialized():
            for worker in self._workers:
                ray.kill(worker)
        self._workers = []
        self._alive = []
        if self._owns_ray:
            shutdown_ray()

    def fingerprint(self) -> dict[str, Any]:
        """The replicas' own fingerprint, so Ray and in-process runs share cache entries.

        Replicas that loaded different files (another node's copy of the weights) differ, and
        then all of them together make the fingerprint.
        """
        prints = {json.dumps(i["fingerprint"], sort_keys=True): i["fingerprint"]
                  for i in self.worker_infos}
        if len(prints) == 1:
            return next(iter(prints.values()))
        return {"replicas": [prints[k] for k in sorted(prints)]}

    def __repr__(self) -> str:
        return (
            f"RayEmbedder(name={self.name!r}, workers={self.num_workers}, "
            f"device={self.device}, dtype={self.dtype}, embed_dim={self.embed_dim})"
        )

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def encode_images(self, frames: Any) -> torch.Tensor:
        """Embed uint8 frames ``(N, H, W, 3)`` on the actors; same output as in-process."""
        batch = as_frame_batch(frames)
        array = np.ascontiguousarray(batch.cpu().numpy())  # a view unless it must be copied
        return torch.from_numpy(self._embed_array(array))

    def _encode_image_batch(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._embed_array(np.ascontiguousarray(frames.cpu().numpy())))

    def _encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        ray = self._ray()
        while True:
            idx = self._pick_text_worker()
            try:
                # copy: Ray hands back a read-only array, and the text cache is tiny
                return torch.tensor(ray.get(self._workers[idx].encode_text.remote(texts)))
            except ray.exceptions.RayActorError as exc:
                self._on_actor_error(idx, exc)

    def _embed_array(self, array: np.ndarray) -> np.ndarray:
        """Split, dispatch, retry and reassemble; the core of every image call."""
        ray = self._ray()
        n = array.shape[0]
        chunk = min(self.batch_size, math.ceil(n / max(1, self.num_workers)))
        bounds = [(start, min(start + chunk, n)) for start in range(0, n, chunk)]
        results: list[np.ndarray | None] = [None] * len(bounds)
        refs: dict[int, Any] = {}  # chunk index -> frames in the object store (put once)
        queue = deque(range(len(bounds)))
        pending: dict[Any, tuple[int, int]] = {}  # result ref -> (chunk index, worker index)
        load = [0] * len(self._workers)
        try:
            while queue or pending:
                while queue:
                    idx = self._least_loaded(load)
                    if idx is None:
                        break
                    c = queue.popleft()
                    if c not in refs:
                        start, stop = bounds[c]
                        refs[c] = ray.put(array[start:stop])
                    pending[self._workers[idx].encode_images.remote(refs[c])] = (c, idx)
                    load[idx] += 1
                if not pending:
                    raise self._all_dead_error()
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    c, idx = pending.pop(ref)
                    load[idx] -= 1
                    try:
                        emb, token = ray.get(ref)
                    except ray.exceptions.RayActorError as exc:
                        self._on_actor_error(idx, exc)
                        queue.append(c)
                        continue
                    self._note_token(idx, token)
                    results[c] = emb
                    refs.pop(c, None)  # let the object store free the frames
        except BaseException:
            for ref in pending:  # queued chunks of an abandoned call must not run on
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
            raise
        self.image_calls += len(bounds)
        return np.concatenate(results)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ helpers
    def _ray(self) -> Any:
        if self._closed:
            raise RayWorkerError(
                "this RayEmbedder has been closed; create a new one with RayEmbedder.create"
            )
        return require_ray()

    def _least_loaded(self, load: list[int]) -> int | None:
        best = None
        for idx, alive in enumerate(self._alive):
            if alive and load[idx] < self.max_inflight_per_worker and (
                best is None or load[idx] < load[best]
            ):
                best = idx
        return best

    def _pick_text_worker(self) -> int:
        for _ in range(len(self._workers)):
            idx = self._next_text_worker % len(self._workers)
            self._next_text_worker += 1
            if self._alive[idx]:
                return idx
        raise self._all_dead_error()

    def _note_token(self, idx: int, token: str) -> None:
        if token != self.worker_infos[idx]["token"]:
            self.worker_restarts += 1
            self.worker_infos[idx]["token"] = token
            logger.warning(
                "Ray worker %d died and was restarted by Ray (restart #%d in this embedder); "
                "its unfinished chunks were re-run, no frame was lost",
                idx, self.worker_restarts,
            )

    def _on_actor_error(self, idx: int, exc: Exception) -> None:
        ray = require_ray()
        if isinstance(exc, ray.exceptions.ActorUnavailableError):
            # Temporarily unreachable (restarting, network blip): keep it, retry the chunk.
            logger.warning("Ray worker %d is temporarily unavailable; retrying its chunk", idx)
            return
        if self._alive[idx]:
            self._alive[idx] = False
            self.worker_failures += 1
            logger.error(
                "Ray worker %d is gone for good (%s); %d worker(s) left carry on",
                idx, type(exc).__name__, self.num_workers,
            )

    def _all_dead_error(self) -> RayWorkerError:
        return RayWorkerError(
            f"all {len(self._workers)} Ray workers died and could not be restarted "
            f"({self.worker_restarts} restarts seen); check `ray status` and the worker logs "
            "(out of memory is the usual cause), then create a new RayEmbedder"
        )


def _validate(
    num_workers: int,
    num_cpus: float,
    num_gpus: float,
    device: str,
    precision: str,
    batch_size: int,
    max_restarts: int,
    ready_timeout: float,
) -> None:
    if not isinstance(num_workers, int) or num_workers < 1:
        raise ConfigError(f"num_workers: expected a positive integer, got {num_workers!r}")
    if num_cpus <= 0:
        raise ConfigError(f"num_cpus_per_worker: expected a positive number, got {num_cpus}")
    if num_gpus < 0:
        raise ConfigError(f"num_gpus_per_worker: expected 0 or more, got {num_gpus}")
    if device not in _DEVICES:
        raise ConfigError(
            f"device: expected one of {', '.join(_DEVICES)} for Ray workers, got {device!r} "
            "(Ray decides which GPU each worker gets; use num_gpus_per_worker)"
        )
    if device == "cuda" and num_gpus == 0:
        raise ConfigError(
            "device: 'cuda' needs GPUs reserved for the workers; set num_gpus_per_worker "
            "(e.g. 1) or use device 'auto'/'cpu'"
        )
    if device == "cpu" and num_gpus > 0:
        raise ConfigError(
            f"num_gpus_per_worker: {num_gpus} GPUs reserved but device is 'cpu'; "
            "set num_gpus_per_worker to 0 or device to 'auto'"
        )
    if precision not in PRECISIONS:
        raise ConfigError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and num_gpus == 0:
        raise ConfigError(
            "precision: fp16 is not supported on CPU workers; use bf16 or fp32, or give the "
            "workers GPUs with num_gpus_per_worker"
        )
    if batch_size < 1:
        raise ConfigError(f"batch_size: expected a positive integer, got {batch_size}")
    if max_restarts < 0:
        raise ConfigError(f"max_restarts: expected 0 or more, got {max_restarts}")
    if ready_timeout <= 0:
        raise ConfigError(f"ready_timeout: expected a positive number, got {ready_timeout}")


def _warn_if_short(resources: dict[str, float], cpus: float, gpus: float) -> None:
    """Warn (an autoscaling cluster may still grow) when the request exceeds the cluster."""
    have_cpu, have_gpu = resources.get("CPU", 0.0), resources.get("GPU", 0.0)
    if cpus > have_cpu or gpus > have_gpu:
        logger.warning(
            "Ray workers need %.3g CPUs and %.3g GPUs in total but the cluster has %.3g CPUs and "
            "%.3g GPUs; they stay pending until the cluster grows (or the ready timeout ends)",
            cpus, gpus, have_cpu, have_gpu,
        )


def _startup_error(
    exc: BaseException,
    ray: Any,
    spec: str,
    num_cpus: float,
    num_gpus: float,
    timeout: float,
) -> BaseException:
    """Turn a failed start into the user's real mistake, or a message naming what to check."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, VLMRewardError):
        return cause  # e.g. an unknown model spec, raised by load_model inside the actor
    if isinstance(exc, ray.exceptions.GetTimeoutError):
        return RayWorkerError(
            f"Ray workers for {spec!r} were not ready after {timeout:g} s; the cluster may lack "
            f"the resources asked for ({num_cpus:g} CPUs and {num_gpus:g} GPUs per worker): "
            "check `ray status`, lower num_workers or raise ready_timeout"
        )
    if isinstance(exc, ray.exceptions.RayError):
        return RayWorkerError(f"Ray workers for {spec!r} failed to start: {exc}")
    return exc
