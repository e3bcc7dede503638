"""``vlm-reward eval ...``: measure a VLM reward before training on it.

Subcommands: ``collect`` (dataset from policies or a state sweep), ``sweep`` (reward vs one
state variable), ``alpha`` (alpha sweep), ``models`` (model comparison), ``prompts`` (prompt
comparison), ``metrics`` (one reward vs a reference), ``import-labels`` and ``info``.
Analyses write PNG/SVG plots, ``report.html`` and ``results.json``; ``--json`` prints the
results on stdout instead of tables.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vlm_reward.cli import app
from vlm_reward.cli.options import check_frame_size, learned_reward, options, reward_config
from vlm_reward.errors import ConfigError
from vlm_reward.paths import check_output_path
from vlm_reward.reward.rules import check_alpha

__all__ = ["eval_app"]

eval_app = typer.Typer(
    help="Measure a VLM reward before training on it: datasets, metrics, sweeps, comparisons.",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")
console = Console()

_MODEL = typer.Option(..., "--model", "-m",
                      help="Model spec, e.g. demo, ViT-B-32/laion2b_s34b_b79k or a folder.")
_GOAL = typer.Option(None, "--goal", "-g",
                     help="Goal prompt; repeat to average several (or --reward FILE).")
_BASELINE = typer.Option(None, "--baseline", "-b",
                         help="Baseline prompt (needed for alpha > 0); repeat to average.")
_REWARD = typer.Option(
    None, "--reward", help="YAML reward section (any reward.kind, docs/rewards.md) instead of "
    "--goal/--baseline/--alpha; frames are scored as independent states (temporal kinds: "
    "one-frame episodes).")
_REFERENCE = typer.Option("auto", "--reference", "-r",
                          help="What to compare against: auto, env_reward, success, human, "
                               "state:NAME.")


def _check_n_boot(value: int) -> int:
    """Refuse a negative --n-boot while parsing, before any model is loaded."""
    from vlm_reward.evaluation.metrics import check_n_boot

    return check_n_boot(value)


_NBOOT = typer.Option(1000, "--n-boot", callback=_check_n_boot,
                      help="Bootstrap resamples for the 95% confidence intervals; 0 = no "
                           "intervals (shown as n/a).")
_SEED = typer.Option(0, "--seed", help="Seed (bootstrap resampling, env resets).")
_BATCH = typer.Option(64, "--batch-size", help="Frames per model forward pass.")
_JSON = typer.Option(False, "--json", help="Print results as JSON on stdout.")
_NOCACHE = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache.")
_PROGRESS = typer.Option(True, "--progress/--no-progress", help="Progress bars on stderr.")


def _load(spec: str, batch_size: int, ctx: typer.Context | None = None) -> Any:
    """Load ``spec`` with the global options; with the command's ``ctx``, the model is closed
    when the command ends, however it ends (without one the caller closes it)."""
    from vlm_reward.models import load_model

    embedder = load_model(spec, device=options.device, precision=options.precision,
                          batch_size=batch_size, offline=options.offline)
    if ctx is not None:
        ctx.call_on_close(embedder.close)
    return embedder


def _print_json(data: Any) -> None:
    from vlm_reward.evaluation.report import _clean

    typer.echo(json.dumps(_clean(data), indent=2))


def _env_kwargs(items: list[str] | None) -> dict[str, Any]:
    from vlm_reward.overrides import parse_overrides

    return parse_overrides(items, "--env-kwarg", "textured=false")


def _fix(items: list[str] | None) -> dict[str, Any]:
    from vlm_reward.overrides import parse_overrides

    return parse_overrides(items, "--fix", "x=0")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "env"


def _metrics_table(title: str, rows: list[list[str]], header: list[str]) -> Table:
    table = Table(title=escape(title))
    for h in header:
        table.add_column(escape(h))
    for row in rows:
        table.add_row(*[escape(str(c)) for c in row])
    return table


def _default_variable(env_id: str, env_kwargs: dict[str, Any]) -> str:
    from vlm_reward.evaluation.envstate import state_names
    from vlm_reward.rendering_env import make_rendering_env

    env = make_rendering_env(env_id, None, **env_kwargs)
    try:
        env.reset()
        names = state_names(env)
    finally:
        env.close()
    for candidate in ("theta", "position"):
        if candidate in names:
            return candidate
    raise ConfigError(f"--variable: choose the state variable to sweep: {', '.join(names)}")


def _report_done(path: Path) -> None:
    console.print(escape(f"report: {path}"), highlight=False, soft_wrap=True)


@eval_app.command()
def collect(
    out: Path = typer.Argument(..., help="Dataset folder to create."),
    env: str = typer.Option(..., "--env", "-e", help="Gymnasium id, e.g. CartPole-v1 or "
                            "vlm_reward/CartPole-v0."),
    policy: list[str] = typer.Option(["random"], "--policy", "-p",
                                     help="random, scripted or an SB3 .zip; repeat to mix "
                                          "(episodes alternate)."),
    episodes: int = typer.Option(4, help="Episodes to roll out."),
    max_steps: int = typer.Option(200, help="Steps per episode at most."),
    sweep: str | None = typer.Option(None, help="Instead of rollouts, sweep this state variable."),
    n: int = typer.Option(61, help="Sweep points."),
    low: float | None = typer.Option(None, help="Sweep start (default: the natural range)."),
    high: float | None = typer.Option(None, help="Sweep end."),
    fix: list[str] | None = typer.Option(None, help="Sweep base state override NAME=VALUE."),
    width: int | None = typer.Option(None, help="Frame width in pixels."),
    height: int | None = typer.Option(None, help="Frame height in pixels."),
    env_kwarg: list[str] | None = typer.Option(None, help="gym.make keyword KEY=VALUE, value read "
                                         "as YAML (textured=false, episode_length=50)."),
    task: str | None = typer.Option(None, help="Task sentence stored with the dataset."),
    seed: int = _SEED,
    overwrite: bool = typer.Option(False, help="Replace an existing dataset."),
    progress: bool = _PROGRESS,
    as_json: bool = _JSON,
) -> None:
    """Collect a dataset of states (frames + state + env reward + success) from an env."""
    from vlm_reward.evaluation.collect import collect_dataset, sweep_dataset

    check_output_path(out, "OUT", "dir")
    check_frame_size(width, height)
    kwargs = _env_kwargs(env_kwarg)
    if sweep is not None:
        ds = sweep_dataset(out, env, sweep, n=n, low=low, high=high,
                           fix=_fix(fix), seed=seed, width=width, height=height,
                           env_kwargs=kwargs, task=task, overwrite=overwrite,
                           progress=progress and not as_json)
    else:
        ds = collect_dataset(out, env, policies=policy, episodes=episodes, max_steps=max_steps,
                             seed=seed, width=width, height=height, env_kwargs=kwargs,
                             task=task, overwrite=overwrite, progress=progress and not as_json)
    _show_info(ds, as_json)


def _summary(ds: Any) -> dict[str, Any]:
    import numpy as np

    ok = ds.success[np.isfinite(ds.success)]
    rew = ds.env_reward[np.isfinite(ds.env_reward)]
    info: dict[str, Any] = {
        "path": str(ds.root), "env_id": ds.env_id, "policy": ds.meta.get("policy"),
        "task": ds.meta.get("task"), "n_frames": len(ds),
        "frame_shape": list(ds.frames.shape[1:]),
        "episodes": int(np.unique(ds.episode).size),
        "state_names": list(ds.state_names),
        "success_rate": float(ok.mean()) if ok.size else None,
        "n_success_flags": int(ok.size),
        "env_reward_mean": float(rew.mean()) if rew.size else None,
        "human_labels": None,
    }
    if ds.has_human_labels():
        labels = ds.human_labels()
        info["human_labels"] = {"labelled_frames": int(labels.index.size),
                                "success": int(labels.label.sum()), "rows": labels.n_raw,
                                "raters": list(labels.raters)}
    return info


def _show_info(ds: Any, as_json: bool) -> None:
    info = _summary(ds)
    if as_json:
        _print_json(info)
        return
    table = Table(title=escape(f"dataset {ds.root}"), show_header=False)
    for key, value in info.items():
        table.add_row(key, escape(json.dumps(value) if isinstance(value, (list, dict))
                                  else str(value)))
    console.print(table)


@eval_app.command()
def info(dataset: Path = typer.Argument(..., help="Dataset folder."),
         as_json: bool = _JSON) -> None:
    """Summarise a dataset: size, env, policies, success rate, labels."""
    from vlm_reward.evaluation.dataset import load_dataset

    _show_info(load_dataset(dataset), as_json)


@eval_app.command("import-labels")
def import_labels_cmd(
    dataset: Path = typer.Argument(..., help="Dataset folder."),
    labels: Path = typer.Argument(..., help="CSV with header index,rater,label,timestamp."),
    append: bool = typer.Option(False, help="Merge with previously imported labels (a "
                                "rater's latest answer per frame is kept)."),
    as_json: bool = _JSON,
) -> None:
    """Import human labels (export of the labelling app) into a dataset."""
    from vlm_reward.evaluation.dataset import import_labels, load_dataset

    check_output_path(dataset, "DATASET", "dir")  # the labels are stored in the dataset
    ds = load_dataset(dataset)
    agg = import_labels(ds, labels, append=append)
    data = {"dataset": str(ds.root), "rows": agg.n_raw, "labelled_frames": int(agg.index.size),
            "success": int(agg.label.sum()), "failure": int((agg.label == 0).sum()),
            "raters": list(agg.raters), "stored": str(ds.labels_path)}
    if as_json:
        _print_json(data)
    else:
        console.print(escape(f"imported {agg.n_raw} answer(s), the latest per rater and frame, "
                             f"from {len(agg.raters)} rater(s): "
                             f"{agg.index.size} frames decided ({int(agg.label.sum())} success) "
                             f"-> {ds.labels_path}"), highlight=False, soft_wrap=True)


@eval_app.command("sweep")
def sweep_cmd(
    ctx: typer.Context,
    env: str = typer.Option(..., "--env", "-e", help="Gymnasium id."),
    model: str = _MODEL,
    goal: list[str] | None = _GOAL,
    baseline: list[str] | None = _BASELINE,
    alpha: list[float] | None = typer.Option(
        None, "--alpha", "-a", help="Goal-baseline strength; repeat for curves (kind "
        "goal_baseline; with --reward it overrides the file's alpha)."),
    reward_file: Path | None = _REWARD,
    variable: str | None = typer.Option(None, help="State variable (default theta or position)."),
    n: int = typer.Option(61, help="Sweep points."),
    low: float | None = typer.Option(None, help="Sweep start (default: the natural range)."),
    high: float | None = typer.Option(None, help="Sweep end."),
    fix: list[str] | None = typer.Option(None, help="Base state override NAME=VALUE."),
    width: int | None = typer.Option(None, help="Frame width in pixels (default: the model's "
                                     "input size, for envs that take a size)."),
    height: int | None = typer.Option(None, help="Frame height in pixels (likewise)."),
    env_kwarg: list[str] | None = typer.Option(None, help="gym.make keyword KEY=VALUE, value read "
                                         "as YAML (textured=false, episode_length=50)."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Output folder (default sweeps/ENV-VARIABLE)."),
    raw: bool = typer.Option(False, help="Plot raw rewards instead of normalised curves."),
    n_boot: int = typer.Option(200, "--n-boot", callback=_check_n_boot,
                               help="Bootstrap resamples for the confidence intervals; 0 = no "
                                    "intervals."),
    seed: int = _SEED,
    batch_size: int = _BATCH,
    progress: bool = _PROGRESS,
    as_json: bool = _JSON,
) -> None:
    """Reward as a function of one state variable (the paper's reward-shape plots)."""
    from vlm_reward.evaluation.sweeps import run_state_sweep, write_state_sweep_report

    cfg = reward_config(model, goal, baseline, 0.0, reward_file)  # alphas come separately
    if alpha and reward_file is None:
        check_alpha(max(alpha), bool(baseline), "--baseline", "--alpha")  # the reward's rule
    check_frame_size(width, height)
    kwargs = _env_kwargs(env_kwarg)
    fixed = _fix(fix)
    variable = variable or _default_variable(env, kwargs)
    out = out or Path("sweeps") / f"{_slug(env)}-{variable}"
    check_output_path(out, "--out", "dir")
    embedder = _load(cfg.model, batch_size, ctx)
    result = run_state_sweep(embedder, out, env, variable, reward=cfg,
                             alphas=alpha or None, n=n, low=low, high=high, fix=fixed,
                             seed=seed, width=width, height=height, env_kwargs=kwargs,
                             n_boot=n_boot, progress=progress and not as_json)
    path = write_state_sweep_report(result, out, normalise=not raw)
    if as_json:
        _print_json(result.to_dict() | {"report": str(path)})
        return
    rows = [[c, f"{result.values[int(r.argmax())]:.4g}", f"{r.min():.4f}",
             f"{r.max():.4f}"] for c, r in zip(result.curves, result.rewards, strict=True)]
    console.print(_metrics_table(f"{env}: {cfg.kind} reward vs {variable}", rows,
                                 ["curve", f"argmax {variable}", "min", "max"]))
    _report_done(path)


def _prompts(value: str | list[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _settings(ds: Any, model: str, cfg: Any, alpha: bool = True,
              along_episodes: bool = False) -> dict[str, Any]:
    """Report settings: the dataset and the reward (``cfg``, a RewardConfig or None)."""
    out: dict[str, Any] = {"dataset": str(ds.root), "env": ds.env_id, "frames": len(ds),
                           "model": model}
    if cfg is None:
        return out
    goal, baseline = _prompts(cfg.goal), _prompts(cfg.baseline)
    rule = "scored along the episodes of the dataset" if along_episodes else (
        "each frame scored as a one-frame episode")
    kind = cfg.kind + (f" ({rule})" if cfg.kind in ("window", "episode") else "")
    out |= {"reward kind": kind, "goal": " | ".join(goal) or "(goal images/states)",
            "baseline": " | ".join(baseline) or "(none)"}
    if cfg.goal_images or cfg.goal_states:
        out["goal images/states"] = len(cfg.goal_images or []) + len(cfg.goal_states or [])
    if cfg.negatives:
        out["negatives"] = " | ".join(cfg.negatives)
    if alpha and cfg.kind == "goal_baseline":
        out["alpha"] = cfg.alpha
    return out


@eval_app.command("alpha")
def alpha_cmd(
    ctx: typer.Context,
    dataset: Path = typer.Argument(..., help="Dataset folder."),
    model: str = _MODEL,
    goal: list[str] | None = _GOAL,
    baseline: list[str] | None = _BASELINE,
    reward_file: Path | None = typer.Option(
        None, "--reward", help="YAML reward section of kind goal_baseline (e.g. goal images "
        "with a baseline sentence) instead of --goal/--baseline; its alpha is swept."),
    alphas: str | None = typer.Option(None, help="Comma-separated alphas, e.g. 0,0.25,0.5,1."),
    steps: int = typer.Option(11, help="Evenly spaced alphas over [0, 1] (if --alphas unset)."),
    reference: str = _REFERENCE,
    x: str | None = typer.Option(None, help="State variable for the reward-curve axis "
                                 "(default: the sweep variable, else frame index)."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Output folder (default DATASET/reports/alpha)."),
    n_boot: int = _NBOOT,
    seed: int = _SEED,
    batch_size: int = _BATCH,
    no_cache: bool = _NOCACHE,
    progress: bool = _PROGRESS,
    as_json: bool = _JSON,
) -> None:
    """Metrics and reward curves over alpha, from one embedding pass of the dataset."""
    import numpy as np

    from vlm_reward.evaluation.alpha import alpha_sweep, parse_alphas, write_alpha_report
    from vlm_reward.evaluation.dataset import load_dataset
    from vlm_reward.evaluation.scoring import dataset_env, embed_dataset, resolve_reference
    from vlm_reward.evaluation.sweeps import random_model_warning
    from vlm_reward.factory import build_frame_reward

    values = parse_alphas(alphas, steps)
    cfg = reward_config(model, goal, baseline, 0.0, reward_file)
    if cfg.kind != "goal_baseline":
        raise ConfigError(
            f"eval alpha: alpha is the goal-baseline reward's parameter, but --reward "
            f"{reward_file} has kind {cfg.kind!r}; score it with eval metrics, or sweep states "
            "with eval sweep --reward"
        )
    check_alpha(max(values), cfg.baseline is not None,  # the reward's rule, the user's names
                "--baseline" if reward_file is None else "reward.baseline", "--alpha")
    ds = load_dataset(dataset)
    out = out or ds.root / "reports" / "alpha"
    check_output_path(out, "--out", "dir")  # before any embedding
    ref = resolve_reference(ds, reference)
    sweep_var = ds.meta.get("sweep", {}).get("variable")
    x_name = x or sweep_var
    if x_name is not None and x_name not in ds.states:
        raise ConfigError(f"--x: no state variable {x_name!r}; choose from "
                          f"{', '.join(ds.state_names)}")
    x_values = ds.states[x_name] if x_name else np.arange(len(ds), dtype=np.float64)
    embedder = _load(cfg.model, batch_size, ctx)
    reward = build_frame_reward(cfg, embedder, dataset_env(ds))  # a GoalBaselineReward
    emb = embed_dataset(embedder, ds, cache=not no_cache, progress=progress and not as_json)
    result = alpha_sweep(emb, reward, values, ref, n_boot=n_boot, seed=seed)
    warnings = [random_model_warning(cfg.model)] if embedder.is_random else []
    path = write_alpha_report(result, out, x=x_values, x_label=x_name or "frame index",
                              settings=_settings(ds, cfg.model, cfg, alpha=False),
                              warnings=warnings, connect=x_name in (None, sweep_var))
    if as_json:
        _print_json(result.to_dict() | {"report": str(path)})
        return
    names = list(result.metrics[0])
    rows = [[f"{a:g}", *(str(m[k]) for k in names)]
            for a, m in zip(result.alphas, result.metrics, strict=True)]
    console.print(_metrics_table(f"alpha sweep vs {ref.name} ({len(ref)} frames)", rows,
                                 ["alpha", *names]))
    console.print(f"best alpha by EPIC: {result.best('epic'):g}")
    _report_done(path)


@eval_app.command("models")
def models_cmd(
    dataset: Path = typer.Argument(..., help="Dataset folder."),
    model: list[str] = typer.Option(..., "--model", "-m", help="Model spec; repeat for each."),
    goal: list[str] | None = _GOAL,
    baseline: list[str] | None = _BASELINE,
    alpha: float = typer.Option(0.0, "--alpha", "-a", help="Goal-baseline strength."),
    reward_file: list[Path] | None = typer.Option(
        None, "--reward", help="YAML reward section (any reward.kind) instead of "
        "--goal/--baseline/--alpha; repeat to compare reward families on every model (the "
        "file's model is replaced by each --model)."),
    reference: str = _REFERENCE,
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Output folder (default DATASET/reports/models)."),
    n_boot: int = _NBOOT,
    seed: int = _SEED,
    batch_size: int = _BATCH,
    no_cache: bool = _NOCACHE,
    progress: bool = _PROGRESS,
    as_json: bool = _JSON,
) -> None:
    """Score one dataset with several models (and rewards): table + plot against model size."""
    from vlm_reward.evaluation.compare import compare_models, write_models_report
    from vlm_reward.evaluation.dataset import load_dataset
    from vlm_reward.evaluation.scoring import resolve_reference

    files = list(reward_file or [])
    if len(set(files)) != len(files):
        raise ConfigError("--reward: each file may appear once")
    configs = [reward_config(model[0], goal, baseline, alpha, f) for f in files] or [
        reward_config(model[0], goal, baseline, alpha, None)]
    labels = ([f"{f.name} ({c.kind})" for f, c in zip(files, configs, strict=True)]
              if files else None)
    ds = load_dataset(dataset)
    out = out or ds.root / "reports" / "models"
    check_output_path(out, "--out", "dir")  # before any embedding
    ref = resolve_reference(ds, reference)
    rows = compare_models(model, ds, ref, configs, labels=labels,
                          load=lambda spec: _load(spec, batch_size), n_boot=n_boot, seed=seed,
                          cache=not no_cache, progress=progress and not as_json)
    settings = _settings(ds, ", ".join(model), configs[0] if len(configs) == 1 else None)
    if len(configs) > 1:
        settings["rewards"] = ", ".join(labels or [])
    settings["reference"] = ref.name
    path = write_models_report(rows, out, settings=settings, reference=ref)
    if as_json:
        _print_json({"reference": ref.name, "models": [r.to_dict() for r in rows],
                     "report": str(path)})
        return
    names = list(rows[0].metrics)
    table_rows = [[r.spec, r.reward, "-" if r.params is None else f"{r.params:,}",
                   *(str(r.metrics[k]) for k in names)] for r in rows]
    console.print(_metrics_table(f"models vs {ref.name} ({len(ref)} frames)", table_rows,
                                 ["model", "reward", "params", *names]))
    _report_done(path)


def _read_pairs_file(path: Path) -> list[str]:
    if not path.is_file():
        raise ConfigError(f"--pairs-file: {path} does not exist")
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


@eval_app.command("prompts")
def prompts_cmd(
    ctx: typer.Context,
    dataset: Path = typer.Argument(..., help="Dataset folder."),
    model: str = _MODEL,
    pair: list[str] | None = typer.Option(None, "--pair",
                                          help="'GOAL | BASELINE' (baseline optional); repeat."),
    pairs_file: Path | None = typer.Option(None, help="Text file, one 'GOAL | BASELINE' a line."),
    alpha: float = typer.Option(0.0, "--alpha", "-a", help="Goal-baseline strength."),
    reward_file: Path | None = typer.Option(
        None, "--reward", help="YAML reward section (any reward.kind) to put every pair into: "
        "each pair replaces its goal and baseline sentences (goal images, negatives, window "
        "stay)."),
    reference: str = _REFERENCE,
    rank_by: str = typer.Option("epic", help="Metric to rank by: epic, pearson, spearman, "
                                "roc_auc."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Output folder (default DATASET/reports/prompts)."),
    n_boot: int = _NBOOT,
    seed: int = _SEED,
    batch_size: int = _BATCH,
    no_cache: bool = _NOCACHE,
    progress: bool = _PROGRESS,
    as_json: bool = _JSON,
) -> None:
    """Rank goal/baseline prompt pairs on one dataset (embedded once)."""
    from vlm_reward.evaluation.compare import (
        compare_prompts,
        parse_prompt_pair,
        write_prompts_report,
    )
    from vlm_reward.evaluation.dataset import load_dataset
    from vlm_reward.evaluation.scoring import resolve_reference

    texts = list(pair or []) + (_read_pairs_file(pairs_file) if pairs_file else [])
    if not texts:
        raise ConfigError("--pair: give at least one 'GOAL | BASELINE' pair (or --pairs-file)")
    pairs = [parse_prompt_pair(t) for t in texts]
    base = reward_config(model, None, None, alpha, reward_file) if reward_file else None
    ds = load_dataset(dataset)
    out = out or ds.root / "reports" / "prompts"
    check_output_path(out, "--out", "dir")  # before any embedding
    ref = resolve_reference(ds, reference)
    embedder = _load(model, batch_size, ctx)
    rows = compare_prompts(embedder, ds, ref, pairs, reward=base, alpha=alpha, rank_by=rank_by,
                           n_boot=n_boot, seed=seed, cache=not no_cache,
                           progress=progress and not as_json)
    settings = {"dataset": str(ds.root), "env": ds.env_id, "frames": len(ds), "model": model,
                "reward kind": base.kind if base else "goal_baseline",
                "alpha": base.alpha if base else alpha, "reference": ref.name,
                "rank by": rank_by}
    path = write_prompts_report(rows, out, settings=settings, reference=ref, rank_by=rank_by,
                                is_random=bool(embedder.is_random))
    if as_json:
        _print_json({"reference": ref.name, "rank_by": rank_by,
                     "prompts": [r.to_dict() for r in rows], "report": str(path)})
        return
    names = list(rows[0].metrics)
    table_rows = [[str(i + 1), r.pair.label, *(str(r.metrics[k]) for k in names)]
                  for i, r in enumerate(rows)]
    console.print(_metrics_table(f"prompts ranked by {rank_by} vs {ref.name}", table_rows,
                                 ["rank", "goal | baseline", *names]))
    _report_done(path)


def _load_rewards(path: Path, n: int) -> Any:
    import numpy as np

    if not path.is_file():
        raise ConfigError(f"--rewards: {path} does not exist")
    try:
        if path.suffix == ".npy":
            values = np.load(path)
        else:
            values = np.loadtxt(path, delimiter=",", ndmin=1)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"--rewards: cannot read {path}: {exc}") from None
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size != n:
        raise ConfigError(f"--rewards: {path} has {values.size} values; the dataset has {n}")
    return values


@eval_app.command("metrics")
def metrics_cmd(
    ctx: typer.Context,
    dataset: Path = typer.Argument(..., help="Dataset folder."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model spec (or --rewards)."),
    goal: list[str] | None = typer.Option(None, "--goal", "-g", help="Goal prompt; repeatable."),
    baseline: list[str] | None = _BASELINE,
    alpha: float = typer.Option(0.0, "--alpha", "-a", help="Goal-baseline strength."),
    rewards: Path | None = typer.Option(None, help="Score precomputed rewards (.npy or one "
                                        "value per line) instead of a model."),
    reward_file: Path | None = typer.Option(
        None, "--reward", help="YAML reward section (any reward.kind, docs/rewards.md) instead "
        "of --goal/--baseline/--alpha; frames are scored one by one. Or a learned reward (a run "
        "folder trained with reward.learned, or its learned_reward.pt; no --model)."),
    along_episodes: bool = typer.Option(
        False, "--along-episodes", help="Score a rollout dataset's frames along their "
        "episodes as training does (window/episode kinds: the episode's earlier frames count; "
        "an episode reward is compared at the episodes' last frames)."),
    reference: str = _REFERENCE,
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Also write a plot and report.html into this folder."),
    n_boot: int = _NBOOT,
    seed: int = _SEED,
    batch_size: int = _BATCH,
    no_cache: bool = _NOCACHE,
    progress: bool = _PROGRESS,
    as_json: bool = _JSON,
) -> None:
    """EPIC, Pearson, Spearman and ROC AUC (with bootstrap CIs) of one reward vs a reference."""
    import numpy as np

    from vlm_reward.evaluation.dataset import load_dataset
    from vlm_reward.evaluation.scoring import (
        at_episode_ends,
        check_rollouts,
        dataset_env,
        embed_dataset,
        episode_rewards,
        evaluate_rewards,
        frame_rewards,
        resolve_reference,
    )
    from vlm_reward.factory import build_frame_reward

    if out is not None:
        check_output_path(out, "--out", "dir")
    ds = load_dataset(dataset)
    ref = resolve_reference(ds, reference)
    if along_episodes and rewards is None:
        check_rollouts(ds)  # before any model loads
    cfg = None
    if rewards is not None:
        if model is not None:
            raise ConfigError("--rewards and --model are exclusive; give one")
        if along_episodes:
            raise ConfigError("--along-episodes scores a model's reward; drop it with --rewards")
        values = _load_rewards(rewards, len(ds))
        source = str(rewards)
        random_model = False
    elif (learned := learned_reward(reward_file, goal, baseline)) is not None:
        if model is not None:
            raise ConfigError("--reward names a learned reward, which needs no --model; drop it")
        if along_episodes:
            raise ConfigError("--along-episodes is for window/episode kinds; a learned reward "
                              "scores each frame alone, so drop it")
        values = np.concatenate([learned.score_frames(np.array(ds.frames[i:i + batch_size]))
                                 for i in range(0, len(ds), batch_size)])
        source = str(reward_file)
        random_model = False
    else:
        if model is None:
            raise ConfigError("metrics: give --model with --goal or --reward (or --rewards FILE)")
        cfg = reward_config(model, goal, baseline, alpha, reward_file)
        embedder = _load(cfg.model, batch_size, ctx)
        family = build_frame_reward(cfg, embedder, dataset_env(ds))
        emb = None
        if not (along_episodes and family.takes_frames):  # a video model embeds clips itself
            emb = embed_dataset(embedder, ds, cache=not no_cache,
                                progress=progress and not as_json)
        if along_episodes:
            values = episode_rewards(embedder, family, ds, emb)
            if cfg.kind == "episode":
                ref = at_episode_ends(ds, ref)
        else:
            values = frame_rewards(family, emb)
        source = cfg.model
        random_model = bool(embedder.is_random)
    metrics = evaluate_rewards(values, ref, n_boot=n_boot, seed=seed)
    data = {"dataset": str(ds.root), "reward": source, "reference": ref.name,
            "n_frames": len(ref), "kind": None if cfg is None else cfg.kind,
            "along_episodes": along_episodes,
            "alpha": None if cfg is None else cfg.alpha,
            "metrics": {k: v.to_dict() for k, v in metrics.items()}}
    if out is not None:
        data["report"] = str(_metrics_report(out, ds, ref, values, metrics, source, cfg,
                                             random_model, along_episodes))
    if as_json:
        _print_json(data)
        return
    rows = [[k, f"{v.value:.4f}",
             "n/a" if v.to_dict()["low"] is None else f"[{v.low:.4f}, {v.high:.4f}]"]
            for k, v in metrics.items()]
    console.print(_metrics_table(f"{source} vs {ref.name} ({len(ref)} frames)", rows,
                                 ["metric", "value", "95% CI"]))
    if out is not None:
        _report_done(Path(data["report"]))


def _metrics_report(out: Path, ds: Any, ref: Any, values: Any, metrics: dict[str, Any],
                    source: str, cfg: Any, random_model: bool,
                    along_episodes: bool = False) -> Path:
    from vlm_reward.evaluation.plots import plot_reward_vs_reference, save_figure
    from vlm_reward.evaluation.report import ReportFigure, ReportTable, write_report
    from vlm_reward.evaluation.sweeps import random_model_warning

    sub = values[ref.index]
    fig = plot_reward_vs_reference(sub, ref.values, binary=ref.binary, reference_name=ref.name,
                                   title=f"reward vs {ref.name} ({len(ref)} states)")
    png, svg = save_figure(fig, out, "metrics")
    settings = _settings(ds, source, cfg, along_episodes=along_episodes) | {
        "reference": ref.name}
    table = ReportTable(f"Metrics vs {ref.name} (95% bootstrap CI)", ["metric", "value"],
                        [[k, str(v)] for k, v in metrics.items()])
    caption = ("Reward distribution of success and failure states" if ref.binary
               else f"Reward against {ref.name}")
    return write_report(out, title="Reward metrics", settings=settings, tables=[table],
                        figures=[ReportFigure(png, caption, svg)],
                        warnings=[random_model_warning(source)] if random_model else [],
                        results={"reference": ref.name, "rewards": values,
                                 "metrics": {k: v.to_dict() for k, v in metrics.items()}})
