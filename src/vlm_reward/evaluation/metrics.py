"""How well a VLM reward agrees with a reference: EPIC, correlations, ROC AUC, bootstrap CIs.

**EPIC for state-only rewards.** EPIC (Gleave et al., 2021) canonicalises two rewards and then
takes the Pearson distance ``sqrt((1 - rho) / 2)`` between them under a coverage distribution.
The canonical form of ``R(s, a, s')`` is
``C(R)(s, a, s') = R(s, a, s') + E[gamma R(s', A, S') - R(s, A, S') - gamma R(S, A, S')]``
with ``S, S'`` drawn from the coverage distribution. For a reward that depends only on the
state it is evaluated on, ``R(s, a, s') = R(s')``, this is
``R(s') + gamma E[R(S')] - E[R(S')] - gamma E[R(S')] = R(s') - E[R]``: the reward minus a
constant. The Pearson correlation ignores constant shifts (and positive scale), so with the
coverage distribution taken as uniform over a fixed set of states, **EPIC reduces to the
Pearson distance between the two reward vectors over those states**, which is what
:func:`epic_distance` computes. It lies in ``[0, 1]``: 0 for rewards that are equivalent up to
shift and positive scale, 0.5 for uncorrelated ones, 1 for opposite ones.

All metrics are computed along the last axis, so the bootstrap evaluates thousands of
resamples as one array operation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from vlm_reward.evaluation.errors import MetricError

__all__ = [
    "LOWER_IS_BETTER",
    "METRICS",
    "MetricValue",
    "bootstrap_ci",
    "compute_metrics",
    "epic_distance",
    "is_binary",
    "pearson",
    "roc_auc",
    "spearman",
]

LOWER_IS_BETTER = frozenset({"epic"})


def _rank(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, ties averaged (1-based), like ``scipy.stats.rankdata``."""
    from scipy.stats import rankdata

    return rankdata(x, axis=-1)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    num = (xc * yc).sum(axis=-1)
    den = np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _pearson_rows(_rank(x), _rank(y))


def _epic_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sqrt((1.0 - _pearson_rows(x, y)) / 2.0)


