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

The statistics come from libraries, this module only arranges their inputs: Pearson and
Spearman from :mod:`scipy.stats`, ROC AUC from :func:`sklearn.metrics.roc_auc_score`, and the
confidence intervals from :func:`scipy.stats.bootstrap` (percentile method). The bootstrap
resamples states with replacement, keeping reward and reference paired; for ROC AUC it
resamples success and failure states separately (a stratified bootstrap, as pROC does), so
every resample has both classes and the area is the Mann-Whitney ``U / (n1 n0)`` of
:func:`scipy.stats.mannwhitneyu`, which is what ``roc_auc_score`` computes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.errors import MetricError

__all__ = [
    "LOWER_IS_BETTER",
    "METRICS",
    "MetricValue",
    "bootstrap_ci",
    "check_n_boot",
    "compute_metrics",
    "epic_distance",
    "is_binary",
    "pearson",
    "roc_auc",
    "spearman",
]

LOWER_IS_BETTER = frozenset({"epic"})


def _pearson_rows(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson r along ``axis`` (scipy); NaN where either vector is constant."""
    from scipy.stats import pearsonr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConstantInputWarning / NearConstantInputWarning
        r = pearsonr(x, y, axis=axis).statistic
    return np.clip(r, -1.0, 1.0)


def _spearman_rows(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman rho along ``axis``: the Pearson r of the tie-averaged ranks (scipy)."""
    from scipy.stats import rankdata

    return _pearson_rows(rankdata(x, axis=axis), rankdata(y, axis=axis), axis=axis)


def _epic_rows(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """EPIC: the Pearson distance ``sqrt((1 - r) / 2)`` (see the module docstring)."""
    return np.sqrt((1.0 - _pearson_rows(x, y, axis=axis)) / 2.0)


def _auc_two_sample(positives: np.ndarray, negatives: np.ndarray, axis: int = -1) -> np.ndarray:
    """ROC AUC of positive vs negative scores: Mann-Whitney ``U / (n1 n0)``, ties count 1/2."""
    from scipy.stats import mannwhitneyu

    u = mannwhitneyu(positives, negatives, axis=axis, method="asymptotic").statistic
    return u / (positives.shape[axis] * negatives.shape[axis])


# Metrics of paired vectors, evaluated along an axis so the bootstrap runs as array operations.
_PAIRED: dict[str, Callable[..., np.ndarray]] = {
    "epic": _epic_rows,
    "pearson": _pearson_rows,
    "spearman": _spearman_rows,
}
METRICS: tuple[str, ...] = (*_PAIRED, "roc_auc")


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
    from scipy.stats import pearsonr

    a, b = _pair(x, y)
    _check_varies(a, "reward")
    _check_varies(b, "reference")
    return float(np.clip(pearsonr(a, b).statistic, -1.0, 1.0))


def spearman(x: object, y: object) -> float:
    """Spearman rank correlation (Pearson of the tie-averaged ranks).

    Example:
        >>> round(spearman([1, 20, 300, 4000], [1, 3, 2, 4]), 6)
        0.8
    """
    from scipy.stats import spearmanr

    a, b = _pair(x, y)
    _check_varies(a, "reward")
    _check_varies(b, "reference")
    return float(spearmanr(a, b).statistic)


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
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y > 0.5, s))


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


def check_n_boot(n_boot: int) -> int:
    """Return ``n_boot`` if it is a valid number of bootstrap resamples (0 = no intervals)."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ConfigError(
            f"--n-boot: expected 0 (no confidence intervals) or a positive number of "
            f"bootstrap resamples such as 1000, got {n_boot!r}"
        )
    return int(n_boot)


def _percentile_interval(dist: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of the resamples where the metric is defined (NaN if none is)."""
    finite = dist[np.isfinite(dist)]
    if finite.size == 0:
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


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
    """Percentile bootstrap interval of ``metric``, resampled by :func:`scipy.stats.bootstrap`.

    States are resampled with replacement, reward and reference kept paired; ROC AUC
    resamples positive and negative states separately (see the module docstring). Resamples
    where a metric is undefined (a constant vector) are left out of the percentiles; with a
    fixed ``seed`` the interval is reproducible. The bounds are NaN when no resample is
    defined, and for ROC AUC when a class has a single state.

    Args:
        metric: one of :data:`METRICS`.
        x: reward values.
        y: reference values (0/1 labels for ``roc_auc``).
        n_boot: number of resamples (at least 1).
        confidence: coverage of the interval, e.g. 0.95.
        seed: seed of the resampling generator.
        chunk: resamples evaluated per array operation (bounds memory).
    """
    from scipy.stats import bootstrap

    if metric not in METRICS:
        raise MetricError(f"metric: unknown {metric!r}; choose from {', '.join(METRICS)}")
    if not 0.0 < confidence < 1.0:
        raise MetricError(f"confidence: expected a value in (0, 1), got {confidence}")
    if check_n_boot(n_boot) < 1:
        raise MetricError(f"n_boot: expected a positive integer, got {n_boot}")
    a, b = _pair(x, y)
    if metric == "roc_auc":
        if not is_binary(b) or b.min() == b.max():
            raise MetricError("metrics: ROC AUC needs binary labels (0/1) with both classes")
        data: tuple[np.ndarray, ...] = (a[b > 0.5], a[b <= 0.5])
        if min(d.size for d in data) < 2:  # one state of a class: nothing to resample
            return math.nan, math.nan
        statistic, paired = _auc_two_sample, False
    else:
        data, statistic, paired = (a, b), _PAIRED[metric], True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DegenerateDataWarning: handled by dropping NaNs
        res = bootstrap(data, statistic, n_resamples=n_boot, batch=chunk, vectorized=True,
                        paired=paired, confidence_level=confidence, method="percentile",
                        rng=np.random.default_rng(seed))
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isfinite(low) and math.isfinite(high):
        return low, high
    return _percentile_interval(np.asarray(res.bootstrap_distribution), confidence)


_POINT: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "epic": epic_distance, "pearson": pearson, "spearman": spearman, "roc_auc": roc_auc,
}


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
        n_boot: bootstrap resamples; 0 gives no intervals (NaN bounds), negative is refused.
        confidence: interval coverage.
        seed: bootstrap seed.
    """
    check_n_boot(n_boot)
    a, b = _pair(reward, reference)
    _check_varies(b, "reference")
    _check_varies(a, "reward")
    if binary is None:
        binary = is_binary(b)
    names = ["epic", "pearson", "spearman"] + (["roc_auc"] if binary else [])
    out: dict[str, MetricValue] = {}
    for name in names:
        value = _POINT[name](a, b)
        if n_boot > 0:
            low, high = bootstrap_ci(name, a, b, n_boot=n_boot, confidence=confidence,
                                     seed=seed)
        else:
            low = high = math.nan
        out[name] = MetricValue(value, low, high)
    return out
