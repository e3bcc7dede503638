"""Compare reward models on one dataset (the paper's scaling analysis) and prompts on one model.

Model comparison loads each model spec in turn, embeds the dataset (cached per model), scores
it with each reward given (any ``reward.kind``: one row per model and reward) and reports every
metric with its confidence interval against model size. Prompt comparison embeds the dataset
once and ranks goal/baseline pairs, each put into the same reward family. Frames are scored
as independent states (:func:`~vlm_reward.evaluation.scoring.frame_rewards`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.dataset import StateDataset
from vlm_reward.evaluation.metrics import LOWER_IS_BETTER, METRICS, MetricValue
from vlm_reward.evaluation.scoring import (
    Reference,
    dataset_env,
    embed_dataset,
    evaluate_rewards,
    frame_rewards,
)
from vlm_reward.factory import build_frame_reward

if TYPE_CHECKING:
    from vlm_reward.config import RewardConfig
    from vlm_reward.models.base import Embedder

__all__ = [
    "ModelRow",
    "PromptPair",
    "PromptRow",
    "compare_models",
    "compare_prompts",
    "count_parameters",
    "pair_reward",
    "parse_prompt_pair",
    "rank_rows",
    "write_models_report",
    "write_prompts_report",
]


def count_parameters(embedder: Embedder) -> int | None:
    """Number of parameters of the model behind an embedder, when it exposes a torch module."""
    model = getattr(embedder, "model", None)
    params = getattr(model, "parameters", None)
    if not callable(params):
        return None
    return int(sum(p.numel() for p in params()))


@dataclass
class ModelRow:
    """One model's result on the dataset with one reward (``reward``: its label)."""

    spec: str
    params: int | None
    embed_dim: int
    is_random: bool
    metrics: dict[str, MetricValue]
    seconds: float
    reward: str = "goal_baseline"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.spec, "reward": self.reward, "params": self.params,
                "embed_dim": self.embed_dim,
                "is_random": self.is_random, "seconds": self.seconds,
                "metrics": {k: v.to_dict() for k, v in self.metrics.items()}}


