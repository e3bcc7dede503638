"""State sweeps: the reward as a function of one state variable (the paper's reward-shape plots).

For CartPole the pole angle sweeps ``[-pi, pi]``; for MountainCar the car position sweeps the
track. The env is put in each state with ``set_state`` (see
:mod:`vlm_reward.evaluation.envstate`), rendered, embedded once, and scored by any reward
family (``reward.kind``); a goal-baseline reward is scored for every alpha from the same
embeddings. Swept states are independent, so the temporal families (window, episode) score
each as a one-frame episode (:func:`~vlm_reward.evaluation.scoring.frame_rewards`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.cache import embed_frames
from vlm_reward.evaluation.collect import sweep_dataset
from vlm_reward.evaluation.dataset import StateDataset
from vlm_reward.evaluation.metrics import MetricValue, compute_metrics
from vlm_reward.evaluation.progress import progress_bar
from vlm_reward.evaluation.scoring import dataset_env, frame_rewards
from vlm_reward.factory import build_frame_reward
from vlm_reward.rendering_env import takes_render_size
from vlm_reward.reward import GoalBaselineReward
from vlm_reward.wrappers import model_input_size

if TYPE_CHECKING:
    from vlm_reward.config import RewardConfig
    from vlm_reward.models.base import Embedder

__all__ = ["StateSweepResult", "run_state_sweep", "write_state_sweep_report"]


@dataclass
class StateSweepResult:
    """Rewards over a one-variable sweep.

    Attributes:
        env_id: the environment.
        variable: the swept state variable.
        values: its values ``(n,)``.
        alphas: the alphas scored, one curve each (goal-baseline rewards); empty for the
            other kinds, which have one curve.
        rewards: raw rewards ``(len(curves), n)``.
        success: success flag per value by the env's rule (NaN where unknown).
        metrics: per curve, metrics of the reward against ``success`` (empty if undefined).
        model: model spec.
        goal, baseline: the prompts (``goal`` is empty when images or states give the goal).
        is_random: whether the model has random weights.
        dataset: folder of the rendered sweep frames.
        frame_size: (height, width) of those frames.
        kind: the reward family (``reward.kind``).
        curves: a label per row of ``rewards`` (``alpha=0.5``, or the kind).
    """

    env_id: str
    variable: str
    values: np.ndarray
    alphas: list[float]
    rewards: np.ndarray
    success: np.ndarray
    model: str
    goal: list[str]
    baseline: list[str] | None
    is_random: bool
    dataset: Path
    metrics: list[dict[str, MetricValue]] = field(default_factory=list)
    frame_size: tuple[int, int] | None = None
    kind: str = "goal_baseline"
    curves: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id, "variable": self.variable, "values": self.values,
            "kind": self.kind, "curves": self.curves,
            "alphas": self.alphas, "rewards": self.rewards, "success": self.success,
            "model": self.model, "goal": self.goal, "baseline": self.baseline,
            "is_random": self.is_random, "dataset": str(self.dataset),
            "frame_size": list(self.frame_size) if self.frame_size else None,
            "metrics_vs_success": [{k: v.to_dict() for k, v in m.items()} for m in self.metrics],
            "argmax": [float(self.values[int(np.argmax(r))]) for r in self.rewards],
        }


def _as_list(prompts: str | Sequence[str] | None) -> list[str] | None:
    if prompts is None:
        return None
    out = [prompts] if isinstance(prompts, str) else list(prompts)
    return out or None


def run_state_sweep(
    embedder: Embedder,
    out_dir: str | Path,
    env_id: str,
    variable: str,
    *,
    reward: RewardConfig,
    alphas: Sequence[float] | None = None,
    n: int = 61,
    low: float | None = None,
    high: float | None = None,
    fix: Mapping[str, float] | None = None,
    seed: int = 0,
    width: int | None = None,
    height: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    n_boot: int = 200,
    progress: bool = False,
) -> StateSweepResult:
    """Render a sweep into ``out_dir/dataset``, embed it once (cached) and score the reward.

    Args:
        reward: the ``reward:`` section (any kind; ``reward.model`` is not read, ``embedder``
            is the model). Goal states are rendered by the swept env at the sweep's size.
        alphas: goal-baseline strengths to draw one curve each for, overriding
            ``reward.alpha``; only for kind ``goal_baseline``. ``None``: one curve.

    Frames are drawn at ``width``/``height`` when given (also as ``env_kwargs``), else at the
    model's input size by envs that take a size (the ``vlm_reward/`` and MuJoCo envs): a frame
    drawn large and shrunk by the model is not the picture the model sees in training. Other
    envs keep their own size and the model resizes.

    The embedding cache lives in ``out_dir/cache``, outside the re-rendered dataset, so running
    the same sweep again with other prompts, rewards or alphas does not re-embed.
    """
    if alphas is not None:
        alphas = [float(a) for a in alphas]
        if not alphas:
            raise ConfigError("alpha: give at least one value")
        if reward.kind != "goal_baseline":
            raise ConfigError(
                f"--alpha: curves over alpha apply to kind goal_baseline, but the reward is "
                f"kind {reward.kind!r}; drop --alpha (the reward is swept as it is)"
            )
    goals = _as_list(reward.goal) or []
    baselines = _as_list(reward.baseline)
    out = Path(out_dir)
    explicit = width is not None or height is not None or {"width", "height"} & set(
        env_kwargs or {}
    )
    model_size = model_input_size(embedder)
    if not explicit and model_size is not None and takes_render_size(env_id):
        height, width = model_size
    ds: StateDataset = sweep_dataset(
        out / "dataset", env_id, variable, n=n, low=low, high=high, fix=fix, seed=seed,
        width=width, height=height, env_kwargs=env_kwargs,
        task=goals[0] if goals else None, overwrite=True, progress=progress,
    )
    family = build_frame_reward(reward, embedder, dataset_env(ds))  # goals before frames
    with progress_bar(f"embed {len(ds)} frames ({embedder.name})", len(ds), progress) as adv:
        emb = embed_frames(embedder, ds.frames, cache_dir=out / "cache", progress=adv)
    if isinstance(family, GoalBaselineReward):
        alphas = [family.alpha] if alphas is None else alphas
        rewards = np.stack([frame_rewards(family.with_alpha(a), emb) for a in alphas])
        curves = [f"alpha={a:g}" for a in alphas]
    else:
        alphas = []
        rewards = frame_rewards(family, emb)[None]
        curves = [reward.kind]
    result = StateSweepResult(
        env_id=env_id, variable=variable, values=ds.states[variable].copy(), alphas=alphas,
        rewards=rewards, success=ds.success.copy(), model=embedder.name, goal=goals,
        baseline=baselines, is_random=bool(embedder.is_random), dataset=ds.root,
        frame_size=(int(ds.frames.shape[1]), int(ds.frames.shape[2])), kind=reward.kind,
        curves=curves,
    )
    ok = ds.success[np.isfinite(ds.success)]
    if np.isfinite(ds.success).all() and ok.min() != ok.max():
        result.metrics = [compute_metrics(r, ds.success, binary=True, n_boot=n_boot, seed=seed)
                          for r in rewards]
    return result


def short_model_name(spec: str) -> str:
    """A model spec for plot titles: the folder or file name of local checkpoints."""
    path = Path(spec.removeprefix("local-dir:"))
    local = "/" in spec or "\\" in spec or spec.startswith("local-dir:")
    return path.name if local and path.exists() else spec


def random_model_warning(model: str) -> str:
    return (f"Model {model!r} has RANDOM weights: these rewards carry no meaning; the report "
            "only shows the pipeline and layout.")


def write_state_sweep_report(result: StateSweepResult, out_dir: str | Path, *,
                             command: str | None = None, normalise: bool = True) -> Path:
    """Plot (``sweep.png``/``.svg``) and HTML report for a state sweep."""
    from vlm_reward.evaluation.plots import plot_state_sweep, save_figure
    from vlm_reward.evaluation.report import ReportFigure, ReportTable, write_report

    out = Path(out_dir)
    labels = result.curves or [f"alpha={a:g}" for a in result.alphas]
    curves = dict(zip(labels, result.rewards, strict=True))
    title = f"{result.env_id}: reward vs {result.variable} ({short_model_name(result.model)})"
    fig = plot_state_sweep(result.values, curves, variable=result.variable,
                           success=result.success, normalise=normalise, title=title)
    png, svg = save_figure(fig, out, "sweep")
    rows = []
    for i, label in enumerate(labels):
        r = result.rewards[i]
        m = result.metrics[i] if result.metrics else {}
        rows.append([label, float(result.values[int(np.argmax(r))]), float(r.min()),
                     float(r.max()), str(m.get("roc_auc", "-")), str(m.get("epic", "-"))])
    table = ReportTable("Per curve", ["curve", f"argmax {result.variable}", "min reward",
                                      "max reward", "ROC AUC vs success", "EPIC vs success"],
                        rows)
    settings = {"env": result.env_id, "variable": result.variable,
                "range": f"[{result.values[0]:.4g}, {result.values[-1]:.4g}]",
                "points": len(result.values), "model": result.model,
                "reward kind": result.kind
                + (" (each state scored as a one-frame episode)"
                   if result.kind in ("window", "episode") else ""),
                "goal": " | ".join(result.goal) or "(goal images/states)",
                "baseline": " | ".join(result.baseline) if result.baseline else "(none)",
                "dataset": str(result.dataset)}
    if result.frame_size:
        settings["frames"] = f"{result.frame_size[1]}x{result.frame_size[0]} px"
    warnings = [random_model_warning(result.model)] if result.is_random else []
    caption = (f"Reward vs {result.variable}; shaded: states that count as success by the "
               "env's rule." + (" Curves are min-max normalised each." if normalise else ""))
    return write_report(out, title=f"State sweep: {title}", command=command,
                        settings=settings, tables=[table],
                        figures=[ReportFigure(png, caption, svg)], warnings=warnings,
                        results=result.to_dict())


__all__ += ["random_model_warning", "short_model_name"]
