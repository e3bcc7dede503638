"""Distillation with active querying: a student ensemble regresses the VLM reward and asks the
VLM only about the steps it is least sure of.

Each batch of new steps goes through the query rule (:func:`plan_queries`, then
:func:`choose_queries`): during the warm-up (and until the student has been trained once)
the VLM labels every step; after it, ``query_fraction`` of the steps, of which
``uniform_share`` are drawn uniformly at random (they keep the student honest where it is
confidently wrong) and the rest are the steps where the members of the ensemble disagree
most (their standard deviation). Queried steps are rewarded with the VLM's own label, every
other step with the ensemble's mean. A ``holdout_fraction`` of the labels is never trained
on; the student's Pearson correlation and EPIC distance to the VLM on it are what
``reward/learned_pearson`` and ``reward/learned_epic`` report.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> spread = np.array([0.1, 0.9, 0.2, 0.8, 0.05, 0.3])
    >>> np.flatnonzero(choose_queries(spread, 2, 0.0, "disagreement", rng))
    array([1, 3])
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.errors import MetricError
from vlm_reward.evaluation.metrics import epic_distance, pearson
from vlm_reward.learned.base import LearnedReward
from vlm_reward.learned.networks import RewardEnsemble

if TYPE_CHECKING:
    from vlm_reward.config import LearnedConfig
    from vlm_reward.reward import RewardModel
    from vlm_reward.reward.model import Steps

__all__ = ["DistillReward", "LabelStore", "QueryPlan", "choose_queries", "plan_queries"]

_CHUNK = 1024  # inputs per student forward pass when predicting


class QueryPlan:
    """How many steps of a batch the VLM labels: all of the first ``warm`` (warm-up), then
    ``rule`` more chosen by :func:`choose_queries` among the rest."""

    __slots__ = ("credit", "rule", "warm")

    def __init__(self, warm: int, rule: int, credit: float) -> None:
        self.warm, self.rule, self.credit = warm, rule, credit

    def __repr__(self) -> str:
        return f"QueryPlan(warm={self.warm}, rule={self.rule}, credit={self.credit:.3f})"


def plan_queries(n: int, seen: int, trained: bool, cfg: LearnedConfig, credit: float,
                 spent: int) -> QueryPlan:
    """The query counts for a batch of ``n`` new steps.

    Args:
        n: steps in the batch (in time order).
        seen: steps rewarded before this batch.
        trained: whether the student has been trained; until then every step is labelled.
        cfg: ``query_fraction``, ``warmup_steps`` and ``query_budget`` are read.
        credit: the fractional query left over from earlier batches, so that batches of any
            size add up to ``query_fraction`` of the steps (1 env step at a time included).
        spent: VLM labels asked for so far (against ``query_budget``).
    """
    warm = n if not trained else min(n, max(0, cfg.warmup_steps - seen))
    credit += cfg.query_fraction * (n - warm)
    rule = min(n - warm, math.floor(credit + 1e-9))
    credit -= rule
    if cfg.query_budget is not None:
        left = max(0, cfg.query_budget - spent)
        warm = min(warm, left)
        rule = min(rule, left - warm)
    return QueryPlan(warm, rule, credit)


def choose_queries(spread: np.ndarray, count: int, uniform_share: float, strategy: str,
                   rng: np.random.Generator) -> np.ndarray:
    """Pick ``count`` of the steps for the VLM; returns a bool mask shaped like ``spread``.

    ``strategy`` ``"uniform"`` picks them all uniformly at random;
    ``"disagreement"`` picks ``round(uniform_share * count)`` uniformly, then the steps with
    the largest ensemble ``spread`` among the others.
    """
    n = len(spread)
    count = max(0, min(int(count), n))
    mask = np.zeros(n, bool)
    if count == 0:
        return mask
    n_uniform = count if strategy == "uniform" else round(uniform_share * count)
    if n_uniform:
        mask[rng.choice(n, size=n_uniform, replace=False)] = True
    rest = count - n_uniform
    if rest:
        order = np.argsort(-np.asarray(spread, np.float64), kind="stable")
        mask[order[~mask[order]][:rest]] = True
    return mask


class LabelStore:
    """The newest ``capacity`` (input, VLM label) pairs, a ring buffer (oldest dropped first).

    Example:
        >>> store = LabelStore(3, (2,), np.float32)
        >>> store.add(np.arange(8, dtype=np.float32).reshape(4, 2), np.arange(4.0))
        >>> len(store), sorted(store.labels.tolist())
        (3, [1.0, 2.0, 3.0])
    """

    def __init__(self, capacity: int, shape: tuple[int, ...], dtype: Any) -> None:
        self.capacity = int(capacity)
        self._inputs = np.zeros((self.capacity, *shape), dtype)  # pages committed as filled
        self._labels = np.zeros(self.capacity, np.float32)
        self._size = 0
        self._pos = 0

    def __len__(self) -> int:
        return self._size

    @property
    def inputs(self) -> np.ndarray:
        return self._inputs[: self._size]

    @property
    def labels(self) -> np.ndarray:
        return self._labels[: self._size]

    def add(self, inputs: np.ndarray, labels: np.ndarray) -> None:
        """Append pairs; beyond ``capacity`` the oldest ones are overwritten."""
        n = len(labels)
        if n > self.capacity:  # only the newest fit
            inputs, labels, n = inputs[-self.capacity:], labels[-self.capacity:], self.capacity
        rows = (self._pos + np.arange(n)) % self.capacity
        self._inputs[rows] = inputs
        self._labels[rows] = labels
        self._pos = int((self._pos + n) % self.capacity)
        self._size = min(self.capacity, self._size + n)

    def state(self) -> dict[str, Any]:
        return {"inputs": torch.from_numpy(self.inputs.copy()),
                "labels": torch.from_numpy(self.labels.copy()), "pos": self._pos}

    def load(self, state: dict[str, Any]) -> None:
        inputs = state["inputs"].numpy()
        labels = state["labels"].numpy()
        n = len(labels)
        if n > self.capacity or inputs.shape[1:] != self._inputs.shape[1:]:
            raise ConfigError(
                f"label store: saved {n} labels of shape {inputs.shape[1:]}, but this model "
                f"keeps {self.capacity} of shape {self._inputs.shape[1:]}; resume with the "
                "run's own reward.learned settings"
            )
        self._inputs[:n] = inputs
        self._labels[:n] = labels
        self._size = n
        self._pos = int(state["pos"]) % self.capacity


class DistillReward(LearnedReward):
    """A student ensemble (:class:`~vlm_reward.learned.networks.RewardEnsemble`) trained to
    regress the VLM reward on the steps it asks the VLM about (see the module docstring).

    Targets are standardised with the mean and std of the stored labels (set at each update),
    so a VLM whose scores span 0.02 trains as well as one spanning 2; :meth:`predict`
    returns rewards on the VLM's own scale.

    Example:
        >>> from vlm_reward.config import LearnedConfig
        >>> cfg = LearnedConfig(kind="distill", inputs="observation", hidden=8)
        >>> student = DistillReward(cfg, None, seed=0, observation_shape=(4,))
        >>> student.predict(np.zeros((2, 4), np.float32)).shape
        (2,)
    """

    kind = "distill"

    def __init__(self, cfg: LearnedConfig, vlm: RewardModel | None, seed: int,
                 observation_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(cfg, vlm, seed, observation_shape)
        shape = self.input_shape
        dtype = np.uint8 if self.scores_frames else np.float32
        self.network = RewardEnsemble(shape, cfg.ensemble, cfg.hidden, seed=seed)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=cfg.learning_rate)
        self.rng = np.random.default_rng(seed)
        self.train_store = LabelStore(cfg.label_capacity, shape, dtype)
        holdout = max(2, math.ceil(cfg.label_capacity * cfg.holdout_fraction))
        self.holdout = LabelStore(holdout, shape, dtype)
        self.target_mean, self.target_std = 0.0, 1.0
        self.seen = 0  # steps rewarded
        self.queries = 0  # VLM labels asked for
        self.updates = 0
        self.last_update = 0  # env steps at the last update
        self.credit = 0.0
        self.loss: float | None = None
        self.agreement: dict[str, float] = {}
        self._queried: np.ndarray | None = None

    # rewards ---------------------------------------------------------------------------------
    @torch.no_grad()
    def _members(self, inputs: np.ndarray) -> np.ndarray:
        """Every member's standardised prediction, ``(members, N)``."""
        self.network.eval()
        out = [self.network(inputs[i:i + _CHUNK]).numpy() for i in range(0, len(inputs), _CHUNK)]
        return np.concatenate(out, axis=1) if out else np.zeros((self.cfg.ensemble, 0))

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        mean = self._members(inputs).mean(axis=0)
        return (mean * self.target_std + self.target_mean).astype(np.float32)

    def rewards(self, frames: np.ndarray, observations: np.ndarray | None, env_steps: int,
                steps: Steps | None = None) -> np.ndarray:
        inputs = self.inputs(frames, observations)
        n = len(inputs)
        plan = plan_queries(n, self.seen, self.updates > 0, self.cfg, self.credit, self.queries)
        self.credit = plan.credit
        mask = np.zeros(n, bool)
        mask[: plan.warm] = True
        out = np.zeros(n, np.float32)
        if plan.warm < n:
            members = self._members(inputs[plan.warm:])
            rest = choose_queries(members.std(axis=0), plan.rule, self.cfg.uniform_share,
                                  self.cfg.strategy, self.rng)
            mask[plan.warm:] = rest
            out[plan.warm:] = members.mean(axis=0) * self.target_std + self.target_mean
        if mask.any():
            if self.vlm is None:
                raise ConfigError(
                    "this learned reward was loaded for scoring only (no VLM): it can predict "
                    "rewards of stored inputs, not ask for new labels"
                )
            labels = self.vlm.rewards(frames[mask]).astype(np.float32)
            out[mask] = labels
            self._store(inputs[mask], labels)
        self.seen += n
        self.queries += int(mask.sum())
        self._queried = mask
        return out

    def queried(self) -> np.ndarray | None:
        return self._queried

    def _store(self, inputs: np.ndarray, labels: np.ndarray) -> None:
        held = self.rng.random(len(labels)) < self.cfg.holdout_fraction
        if held.any():
            self.holdout.add(inputs[held], labels[held])
        if (~held).any():
            self.train_store.add(inputs[~held], labels[~held])

    # training --------------------------------------------------------------------------------
    def maybe_update(self, env_steps: int) -> bool:
        if len(self.train_store) < 2:
            return False
        if self.updates == 0:
            if self.seen < self.cfg.warmup_steps:
                return False
        elif env_steps - self.last_update < self.cfg.update_every:
            return False
        self._fit()
        self.updates += 1
        self.last_update = env_steps
        self._measure()
        return True

    def _fit(self) -> None:
        store = self.train_store
        labels = store.labels
        self.target_mean = float(labels.mean())
        std = float(labels.std())
        self.target_std = std if std > 1e-8 else 1.0
        if self.updates == 0:
            sample = self.rng.choice(len(store), size=min(len(store), 4096), replace=False)
            self.network.set_input_stats(store.inputs[np.sort(sample)])
        self.network.train()
        losses = []
        batch = min(self.cfg.batch_size, len(store))
        for _ in range(self.cfg.gradient_steps):
            idx = self.rng.integers(0, len(store), size=batch)
            target = torch.from_numpy((labels[idx] - self.target_mean) / self.target_std)
            pred = self.network(store.inputs[idx])  # (members, batch)
            loss = ((pred - target.float()) ** 2).mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            losses.append(float(loss.detach()))
        tail = losses[-max(1, len(losses) // 10):]  # the loss the update ended at
        self.loss = float(np.mean(tail))

    def _measure(self) -> None:
        """Pearson and EPIC of the student vs the VLM on the held-out labels."""
        if len(self.holdout) < 2:
            return
        predicted = self.predict(self.holdout.inputs)
        with contextlib.suppress(MetricError):  # constant labels or predictions: undefined
            self.agreement = {"learned_pearson": pearson(predicted, self.holdout.labels),
                              "learned_epic": epic_distance(predicted, self.holdout.labels)}

    # reporting and state ---------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        out = {"vlm_queries": float(self.queries),
               "vlm_queries_per_step": self.queries / self.seen if self.seen else 0.0,
               "learned_labels": float(len(self.train_store)),
               "learned_updates": float(self.updates)}
        if self.loss is not None:
            out["learned_loss"] = self.loss
        return out | self.agreement

    def state_dict(self) -> dict[str, Any]:
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "train_store": self.train_store.state(),
            "holdout": self.holdout.state(),
            "rng": self.rng.bit_generator.state,
            "target": [self.target_mean, self.target_std],
            "counters": {"seen": self.seen, "queries": self.queries, "updates": self.updates,
                         "last_update": self.last_update, "credit": self.credit},
            "loss": self.loss,
            "agreement": dict(self.agreement),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.train_store.load(state["train_store"])
        self.holdout.load(state["holdout"])
        self.rng.bit_generator.state = state["rng"]
        self.target_mean, self.target_std = (float(v) for v in state["target"])
        counters = state["counters"]
        self.seen, self.queries = int(counters["seen"]), int(counters["queries"])
        self.updates, self.last_update = int(counters["updates"]), int(counters["last_update"])
        self.credit = float(counters["credit"])
        self.loss = None if state["loss"] is None else float(state["loss"])
        self.agreement = {k: float(v) for k, v in state["agreement"].items()}