def _auc_rows(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mann-Whitney form of ROC AUC: P(score of a positive > score of a negative), ties 1/2."""
    ranks = _rank(scores)
    pos = labels > 0.5
    n1 = pos.sum(axis=-1).astype(np.float64)
    n0 = labels.shape[-1] - n1
    rank_sum = np.where(pos, ranks, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)


_ROW_FUNCS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "epic": _epic_rows,
    "pearson": _pearson_rows,
    "spearman": _spearman_rows,
    "roc_auc": _auc_rows,
}
METRICS: tuple[str, ...] = tuple(_ROW_FUNCS)


def _pair(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    b = np.asarray(y, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise MetricError(f"metrics: reward has {a.size} values but reference has {b.size}")
    if a.size < 2:
        raise MetricError(f"metrics: need at least 2 states, got {a.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise MetricError("metrics: reward and reference must be finite (drop NaN rows first)")
    return a, b


def _check_varies(v: np.ndarray, what: str) -> None:
    if np.ptp(v) == 0:
        raise MetricError(
            f"metrics: the {what} is constant ({v[0]:g} for all {v.size} states), so "
            "correlations are undefined; use a reference that varies across the states"
        )


def pearson(x: object, y: object) -> float:
    """Pearson correlation of two vectors.

    Example:
        >>> round(pearson([1, 2, 3, 4], [1, 3, 2, 4]), 6)
        0.8
    """
    a, b = _pair(x, y)
    _check_varies(a, "reward")
    _check_varies(b, "reference")
    return float(_pearson_rows(a, b))


def spearman(x: object, y: object) -> float:
    """Spearman rank correlation (Pearson of the tie-averaged ranks).

    Example:
        >>> round(spearman([1, 20, 300, 4000], [1, 3, 2, 4]), 6)
        0.8
    """
    a, b = _pair(x, y)
    _check_varies(a, "reward")
    _check_varies(b, "reference")
    return float(_spearman_rows(a, b))


def epic_distance(x: object, y: object) -> float:
    """EPIC distance of two state-only rewards on fixed states: ``sqrt((1 - pearson) / 2)``.

    See the module docstring for why canonicalisation drops out in the state-only case.

    Example:
        >>> round(epic_distance([1, 2, 3, 4], [1, 3, 2, 4]), 6)  # sqrt(0.1)
        0.316228
    """
    return math.sqrt((1.0 - pearson(x, y)) / 2.0)


def is_binary(y: object) -> bool:
    """True when every value is 0 or 1."""
    v = np.asarray(y, dtype=np.float64)
    return bool(np.isin(v, (0.0, 1.0)).all())


def roc_auc(scores: object, labels: object) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (1 = positive).

    Example:
        >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.75
    """
    s, y = _pair(scores, labels)
    if not is_binary(y):
        raise MetricError("metrics: ROC AUC needs binary labels (0/1) as the reference")
    if y.min() == y.max():
        raise MetricError(
            f"metrics: ROC AUC needs both classes, but every label is {int(y[0])}; "
            "collect states where the task both succeeds and fails"
        )
    return float(_auc_rows(s, y))


@dataclass(frozen=True)
class MetricValue:
    """A metric with its bootstrap confidence interval (NaN bounds when not bootstrapped)."""

    value: float
    low: float = math.nan
    high: float = math.nan

    def to_dict(self) -> dict[str, float | None]:
        return {k: (None if math.isnan(v) else v) for k, v in asdict(self).items()}

    def __str__(self) -> str:
        if math.isnan(self.low):
            return f"{self.value:.4f}"
        return f"{self.value:.4f} [{self.low:.4f}, {self.high:.4f}]"


def bootstrap_ci(
    metric: str,
    x: object,
    y: object,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 200,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric`` over states resampled with replacement.

    Resamples where the metric is undefined (a constant vector, a single class) are skipped;
    with a fixed ``seed`` the interval is reproducible.

    Args:
        metric: one of :data:`METRICS`.
        x: reward values.
        y: reference values.
        n_boot: number of resamples.
        confidence: coverage of the interval, e.g. 0.95.
        seed: seed of the resampling generator.
        chunk: resamples evaluated per array operation (bounds memory).
    """
    if metric not in _ROW_FUNCS:
        raise MetricError(f"metric: unknown {metric!r}; choose from {', '.join(METRICS)}")
    if not 0.0 < confidence < 1.0:
        raise MetricError(f"confidence: expected a value in (0, 1), got {confidence}")
    if n_boot < 1:
        raise MetricError(f"n_boot: expected a positive integer, got {n_boot}")
    a, b = _pair(x, y)
    func = _ROW_FUNCS[metric]
    rng = np.random.default_rng(seed)
    values = []
    done = 0
    while done < n_boot:
        k = min(chunk, n_boot - done)
        idx = rng.integers(0, a.size, size=(k, a.size))
        values.append(func(a[idx], b[idx]))
        done += k
    stats = np.concatenate(values)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(stats, [tail, 100.0 - tail])
    return float(low), float(high)


def compute_metrics(
    reward: object,
    reference: object,
    *,
    binary: bool | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, MetricValue]:
    """EPIC, Pearson, Spearman (and ROC AUC for binary references) with bootstrap CIs.

    Args:
        reward: the VLM reward per state.
        reference: ground-truth reward, success flags or human labels per state.
        binary: whether the reference is a 0/1 label (adds ROC AUC); detected when None.
        n_boot: bootstrap resamples; 0 disables the intervals.
        confidence: interval coverage.
        seed: bootstrap seed.
    """
    a, b = _pair(reward, reference)
    _check_varies(b, "reference")
    _check_varies(a, "reward")
    if binary is None:
        binary = is_binary(b)
    names = ["epic", "pearson", "spearman"] + (["roc_auc"] if binary else [])
    out: dict[str, MetricValue] = {}
    for name in names:
        value = float(_ROW_FUNCS[name](a, b))
        if n_boot > 0:
            low, high = bootstrap_ci(name, a, b, n_boot=n_boot, confidence=confidence,
                                     seed=seed)
        else:
            low = high = math.nan
        out[name] = MetricValue(value, low, high)
    return out
