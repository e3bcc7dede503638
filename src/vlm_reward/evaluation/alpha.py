"""Alpha sweep: metrics and reward curves over goal-baseline strengths, from one embedding pass.

Alpha only enters the reward after the images are embedded (``R = 1 - 1/2 ||M_alpha (s - g)||^2``
with ``s`` the image embedding), so the dataset is embedded once and every alpha reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.metrics import LOWER_IS_BETTER, MetricValue, compute_metrics
from vlm_reward.evaluation.scoring import Reference

if TYPE_CHECKING:
    import torch

    from vlm_reward.reward import GoalBaselineReward

__all__ = ["AlphaSweepResult", "alpha_sweep", "parse_alphas", "write_alpha_report"]


def parse_alphas(text: str | None = None, steps: int | None = None) -> list[float]:
    """Alphas from ``"0,0.25,0.5"`` or ``steps`` evenly spaced values over ``[0, 1]``."""
    if text:
        try:
            values = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise ConfigError(f"alphas: expected comma-separated numbers, got {text!r}") from None
    else:
        steps = 11 if steps is None else steps
        if steps < 2:
            raise ConfigError(f"alpha-steps: expected at least 2, got {steps}")
        values = np.linspace(0.0, 1.0, steps).round(6).tolist()
    if not values:
        raise ConfigError("alphas: give at least one value")
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if bad:
        raise ConfigError(f"alphas: every value must be in [0, 1], got {bad}")
    return values


@dataclass
class AlphaSweepResult:
    """Rewards and metrics per alpha.

    Attributes:
        alphas: the alphas, ascending.
        rewards: ``(len(alphas), N)`` rewards over all frames.
        reference: the reference the metrics compare against.
        metrics: per alpha, metric name -> value with CI.
    """

    alphas: list[float]
    rewards: np.ndarray
    reference: Reference
    metrics: list[dict[str, MetricValue]]

    def best(self, metric: str = "epic") -> float:
        """The alpha with the best value of ``metric``."""
        vals = np.array([m[metric].value for m in self.metrics])
        i = int(np.nanargmin(vals) if metric in LOWER_IS_BETTER else np.nanargmax(vals))
        return self.alphas[i]

    def to_dict(self) -> dict[str, Any]:
        return {
            "alphas": self.alphas,
            "reference": self.reference.name,
            "n_reference_frames": len(self.reference),
            "metrics": [{k: v.to_dict() for k, v in m.items()} for m in self.metrics],
            "best_alpha_by_epic": self.best("epic"),
            "rewards": self.rewards,
        }


def alpha_sweep(
    embeddings: torch.Tensor,
    reward: GoalBaselineReward,
    alphas: Sequence[float],
    reference: Reference,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> AlphaSweepResult:
    """Score precomputed image embeddings at every alpha and compare each to the reference.

    Args:
        embeddings: ``(N, D)`` image embeddings of the dataset (computed once).
        reward: the goal(-baseline) reward; only its alpha is varied.
        alphas: values in ``[0, 1]``; any above 0 need a baseline.
        reference: reference values for a subset of the frames.
        n_boot: bootstrap resamples per metric.
        seed: bootstrap seed.
    """
    alphas = sorted(float(a) for a in alphas)
    if not alphas:
        raise ConfigError("alphas: give at least one value")
    if reward.baseline is None and any(a > 0 for a in alphas):
        raise ConfigError("alphas: values above 0 need a baseline prompt (--baseline)")
    rewards = np.stack([reward.with_alpha(a)(embeddings).numpy() for a in alphas])
    rewards = rewards.astype(np.float64)
    metrics = [compute_metrics(r[reference.index], reference.values, binary=reference.binary,
                               n_boot=n_boot, seed=seed) for r in rewards]
    return AlphaSweepResult(alphas, rewards, reference, metrics)


def write_alpha_report(
    result: AlphaSweepResult,
    out_dir: str | Path,
    *,
    x: np.ndarray,
    x_label: str,
    settings: dict[str, Any],
    warnings: Sequence[str] = (),
    connect: bool = True,
    command: str | None = None,
) -> Path:
    """Plot (``alpha.png``/``.svg``) and HTML report for an alpha sweep.

    ``x`` is the axis of the reward curves (a swept state variable or the frame index);
    ``connect=False`` draws them as points when ``x`` is not a sweep.
    """
    from vlm_reward.evaluation.plots import plot_alpha_sweep, save_figure
    from vlm_reward.evaluation.report import ReportFigure, ReportTable, write_report

    out = Path(out_dir)
    names = list(result.metrics[0])
    per_metric = {n: [m[n] for m in result.metrics] for n in names}
    k = len(result.alphas)
    shown = sorted({0, k // 2, k - 1})
    ref_curve = None
    if result.reference.index.size == result.rewards.shape[1]:
        ref_curve = (result.reference.values, f"reference: {result.reference.name}")
    fig = plot_alpha_sweep(np.array(result.alphas), per_metric, x=np.asarray(x), x_label=x_label,
                           rewards=result.rewards, shown_alphas=shown, reference=ref_curve,
                           connect=connect,
                           title=f"alpha sweep vs {result.reference.name}")
    png, svg = save_figure(fig, out, "alpha")
    pairs = zip(result.alphas, result.metrics, strict=True)
    rows = [[a, *(str(m[n]) for n in names)] for a, m in pairs]
    table = ReportTable(f"Metrics vs {result.reference.name} "
                        f"({len(result.reference)} frames; 95% bootstrap CI)",
                        ["alpha", *names], rows)
    settings = {**settings, "reference": result.reference.name,
                "best alpha (EPIC)": result.best("epic")}
    caption = ("Left: metrics against alpha with bootstrap bands. Right: rewards at a few alphas "
               f"against {x_label}, min-max normalised per curve.")
    return write_report(out, title="Alpha sweep", command=command, settings=settings,
                        tables=[table], figures=[ReportFigure(png, caption, svg)],
                        warnings=warnings, results=result.to_dict())