def _check_rank_metric(metric: str, rows: Sequence[Any]) -> None:
    if metric not in METRICS:
        raise ConfigError(f"rank-by: unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    if rows and metric not in rows[0].metrics:
        raise ConfigError(
            f"rank-by: {metric} is not available for this reference (ROC AUC needs binary "
            "labels); choose epic, pearson or spearman"
        )


def rank_rows(rows: Sequence[Any], metric: str = "epic") -> list[Any]:
    """Rows sorted best first by ``metric`` (ascending for EPIC, descending otherwise)."""
    _check_rank_metric(metric, rows)
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    return sorted(rows, key=lambda r: sign * r.metrics[metric].value)


def compare_models(
    specs: Sequence[str],
    ds: StateDataset,
    ref: Reference,
    rewards: RewardConfig | Sequence[RewardConfig],
    *,
    labels: Sequence[str] | None = None,
    load: Callable[[str], Embedder] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    cache: bool = True,
    progress: bool = False,
) -> list[ModelRow]:
    """Score ``ds`` with every model spec and every reward; rows model by model, rewards in
    the order given within each model.

    Args:
        specs: model specs for :func:`vlm_reward.load_model`.
        ds: the dataset.
        ref: the reference to compare against.
        rewards: one or more ``reward:`` sections (any kind); their ``model`` is replaced by
            each spec. Goal states are rendered in the dataset's env at its frame size.
        labels: a name per reward for the table (default: its kind).
        load: spec -> embedder (default ``load_model(spec)``); lets callers pick device etc.
        n_boot: bootstrap resamples.
        seed: bootstrap seed.
        cache: use the dataset's embedding cache.
        progress: progress bars.
    """
    if not specs:
        raise ConfigError("model: give at least one --model")
    if len(set(specs)) != len(specs):
        raise ConfigError("model: each --model may appear once")
    configs = [rewards] if not isinstance(rewards, Sequence) else list(rewards)
    if not configs:
        raise ConfigError("reward: give at least one reward")
    names = [c.kind for c in configs] if labels is None else list(labels)
    if len(names) != len(configs):
        raise ConfigError(f"labels: expected {len(configs)} reward labels, got {len(names)}")
    if load is None:
        from vlm_reward.models import load_model

        load = load_model
    env = dataset_env(ds)
    rows = []
    for spec in specs:
        start = time.perf_counter()
        with load(spec) as embedder:  # closed before the next model loads
            emb = embed_dataset(embedder, ds, cache=cache, progress=progress)
            scored = [frame_rewards(build_frame_reward(c, embedder, env), emb) for c in configs]
        seconds = (time.perf_counter() - start) / len(configs)
        for name, values in zip(names, scored, strict=True):
            metrics = evaluate_rewards(values, ref, n_boot=n_boot, seed=seed)
            rows.append(ModelRow(spec, count_parameters(embedder), int(embedder.embed_dim),
                                 bool(embedder.is_random), metrics, seconds, name))
        del embedder
    return rows


@dataclass(frozen=True)
class PromptPair:
    """A goal prompt and an optional baseline prompt."""

    goal: str
    baseline: str | None = None

    @property
    def label(self) -> str:
        return self.goal if self.baseline is None else f"{self.goal} | {self.baseline}"


def parse_prompt_pair(text: str) -> PromptPair:
    """Parse ``"goal sentence | baseline sentence"`` (the baseline part is optional)."""
    goal, sep, baseline = text.partition("|")
    goal, baseline = goal.strip(), baseline.strip()
    if not goal:
        raise ConfigError(f"pair: expected 'GOAL | BASELINE' with a non-empty goal, got {text!r}")
    if sep and not baseline:
        raise ConfigError(f"pair: the baseline after '|' is empty in {text!r}; drop the '|'")
    return PromptPair(goal, baseline or None)


@dataclass
class PromptRow:
    """One prompt pair's result."""

    pair: PromptPair
    metrics: dict[str, MetricValue]

    def to_dict(self) -> dict[str, Any]:
        return {"goal": self.pair.goal, "baseline": self.pair.baseline,
                "metrics": {k: v.to_dict() for k, v in self.metrics.items()}}


def pair_reward(base: RewardConfig | dict[str, Any], pair: PromptPair) -> RewardConfig:
    """``base`` (a reward or its mapping) with the pair's goal and baseline in place of its
    own, validated again: a baseline where the family takes none, or alpha > 0 without one,
    fails here with the pair named."""
    from vlm_reward.config import validate_reward_config

    data = base if isinstance(base, dict) else base.model_dump(exclude_defaults=True)
    data = {**data, "goal": pair.goal, "baseline": pair.baseline}
    cfg = validate_reward_config(data, f"for --pair {pair.label!r}:")
    if cfg.negatives and pair.baseline is not None:
        raise ConfigError(
            f"pair {pair.label!r}: a reward with negatives scores the goal against them and "
            "reads no baseline; drop the '| BASELINE' part"
        )
    return cfg


def compare_prompts(
    embedder: Embedder,
    ds: StateDataset,
    ref: Reference,
    pairs: Sequence[PromptPair],
    *,
    reward: RewardConfig | None = None,
    alpha: float = 0.0,
    rank_by: str = "epic",
    n_boot: int = 1000,
    seed: int = 0,
    cache: bool = True,
    progress: bool = False,
) -> list[PromptRow]:
    """Score every prompt pair on one embedding pass of ``ds``; best first by ``rank_by``.

    ``reward`` is the family the pairs are put into (any kind; each pair replaces its goal
    and baseline sentences, goal images stay); ``None`` is the goal-baseline reward at
    ``alpha``, which is then the only setting read.
    """
    if not pairs:
        raise ConfigError("pair: give at least one --pair 'GOAL | BASELINE'")
    _check_rank_metric(rank_by, [])  # an unknown name fails before the embedding pass
    if reward is None and alpha > 0:
        missing = [p.goal for p in pairs if p.baseline is None]
        if missing:
            raise ConfigError(
                f"alpha: {alpha} > 0 needs a baseline in every pair; missing for "
                f"{missing[0]!r}"
            )
    base = {"model": embedder.name, "alpha": alpha} if reward is None else reward
    configs = [pair_reward(base, p) for p in pairs]  # every pair checked before embedding
    env = dataset_env(ds)
    emb = embed_dataset(embedder, ds, cache=cache, progress=progress)
    rows = []
    for pair, cfg in zip(pairs, configs, strict=True):
        values = frame_rewards(build_frame_reward(cfg, embedder, env), emb)
        rows.append(PromptRow(pair, evaluate_rewards(values, ref, n_boot=n_boot, seed=seed)))
    return rank_rows(rows, rank_by)


def _metric_cells(metrics: dict[str, MetricValue], names: Sequence[str]) -> list[str]:
    return [str(metrics[n]) if n in metrics else "-" for n in names]


def write_models_report(rows: Sequence[ModelRow], out_dir: str | Path, *,
                        settings: dict[str, Any], reference: Reference,
                        command: str | None = None) -> Path:
    """Table, plot (``models.png``/``.svg``) and HTML report of a model comparison."""
    from vlm_reward.evaluation.plots import plot_model_comparison, save_figure
    from vlm_reward.evaluation.report import ReportFigure, ReportTable, write_report
    from vlm_reward.evaluation.sweeps import random_model_warning, short_model_name

    out = Path(out_dir)
    names = list(rows[0].metrics)
    several = len({r.reward for r in rows}) > 1
    fig = plot_model_comparison([short_model_name(r.spec) + (f" [{r.reward}]" if several else "")
                                 for r in rows],
                                [r.params for r in rows],
                                {n: [r.metrics[n] for r in rows] for n in names},
                                title=f"models vs {reference.name} ({len(reference)} frames)")
    png, svg = save_figure(fig, out, "models")
    table = ReportTable(
        f"Metrics vs {reference.name} (95% bootstrap CI)",
        ["model", "reward", "parameters", "embed dim", *names, "seconds"],
        [[r.spec, r.reward, "-" if r.params is None else f"{r.params:,}", r.embed_dim,
          *_metric_cells(r.metrics, names), round(r.seconds, 2)] for r in rows],
    )
    warnings = [random_model_warning(r.spec) for r in rows if r.is_random]
    caption = ("Each metric against model size (log scale) with 95% bootstrap intervals: "
               "the scaling analysis of VLM-RM for the models given.")
    return write_report(out, title="Model comparison", command=command, settings=settings,
                        tables=[table], figures=[ReportFigure(png, caption, svg)],
                        warnings=warnings,
                        results={"reference": reference.name,
                                 "models": [r.to_dict() for r in rows]})


def write_prompts_report(rows: Sequence[PromptRow], out_dir: str | Path, *,
                         settings: dict[str, Any], reference: Reference, rank_by: str,
                         is_random: bool = False, command: str | None = None) -> Path:
    """Ranked table, plot (``prompts.png``/``.svg``) and HTML report of a prompt comparison."""
    from vlm_reward.evaluation.plots import plot_prompt_comparison, save_figure
    from vlm_reward.evaluation.report import ReportFigure, ReportTable, write_report
    from vlm_reward.evaluation.sweeps import random_model_warning

    out = Path(out_dir)
    names = list(rows[0].metrics)
    fig = plot_prompt_comparison([r.pair.label for r in rows],
                                 [r.metrics[rank_by] for r in rows], metric=rank_by,
                                 title=f"prompts ranked by {rank_by} vs {reference.name}")
    png, svg = save_figure(fig, out, "prompts")
    table = ReportTable(
        f"Prompt pairs ranked by {rank_by} (best first; 95% bootstrap CI)",
        ["rank", "goal", "baseline", *names],
        [[i + 1, r.pair.goal, r.pair.baseline or "-", *_metric_cells(r.metrics, names)]
         for i, r in enumerate(rows)],
    )
    warnings = [random_model_warning(str(settings.get("model")))] if is_random else []
    caption = f"{rank_by} of each prompt pair (goal | baseline), best at the top."
    return write_report(out, title="Prompt comparison", command=command, settings=settings,
                        tables=[table], figures=[ReportFigure(png, caption, svg)],
                        warnings=warnings,
                        results={"reference": reference.name, "rank_by": rank_by,
                                 "prompts": [r.to_dict() for r in rows]})

