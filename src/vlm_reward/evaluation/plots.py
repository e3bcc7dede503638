"""Figures of the evaluation analyses, drawn with matplotlib's Agg backend, saved as PNG and SVG.

Each ``plot_*`` function returns a matplotlib Figure; :func:`save_figure` writes both formats
and closes it. matplotlib is imported on first use so the CLI starts fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vlm_reward.atomic import atomic_open
from vlm_reward.evaluation.metrics import LOWER_IS_BETTER, MetricValue

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "METRIC_LABELS",
    "plot_alpha_sweep",
    "plot_model_comparison",
    "plot_prompt_comparison",
    "plot_reward_vs_reference",
    "plot_state_sweep",
    "save_figure",
]

METRIC_LABELS = {
    "epic": "EPIC distance (lower is better)",
    "pearson": "Pearson r",
    "spearman": "Spearman rho",
    "roc_auc": "ROC AUC",
}


def _figure(ncols: int = 1, width: float = 6.4, height: float = 4.0) -> tuple[Figure, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def save_figure(fig: Figure, out_dir: str | Path, name: str) -> tuple[Path, Path]:
    """Write ``name.png`` (150 dpi) and ``name.svg`` into ``out_dir``; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / f"{name}.png", out / f"{name}.svg")
    for path in paths:
        with atomic_open(path, "wb") as fh:
            fig.savefig(fh, dpi=150, format=path.suffix[1:])
    return paths


def _normalise(v: np.ndarray) -> np.ndarray:
    span = float(np.ptp(v))
    return (v - v.min()) / span if span > 0 else np.zeros_like(v)


def _angle_ticks(ax: Any, x: np.ndarray, variable: str) -> None:
    """Label a full-circle angle axis in multiples of pi."""
    if variable in ("theta", "angle") and x.size and x.min() < -3 and x.max() > 3:
        ax.set_xticks([-math.pi, -math.pi / 2, 0, math.pi / 2, math.pi],
                      ["-pi", "-pi/2", "0", "pi/2", "pi"])


def _shade_success(ax: Any, x: np.ndarray, success: np.ndarray | None) -> None:
    if success is None or not np.isfinite(success).any():
        return
    ok = np.nan_to_num(success, nan=0.0) > 0.5
    if not ok.any():
        return
    step = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    first = True
    for i in np.flatnonzero(ok):
        ax.axvspan(x[i] - step / 2, x[i] + step / 2, color="tab:green", alpha=0.12, lw=0,
                   label="success (env rule)" if first else None)
        first = False


def plot_state_sweep(
    x: np.ndarray,
    curves: Mapping[str, np.ndarray],
    *,
    variable: str,
    success: np.ndarray | None = None,
    normalise: bool = True,
    title: str = "",
) -> Figure:
    """Reward as a function of one state variable, one curve per setting (e.g. alpha)."""
    fig, (ax,) = _figure()
    _shade_success(ax, x, success)
    for label, y in curves.items():
        y = np.asarray(y, dtype=np.float64)
        ax.plot(x, _normalise(y) if normalise else y, marker="o", ms=2.5, lw=1.5, label=label)
    ax.set_xlabel(variable)
    ax.set_ylabel("reward (min-max normalised per curve)" if normalise else "reward")
    _angle_ticks(ax, x, variable)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title, fontsize="medium")
    return fig


def _band(ax: Any, x: np.ndarray, values: Sequence[MetricValue], label: str, color: str) -> None:
    y = np.array([v.value for v in values])
    lo = np.array([v.low for v in values])
    hi = np.array([v.high for v in values])
    ax.plot(x, y, marker="o", ms=3, color=color, label=label)
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        ax.fill_between(x, lo, hi, color=color, alpha=0.18, lw=0)


def plot_alpha_sweep(
    alphas: np.ndarray,
    metrics: Mapping[str, Sequence[MetricValue]],
    *,
    x: np.ndarray,
    x_label: str,
    rewards: np.ndarray,
    shown_alphas: Sequence[int],
    reference: tuple[np.ndarray, str] | None = None,
    connect: bool = True,
    title: str = "",
) -> Figure:
    """Left: metrics against alpha (bootstrap bands). Right: reward curves at some alphas.

    ``connect=False`` draws the right panel as a scatter, for x values that are not a sweep
    (e.g. a state variable of rollout frames, where neighbours in x are unrelated frames).
    """
    fig, (left, right) = _figure(ncols=2)
    colors = {"epic": "tab:red", "pearson": "tab:blue", "spearman": "tab:purple",
              "roc_auc": "tab:green"}
    for name, values in metrics.items():
        _band(left, alphas, values, METRIC_LABELS.get(name, name), colors.get(name, "k"))
    left.set_xlabel("alpha (goal-baseline regularisation)")
    left.set_ylabel("metric vs reference (95% bootstrap CI)")
    left.grid(alpha=0.3)
    left.legend(fontsize="small")
    left.set_title("metrics vs alpha", fontsize="medium")
    order = np.argsort(x, kind="stable")
    style: dict[str, Any] = {"lw": 1.2} if connect else {"ls": "none", "marker": ".", "ms": 4}
    for i in shown_alphas:
        right.plot(x[order], _normalise(rewards[i])[order], label=f"alpha={alphas[i]:g}",
                   **style)
    if reference is not None:
        ref_x, ref_label = reference
        ref_style: dict[str, Any] = ({"ls": "--", "lw": 1.0} if connect else
                                     {"ls": "none", "marker": "x", "ms": 3})
        right.plot(x[order], _normalise(np.asarray(ref_x, dtype=np.float64))[order],
                   color="k", label=ref_label, **ref_style)
    right.set_xlabel(x_label)
    _angle_ticks(right, np.asarray(x, dtype=np.float64), x_label)
    right.set_ylabel("reward (min-max normalised per curve)")
    right.grid(alpha=0.3)
    right.legend(fontsize="small")
    right.set_title("reward curves", fontsize="medium")
    fig.suptitle(title, fontsize="medium")
    return fig


