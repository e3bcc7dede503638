"""A reward learned from VLM preferences over pairs of clips (RL-VLM-F, PEBBLE style).

The VLM is never asked for a reward. It is shown two clips (``segment`` consecutive steps of
one env stream, within one episode) and says which shows the task better, or neither; a
Bradley-Terry ensemble learns a per-step reward ``r`` that explains those answers:
``P(a preferred to b) = sigmoid(sum_t r(a_t) - sum_t r(b_t))``, fitted by cross-entropy with
soft labels (0.5 for "no preference"). The agent trains on the ensemble mean, standardised by
its mean and spread over the labelled steps, and the buffers are relabelled after each update.

Where the labels come from:

* Steps flow in through :meth:`PreferenceReward.rewards`. Complete clips go into a candidate
  pool, a uniform (reservoir) sample of the clips since the last labelling round, which keeps
  their full frames for the judge and is bounded in memory (:data:`POOL_BYTES`).
* At each update (the first at ``warmup_steps``, then every ``update_every`` steps) the pool is
  paired off at random into disjoint candidate pairs, and ``pairs_per_update`` of them (never
  more than ``pair_budget`` in all) are sent to the judge: with ``strategy: disagreement``,
  ``uniform_share`` at random and the rest where the members disagree most on
  ``P(a preferred to b)``, as PEBBLE does (the first round is uniform: an untrained ensemble's
  disagreement is noise). The VLM sees only those clips' frames.
* A :class:`PairJudge` gives the labels. :class:`ContrastiveJudge` serves CLIP-like models:
  it compares the summed (or mean) VLM reward of the two clips, with ``margin`` for "no
  preference". A generative VLM judge implements the same interface.

A share (``holdout_fraction``) of the labelled pairs is kept out of training: the ensemble's
pairwise accuracy on them, and on the VLM frames they hold the Pearson correlation and EPIC
distance of the learned reward with the VLM's own score, say how well the model agrees with
the VLM (:meth:`PreferenceReward.metrics`).

Once the pair budget is spent the model is final: no more clips are pooled or updates made.
The pool itself is not checkpointed (it holds full frames); a resumed run fills it again from
the steps after the resume.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from vlm_reward.errors import CheckpointError, ConfigError
from vlm_reward.evaluation.errors import MetricError
from vlm_reward.evaluation.metrics import epic_distance, pearson
from vlm_reward.learned.base import LearnedReward
from vlm_reward.learned.networks import RewardEnsemble

if TYPE_CHECKING:
    from vlm_reward.config import LearnedConfig
    from vlm_reward.reward import RewardModel
    from vlm_reward.reward.model import Steps

__all__ = [
    "POOL_BYTES",
    "ContrastiveJudge",
    "PairJudge",
    "PairLabels",
    "PreferenceReward",
]

POOL_BYTES = 256 * 2**20
"""Most bytes of full frames the candidate pool keeps between labelling rounds."""

_CANDIDATES_PER_PAIR = 4  # candidate pairs pooled per pair to label (PEBBLE samples 10x)
_EVAL_BATCH = 2048  # inputs per forward pass when scoring stored steps


class PairLabels(NamedTuple):
    """A judge's answers for ``P`` pairs of clips ``(a, b)``.

    ``labels`` ``(P,)`` float32 is the probability that clip **b** is preferred: 0 (a is
    better), 0.5 (no preference) or 1 (b is better). ``scores_a`` / ``scores_b``
    ``(P, segment)`` are the judge's per-frame scores when it has them (a contrastive VLM
    does, a generative one does not); they measure the learned reward against the VLM.
    """

    labels: np.ndarray
    scores_a: np.ndarray | None = None
    scores_b: np.ndarray | None = None


class PairJudge(ABC):
    """Says which of two clips shows the task better; the only way the VLM is asked.

    A generative VLM (shown both clips and the task, asked "which is better?") implements
    :meth:`compare` the same way :class:`ContrastiveJudge` does for a CLIP-like model.
    """

    @abstractmethod
    def compare(self, clips_a: np.ndarray, clips_b: np.ndarray) -> PairLabels:
        """Labels for pairs of clips, each ``(P, segment, H, W, 3)`` uint8 (row ``i`` of both
        is one pair)."""


class ContrastiveJudge(PairJudge):
    """Prefers the clip with the higher VLM reward, summed (or averaged) over its frames.

    Differences within ``margin`` (in units of the VLM reward) are "no preference" (0.5).

    Example:
        >>> judge = ContrastiveJudge(reward_model, margin=0.01)  # doctest: +SKIP
        >>> judge.compare(clips_a, clips_b).labels  # (P,) in {0, 0.5, 1}  # doctest: +SKIP
    """

    def __init__(self, vlm: RewardModel, margin: float = 0.0,
                 reduce: Literal["sum", "mean"] = "sum") -> None:
        if margin < 0 or not math.isfinite(margin):
            raise ConfigError(
                f"ContrastiveJudge: margin must be a finite number >= 0, got {margin}")
        if reduce not in ("sum", "mean"):
            raise ConfigError(f"ContrastiveJudge: reduce must be 'sum' or 'mean', got {reduce!r}")
        self.vlm = vlm
        self.margin = float(margin)
        self.reduce = reduce

    def compare(self, clips_a: np.ndarray, clips_b: np.ndarray) -> PairLabels:
        clips_a, clips_b = np.asarray(clips_a), np.asarray(clips_b)
        if clips_a.shape != clips_b.shape or clips_a.ndim != 5:
            raise ConfigError(
                f"ContrastiveJudge: expected two clip batches of one shape (P, segment, H, W, 3),"
                f" got {clips_a.shape} and {clips_b.shape}"
            )
        p, t = clips_a.shape[:2]
        frames = np.concatenate([clips_a, clips_b]).reshape(2 * p * t, *clips_a.shape[2:])
        scores = np.asarray(self.vlm.rewards(frames), np.float32).reshape(2, p, t)
        return PairLabels(self.labels(scores[0], scores[1]), scores[0], scores[1])

    def labels(self, scores_a: np.ndarray, scores_b: np.ndarray) -> np.ndarray:
        """The margin rule on per-frame scores ``(P, segment)``: 1 where b's total beats a's
        by more than ``margin``, 0 where a's beats b's, else 0.5.

        Example:
            >>> judge = ContrastiveJudge(vlm=None, margin=0.1)
            >>> judge.labels(np.array([[0.0], [0.0], [0.0]]), np.array([[0.5], [0.05], [-1.0]]))
            array([1. , 0.5, 0. ], dtype=float32)
        """
        pool = np.sum if self.reduce == "sum" else np.mean
        diff = pool(scores_b, axis=1) - pool(scores_a, axis=1)
        out = np.full(diff.shape, 0.5, np.float32)
        out[diff > self.margin] = 1.0
        out[diff < -self.margin] = 0.0
        return out


class _ClipPool:
    """A uniform sample (reservoir) of the complete clips seen since the last round, with
    their full frames for the judge and their model inputs for the ensemble."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.inputs: list[np.ndarray] = []
        self.offered = 0
        self.capacity = 0  # set from the first clip's size

    def offer(self, frames: np.ndarray, inputs: np.ndarray, wanted: int,
              rng: np.random.Generator) -> None:
        if self.capacity == 0:
            self.capacity = max(2, min(wanted, POOL_BYTES // max(1, frames.nbytes)))
        self.offered += 1
        if len(self.frames) < self.capacity:
            self.frames.append(frames)
            self.inputs.append(inputs)
            return
        slot = int(rng.integers(self.offered))
        if slot < self.capacity:
            self.frames[slot], self.inputs[slot] = frames, inputs

    def clear(self) -> None:
        self.frames, self.inputs, self.offered = [], [], 0

    def __len__(self) -> int:
        return len(self.frames)


class PreferenceReward(LearnedReward):
    """A Bradley-Terry reward ensemble learned from a judge's pair labels (module docstring).

    Args:
        cfg: ``reward.learned`` (``kind: preference``); reads ``inputs``, ``frame_size``,
            ``ensemble``, ``hidden``, ``segment``, ``margin``, ``strategy``, ``uniform_share``,
            ``warmup_steps``, ``update_every``, ``pairs_per_update``, ``pair_budget``,
            ``gradient_steps``, ``batch_size``, ``learning_rate``, ``holdout_fraction``.
        vlm: the VLM reward; the default judge is ``ContrastiveJudge(vlm, cfg.margin)``.
            None when loaded for scoring only.
        seed: seeds the ensemble, pair sampling and the hold-out split.
        observation_shape: the env's observation shape for ``inputs: observation``.
        judge: a :class:`PairJudge` to use instead of the contrastive one (e.g. a generative
            VLM).
    """

    kind: ClassVar[str] = "preference"

    def __init__(self, cfg: LearnedConfig, vlm: RewardModel | None, seed: int,
                 observation_shape: tuple[int, ...] | None = None,
                 judge: PairJudge | None = None) -> None:
        super().__init__(cfg, vlm, seed, observation_shape=observation_shape)
        if cfg.kind != "preference":
            raise ConfigError(f"PreferenceReward: reward.learned.kind is {cfg.kind!r}, "
                              "expected 'preference'")
        self.judge = judge if judge is not None else (
            ContrastiveJudge(vlm, cfg.margin) if vlm is not None else None)
        self.net = RewardEnsemble(self.input_shape, cfg.ensemble, cfg.hidden, seed=seed)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.learning_rate)
        self.rng = np.random.default_rng(seed)
        self._torch_gen = torch.Generator().manual_seed(seed)
        dtype = np.uint8 if cfg.inputs == "frames" else np.float32
        clip = (0, cfg.segment, *self.input_shape)
        self.store_a = np.zeros(clip, dtype)  # labelled pairs: inputs of clip a
        self.store_b = np.zeros(clip, dtype)
        self.store_y = np.zeros(0, np.float32)  # P(b preferred)
        self.store_holdout = np.zeros(0, bool)
        self.store_scores = np.zeros((0, 2, cfg.segment), np.float32)  # judge's, NaN if none
        self.pool = _ClipPool()
        self._tails: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        self.updates = 0
        self.last_update = 0
        self.env_steps = 0
        self.vlm_frames = 0
        self.pairs_labelled = 0
        self.out_mean = 0.0
        self.out_std = 1.0
        self.loss = math.nan
        self.agreement: dict[str, float] = {}

    # ------------------------------------------------------------------ scoring
    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """The standardised ensemble-mean reward of stored inputs; 0 before the first update."""
        n = len(inputs)
        if self.updates == 0:
            return np.zeros(n, np.float32)
        return ((self._mean_reward(inputs) - self.out_mean) / self.out_std).astype(np.float32)

    def _members(self, inputs: np.ndarray) -> torch.Tensor:
        """``(members, N)`` raw rewards of flat inputs, in batches, without gradients."""
        with torch.no_grad():
            parts = [self.net(inputs[i:i + _EVAL_BATCH])
                     for i in range(0, len(inputs), _EVAL_BATCH)]
        return torch.cat(parts, dim=1) if parts else torch.zeros(self.net.members, 0)

    def _mean_reward(self, inputs: np.ndarray) -> np.ndarray:
        return self._members(inputs).mean(dim=0).numpy().astype(np.float64)

    # ------------------------------------------------------------------ new steps
    def rewards(self, frames: np.ndarray, observations: np.ndarray | None, env_steps: int,
                steps: Steps | None = None) -> np.ndarray:
        """Rewards of new steps (the model's; no VLM call), pooling their complete clips.

        Args:
            frames: ``(N, H, W, 3)`` uint8, the steps' rendered frames.
            observations: ``(N, ...)`` observations (needed for ``inputs: observation``).
            env_steps: the run's step count after these steps.
            steps: which stream (env) each step belongs to and where episodes start, so a clip
                never spans two envs or two episodes; without it every step of every call is
                taken as one stream in time order (one env), allowed only with ``segment: 1``.
        """
        inputs = self.inputs(frames, observations)
        self.env_steps = int(env_steps)
        if self.pairs_labelled < self.cfg.pair_budget and self.judge is not None:
            self._pool_clips(np.asarray(frames), inputs, steps)
        return self.predict(inputs)

    def _pool_clips(self, frames: np.ndarray, inputs: np.ndarray, steps: Steps | None) -> None:
        n, seg = len(inputs), self.cfg.segment
        if steps is None:
            if seg > 1:
                raise ConfigError(
                    "reward.learned.segment > 1 needs each step's stream and episode start "
                    "(pass steps=Steps(...)), so that a clip never spans two envs or episodes"
                )
            streams, starts = np.zeros(n, int), np.zeros(n, bool)
        else:
            streams = np.asarray(steps.streams).reshape(-1)
            starts = np.asarray(steps.starts, bool).reshape(-1)
            if len(streams) != n or len(starts) != n:
                raise ConfigError(
                    f"steps: expected {n} streams and starts (one per step), got "
                    f"{len(streams)} and {len(starts)}"
                )
        wanted = 2 * _CANDIDATES_PER_PAIR * self.cfg.pairs_per_update
        for i in range(n):
            key = int(streams[i])
            tail = self._tails.get(key)
            if tail is None or starts[i]:
                tail = self._tails[key] = ([], [])
            tail[0].append(frames[i])
            tail[1].append(inputs[i])
            if len(tail[0]) == seg:  # a complete clip: offer it (a copy), start the next one
                self.pool.offer(np.stack(tail[0]), np.stack(tail[1]), wanted, self.rng)
                self._tails[key] = ([], [])
        for key, (tail_frames, tail_inputs) in self._tails.items():  # unfinished clips wait
            self._tails[key] = ([f.copy() for f in tail_frames],  # for the next call: own
                                [x.copy() for x in tail_inputs])  # copies, not its arrays

    # ------------------------------------------------------------------ updates
    def maybe_update(self, env_steps: int) -> bool:
        """Label a round of pairs and train, at ``warmup_steps`` and every ``update_every``
        steps after; False (nothing changed) when it is not time, the budget is spent, or
        the pool has no pair yet."""
        self.env_steps = max(self.env_steps, int(env_steps))
        if self.updates == 0:
            if env_steps < self.cfg.warmup_steps:
                return False
        elif env_steps - self.last_update < self.cfg.update_every:
            return False
        if self.judge is None or self.pairs_labelled >= self.cfg.pair_budget or len(self.pool) < 2:
            return False
        self._label_round()
        self.last_update = int(env_steps)
        if not (~self.store_holdout).any():
            return False  # every pair so far was held out: nothing to train on yet
        self._fit()
        self.updates += 1
        self._measure()
        return True

    def _choose_pairs(self, count: int) -> np.ndarray:
        """``(count, 2)`` pool indices of disjoint pairs (see the module docstring)."""
        m = len(self.pool)
        candidates = self.rng.permutation(m)[: m // 2 * 2].reshape(-1, 2)
        count = min(count, len(candidates))
        if self.cfg.strategy == "uniform" or self.updates == 0 or count == len(candidates):
            return candidates[:count]
        n_uniform = min(count, round(self.cfg.uniform_share * count))
        chosen, rest = candidates[:n_uniform], candidates[n_uniform:]
        inputs = np.stack(self.pool.inputs)  # (m, segment, ...)
        totals = self._members(inputs.reshape(-1, *self.input_shape))
        totals = totals.reshape(self.net.members, m, -1).sum(dim=2)  # (members, m)
        p_b = torch.sigmoid(totals[:, rest[:, 1]] - totals[:, rest[:, 0]])
        spread = p_b.std(dim=0) if self.net.members > 1 else torch.zeros(len(rest))
        top = torch.argsort(spread, descending=True)[: count - n_uniform].numpy()
        return np.concatenate([chosen, rest[top]])

    def _label_round(self) -> None:
        budget_left = self.cfg.pair_budget - self.pairs_labelled
        pairs = self._choose_pairs(min(self.cfg.pairs_per_update, budget_left))
        frames = [np.stack([self.pool.frames[i] for i in pairs[:, k]]) for k in (0, 1)]
        inputs = [np.stack([self.pool.inputs[i] for i in pairs[:, k]]) for k in (0, 1)]
        self.pool.clear()  # the next round samples the steps from now on
        assert self.judge is not None
        answer = self.judge.compare(frames[0], frames[1])
        labels = np.asarray(answer.labels, np.float32).reshape(-1)
        if len(labels) != len(pairs) or not np.isin(labels, (0.0, 0.5, 1.0)).all():
            raise ConfigError(
                f"{type(self.judge).__name__}.compare: expected {len(pairs)} labels in "
                "{0, 0.5, 1}"
            )
        self.vlm_frames += 2 * len(pairs) * self.cfg.segment
        self.pairs_labelled += len(pairs)
        if answer.scores_a is not None and answer.scores_b is not None:
            scores = np.stack([answer.scores_a, answer.scores_b], axis=1).astype(np.float32)
        else:
            scores = np.full((len(pairs), 2, self.cfg.segment), np.nan, np.float32)
        holdout = self.rng.random(len(pairs)) < self.cfg.holdout_fraction
        self.store_a = np.concatenate([self.store_a, inputs[0]])
        self.store_b = np.concatenate([self.store_b, inputs[1]])
        self.store_y = np.concatenate([self.store_y, labels])
        self.store_holdout = np.concatenate([self.store_holdout, holdout])
        self.store_scores = np.concatenate([self.store_scores, scores])

    def _pair_logits(self, a: np.ndarray, b: np.ndarray, idx: torch.Tensor) -> torch.Tensor:
        """``(members, B)`` logits of "b preferred", member m on its own pairs ``idx[m]``."""
        m, batch = idx.shape
        seg = self.cfg.segment
        both = np.concatenate([a[idx.numpy()], b[idx.numpy()]], axis=1)  # (M, 2B, seg, ...)
        r = self.net.forward_each(torch.from_numpy(both.reshape(m, 2 * batch * seg,
                                                                *self.input_shape)))
        totals = r.reshape(m, 2, batch, seg).sum(dim=3)
        return totals[:, 1] - totals[:, 0]

    def _fit(self) -> None:
        train = ~self.store_holdout
        a, b = self.store_a[train], self.store_b[train]
        y = torch.from_numpy(self.store_y[train])
        if self.updates == 0:  # standardise inputs once, on the first labelled steps
            self.net.set_input_stats(torch.from_numpy(
                np.concatenate([a, b]).reshape(-1, *self.input_shape)))
        batch = min(self.cfg.batch_size, len(y))
        losses = []
        self.net.train()
        for _ in range(self.cfg.gradient_steps):
            idx = torch.randint(0, len(y), (self.net.members, batch), generator=self._torch_gen)
            logits = self._pair_logits(a, b, idx)
            loss = F.binary_cross_entropy_with_logits(logits, y[idx])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            losses.append(float(loss.detach()))
        self.net.eval()
        self.loss = float(np.mean(losses[-max(1, len(losses) // 10):]))
        labelled = self._mean_reward(np.concatenate([a, b]).reshape(-1, *self.input_shape))
        self.out_mean = float(labelled.mean())
        self.out_std = float(labelled.std()) if labelled.std() > 1e-8 else 1.0

    def _measure(self) -> None:
        """Agreement with the judge on the held-out pairs (see :meth:`metrics`)."""
        held = self.store_holdout
        self.agreement = {}
        if not held.any():
            return
        flat = np.concatenate([self.store_a[held], self.store_b[held]])  # (2H, seg, ...)
        r = self.predict(flat.reshape(-1, *self.input_shape)).reshape(2, int(held.sum()), -1)
        diff = r[1].sum(axis=1) - r[0].sum(axis=1)
        y = self.store_y[held]
        decided = y != 0.5
        if decided.any():
            agree = (diff[decided] > 0) == (y[decided] == 1)
            self.agreement["learned_accuracy"] = float(np.mean(agree))
        scores = self.store_scores[held].transpose(1, 0, 2).reshape(-1)
        known = np.isfinite(scores)
        try:
            self.agreement["learned_pearson"] = pearson(r.reshape(-1)[known], scores[known])
            self.agreement["learned_epic"] = epic_distance(r.reshape(-1)[known], scores[known])
        except MetricError:
            pass  # too few held-out frames, or a constant score: not measurable yet

    def metrics(self) -> dict[str, float]:
        """``vlm_queries`` (VLM frames the judge saw), ``vlm_queries_per_step``,
        ``pair_labels``, ``learned_loss``, ``learned_updates``, and once pairs are held out
        ``learned_accuracy`` (share of decided held-out pairs the model orders as the judge
        did) and ``learned_pearson`` / ``learned_epic`` (learned reward vs VLM score on the
        held-out frames)."""
        out = {
            "vlm_queries": float(self.vlm_frames),
            "vlm_queries_per_step": self.vlm_frames / max(1, self.env_steps),
            "pair_labels": float(self.pairs_labelled),
            "learned_updates": float(self.updates),
        }
        if math.isfinite(self.loss):
            out["learned_loss"] = self.loss
        out.update(self.agreement)
        return out

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "store": {
                "a": torch.from_numpy(self.store_a.copy()),
                "b": torch.from_numpy(self.store_b.copy()),
                "y": torch.from_numpy(self.store_y.copy()),
                "holdout": torch.from_numpy(self.store_holdout.copy()),
                "scores": torch.from_numpy(self.store_scores.copy()),
            },
            "counters": {
                "updates": self.updates, "last_update": self.last_update,
                "env_steps": self.env_steps, "vlm_frames": self.vlm_frames,
                "pairs_labelled": self.pairs_labelled,
            },
            "out_mean": self.out_mean,
            "out_std": self.out_std,
            "loss": self.loss,
            "agreement": dict(self.agreement),
            "rng": _rng_state(self.rng),
            "torch_rng": self._torch_gen.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        expected = (self.cfg.segment, *self.input_shape)
        try:
            stored = tuple(state["store"]["a"].shape[1:])
        except (KeyError, AttributeError, TypeError):
            stored = None
        if stored != expected:
            raise CheckpointError(
                f"preference reward state holds clips of shape {stored}, but this model's "
                f"reward.learned config makes {expected} (segment, inputs, frame_size); "
                "resume with the config the state was saved with"
            )
        try:
            self.net.load_state_dict(state["net"])
            self.optimizer.load_state_dict(state["optimizer"])
            store = state["store"]
            self.store_a = store["a"].numpy().copy()
            self.store_b = store["b"].numpy().copy()
            self.store_y = store["y"].numpy().copy()
            self.store_holdout = store["holdout"].numpy().copy()
            self.store_scores = store["scores"].numpy().copy()
            counters = state["counters"]
            self.updates = int(counters["updates"])
            self.last_update = int(counters["last_update"])
            self.env_steps = int(counters["env_steps"])
            self.vlm_frames = int(counters["vlm_frames"])
            self.pairs_labelled = int(counters["pairs_labelled"])
            self.out_mean = float(state["out_mean"])
            self.out_std = float(state["out_std"])
            self.loss = float(state["loss"])
            self.agreement = {k: float(v) for k, v in state["agreement"].items()}
            self.rng.bit_generator.state = _rng_from_state(state["rng"])
            self._torch_gen.set_state(state["torch_rng"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(
                f"preference reward state does not fit this model ({type(exc).__name__}: "
                f"{exc}); was it saved with another reward.learned config?"
            ) from None
        self.pool.clear()
        self._tails.clear()


def _rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """A numpy Generator's state with its 128-bit integers as strings (loads weights-only)."""
    state = rng.bit_generator.state
    return {"bit_generator": state["bit_generator"],
            "state": {k: str(v) for k, v in state["state"].items()},
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def _rng_from_state(saved: dict[str, Any]) -> dict[str, Any]:
    return {"bit_generator": saved["bit_generator"],
            "state": {k: int(v) for k, v in saved["state"].items()},
            "has_uint32": int(saved["has_uint32"]), "uinteger": int(saved["uinteger"])}