def _errorbars(values: Sequence[MetricValue]) -> tuple[np.ndarray, np.ndarray | None]:
    y = np.array([v.value for v in values])
    lo = np.array([v.low for v in values])
    hi = np.array([v.high for v in values])
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return y, None
    return y, np.vstack([np.maximum(y - lo, 0), np.maximum(hi - y, 0)])


def plot_model_comparison(
    names: Sequence[str],
    params: Sequence[int | None],
    metrics: Mapping[str, Sequence[MetricValue]],
    *,
    title: str = "",
) -> Figure:
    """The scaling analysis: each metric against model size (log scale) or model name."""
    shown = [m for m in ("epic", "roc_auc", "spearman") if m in metrics][:2]
    fig, axes = _figure(ncols=len(shown))
    known = all(p is not None and p > 0 for p in params)
    x = np.array([float(p) for p in params]) if known else np.arange(len(names), dtype=float)
    for ax, name in zip(axes, shown, strict=False):
        y, err = _errorbars(metrics[name])
        color = "tab:red" if name == "epic" else "tab:blue"
        order = np.argsort(x, kind="stable")
        ax.plot(x[order], y[order], color=color, lw=0.8, alpha=0.5)
        ax.errorbar(x, y, yerr=err, fmt="o", capsize=3, color=color)
        if known:
            ax.set_xscale("log")
            ax.set_xlabel("model parameters")
            for xi, yi, label in zip(x, y, names, strict=True):
                ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(4, 4),
                            fontsize="x-small")
        else:
            ax.set_xticks(x, list(names), rotation=20, ha="right", fontsize="small")
            ax.set_xlabel("model")
        ax.set_ylabel(METRIC_LABELS.get(name, name) + " (95% CI)")
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize="medium")
    return fig


def plot_prompt_comparison(
    labels: Sequence[str],
    values: Sequence[MetricValue],
    *,
    metric: str,
    title: str = "",
) -> Figure:
    """Horizontal bars of one metric per prompt pair, best at the top."""
    fig, (ax,) = _figure(width=8.0, height=max(2.5, 0.45 * len(labels) + 1.2))
    y, err = _errorbars(values)
    pos = np.arange(len(labels))[::-1]
    ax.barh(pos, y, xerr=None if err is None else err, capsize=3,
            color="tab:red" if metric in LOWER_IS_BETTER else "tab:blue", alpha=0.8)
    wrapped = [lbl if len(lbl) <= 70 else lbl[:67] + "..." for lbl in labels]
    ax.set_yticks(pos, wrapped, fontsize="x-small")
    ax.set_xlabel(METRIC_LABELS.get(metric, metric) + " (95% CI)")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(title, fontsize="medium")
    return fig


def plot_reward_vs_reference(
    rewards: np.ndarray,
    reference: np.ndarray,
    *,
    binary: bool,
    reference_name: str,
    title: str = "",
) -> Figure:
    """Binary reference: reward histograms of success and failure states. Else a scatter."""
    fig, (ax,) = _figure()
    rewards = np.asarray(rewards, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if binary:
        bins = np.linspace(rewards.min(), rewards.max(), 31) if np.ptp(rewards) > 0 else 10
        for value, label, color in ((0.0, "failure", "tab:red"), (1.0, "success", "tab:green")):
            ax.hist(rewards[reference == value], bins=bins, alpha=0.55, color=color,
                    label=f"{label} ({int((reference == value).sum())})")
        ax.set_xlabel("reward")
        ax.set_ylabel("states")
        ax.legend(fontsize="small", title=reference_name)
    else:
        ax.scatter(reference, rewards, s=8, alpha=0.6)
        ax.set_xlabel(reference_name)
        ax.set_ylabel("reward")
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize="medium")
    return fig
