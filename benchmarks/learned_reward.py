"""Learned rewards: the full VLM reward vs a distilled student vs preferences, same seeds.

Two parts, in one run:

* **quality**: the demo's CartPole task (``configs/cartpole-cpu.yaml``, the bundled ``demo``
  model as the VLM) trained three ways from the same seeds: the full VLM reward on every step
  (``cartpole-cpu``), the VLM distilled into a small student that asks it about a fraction of
  the frames (``cartpole-distill-cpu``), and a Bradley-Terry reward learned from VLM pair
  preferences (``cartpole-preference-cpu``). For each: VLM frames per env step (and pair
  labels), env steps/s of the SB3 learn loop, the learned reward's agreement with the VLM,
  and the ground-truth success of the trained policy (pole within 12 degrees for the whole
  episode, 20 episodes none of the runs saw) next to a uniformly random policy's.
* **speed**: the same full and distilled configs with ``ViT-B-32`` (random weights: speed
  does not depend on them) standing in as the VLM, for a short budget: env steps/s of each
  and their ratio, with the VLM frames per step that explain it. The short budget scales the
  student's warm-up and update interval down with it (``--speed-warmup``; updates every twice
  the warm-up, as in the config, so ``--speed-warmup 2048`` is the config's own schedule),
  so the measured frames per step are close to the long-run ones of the quality part; they
  are printed.

Targets (from the design of the learned rewards): distilled reaches the full VLM's success
on every seed with <= 0.2 VLM frames per step and >= 3x its env steps/s with ViT-B-32;
preference reaches >= 90 % success on every seed with <= 5,000 pair labels.

Example:
    python -m benchmarks.learned_reward --out benchmarks/results/learned_reward.json
    python -m benchmarks.learned_reward --seeds 0 --steps 20000 --parts quality
    python -m benchmarks.learned_reward --runs-dir runs/bench-learned   # resumable
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import emit, parse_int_list, system_info

__all__ = ["CONFIGS", "TARGETS", "main", "run"]

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "full": ROOT / "configs" / "cartpole-cpu.yaml",
    "distill": ROOT / "configs" / "cartpole-distill-cpu.yaml",
    "preference": ROOT / "configs" / "cartpole-preference-cpu.yaml",
}
TARGETS = {"distill_vlm_frames_per_step": 0.2, "distill_speedup": 3.0,
           "preference_success": 0.9, "preference_pair_labels": 5000}
_QUIET = ["logging.eval_every=0", "logging.video_every=0", "logging.checkpoint_every=0",
          "logging.progress_bar=false"]


def _progress(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]learned_reward:[/dim] {msg}")


def _train(method: str, overrides: list[str], folder: Path) -> dict[str, Any]:
    from vlm_reward.config import load_run_config
    from vlm_reward.training import train

    cfg = load_run_config(CONFIGS[method], [*overrides, *_QUIET])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random-weights warning of the speed part
        return train(cfg, folder)


def _summary(res: dict[str, Any]) -> dict[str, Any]:
    """What one training run measured: speed, VLM use, the learned model's agreement."""
    steps = int(res["num_timesteps"])
    learned = res.get("learned")
    out: dict[str, Any] = {"env_steps": steps, "env_steps_per_s": res["fps"],
                           "learn_seconds": res["wall_seconds"],
                           "reward_inference_share": res.get("reward_inference_share")}
    if learned is None:  # the full VLM reward: every step's frame went through the VLM
        frames = res.get("relabelled_frames") or steps
        out.update(vlm_frames=int(frames), vlm_frames_per_step=frames / steps)
        return out
    out.update(vlm_frames=int(learned["vlm_queries"]),
               vlm_frames_per_step=learned["vlm_queries"] / steps)
    for key in ("pair_labels", "learned_pearson", "learned_epic", "learned_accuracy",
                "learned_loss"):
        if key in learned:
            out[key] = learned[key]
    return out


def _finished(folder: Path, steps: int) -> dict[str, Any] | None:
    """The results of a completed run of ``steps`` steps in ``folder`` (to reuse), else None."""
    path = folder / "results.json"
    if not path.is_file():
        return None
    res = json.loads(path.read_text())
    done = res.get("status") == "completed" and res.get("total_steps") == steps
    return res if done else None


def quality(seeds: list[int], steps: int, episodes: int, runs_dir: Path,
            methods: tuple[str, ...] = tuple(CONFIGS),
            partial: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train every method from every seed on the demo model; success vs random per run.

    A completed run of the same budget already in ``runs_dir/<method>-<seed>`` is evaluated
    again instead of trained (runs are deterministic given the seed), so an interrupted
    benchmark continues where it stopped. ``partial`` gets the results after every run.
    """
    from vlm_reward.demo.agent import evaluate_against_random

    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    out: dict[str, Any] = {"runs": runs, "methods": {}, "reused_runs": []}
    for seed in seeds:
        for method in methods:
            folder = runs_dir / f"{method}-{seed}"
            res = _finished(folder, steps)
            if res is None:
                _progress(f"quality: {method}, seed {seed}, {steps} env steps")
                if folder.exists():
                    shutil.rmtree(folder)  # an unfinished run of an interrupted benchmark
                res = _train(method, [f"seed={seed}", f"total_steps={steps}"], folder)
            else:
                _progress(f"quality: {method}, seed {seed}: completed run in {folder}")
                out["reused_runs"].append(folder.name)
            ev = evaluate_against_random(folder, episodes, seed)
            runs[method].append({"seed": seed, **_summary(res),
                                 "success": ev["trained"]["success_rate"],
                                 "random_success": ev["random"]["success_rate"],
                                 "upright_fraction": ev["trained"]["upright_fraction"]})
            out["methods"] = {m: _aggregate(r) for m, r in runs.items() if r}
            if partial is not None:
                partial(out)
    return out


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return sum(values) / len(values) if values else None

    return {"seeds": [r["seed"] for r in runs],
            "success": [r["success"] for r in runs],
            "min_success": min(r["success"] for r in runs),
            "random_success": [r["random_success"] for r in runs],
            "vlm_frames_per_step": mean("vlm_frames_per_step"),
            "max_vlm_frames_per_step": max(r["vlm_frames_per_step"] for r in runs),
            "env_steps_per_s": mean("env_steps_per_s"),
            "pair_labels": max((r["pair_labels"] for r in runs if "pair_labels" in r),
                               default=None),
            "learned_pearson": mean("learned_pearson")}


def speed(model: str, steps: int, warmup: int, tmp: Path) -> dict[str, Any]:
    """Env steps/s of full vs distilled training with ``model`` (random weights) as the VLM."""
    spec = f"{model}/random"
    common = [f"reward.model={spec}", f"total_steps={steps}", "seed=0"]
    student = [f"reward.learned.warmup_steps={warmup}",
               f"reward.learned.update_every={2 * warmup}"]  # the config's ratio (4096/2048)
    out: dict[str, Any] = {"model": spec, "env_steps": steps, "distill_warmup_steps": warmup,
                           "modes": {}}
    for method, extra in (("full", []), ("distill", student)):
        _progress(f"speed: {method} with {spec}, {steps} env steps")
        res = _train(method, [*common, *extra], tmp / f"speed-{method}")
        out["modes"][method] = _summary(res)
    full, dist = out["modes"]["full"], out["modes"]["distill"]
    out["speedup"] = dist["env_steps_per_s"] / full["env_steps_per_s"]
    return out


def _targets(result: dict[str, Any]) -> dict[str, Any]:
    q = result.get("quality", {}).get("methods", {})
    targets: dict[str, Any] = {}
    if "distill" in q and "full" in q:
        d, f = q["distill"], q["full"]
        targets["distill_same_success_as_full"] = {
            "distill": d["success"], "full": f["success"],
            # a partial result (written after every run) may not have both runs of a seed yet
            "met": len(d["success"]) == len(f["success"])
            and all(ds >= fs for ds, fs in zip(d["success"], f["success"], strict=True))}
        targets["distill_vlm_frames_per_step"] = {
            "goal": TARGETS["distill_vlm_frames_per_step"],
            "measured": d["max_vlm_frames_per_step"],
            "met": d["max_vlm_frames_per_step"] <= TARGETS["distill_vlm_frames_per_step"]}
    if "speed" in result:
        sp = result["speed"]["speedup"]
        targets["distill_speedup"] = {"goal": TARGETS["distill_speedup"], "measured": sp,
                                      "met": sp >= TARGETS["distill_speedup"]}
    if "preference" in q:
        p = q["preference"]
        targets["preference_success_every_seed"] = {
            "goal": TARGETS["preference_success"], "measured": p["success"],
            "met": p["min_success"] >= TARGETS["preference_success"]}
        targets["preference_pair_labels"] = {
            "goal": TARGETS["preference_pair_labels"], "measured": p["pair_labels"],
            "met": p["pair_labels"] is not None
            and p["pair_labels"] <= TARGETS["preference_pair_labels"]}
    return targets


def run(seeds: list[int], steps: int = 60_000, episodes: int = 20,
        parts: tuple[str, ...] = ("quality", "speed"), speed_model: str = "ViT-B-32",
        speed_steps: int = 1536, speed_warmup: int = 256,
        methods: tuple[str, ...] = tuple(CONFIGS), runs_dir: Path | None = None,
        out: str | None = None) -> dict[str, Any]:
    """Both parts (or those in ``parts``); the JSON-ready result with the targets.

    ``runs_dir`` keeps the quality runs (default: a temporary folder) and lets a rerun reuse
    the completed ones; with ``out``, the JSON so far is written after every quality run.
    """
    import torch

    result: dict[str, Any] = {
        "benchmark": "learned_reward",
        "system": system_info(),
        "settings": {"seeds": seeds, "env_steps": steps, "eval_episodes": episodes,
                     "configs": {m: str(CONFIGS[m].relative_to(ROOT)) for m in methods},
                     "torch_threads": torch.get_num_threads()},
    }
    def partial(q: dict[str, Any]) -> None:
        result["quality"] = q
        result["targets"] = _targets(result)
        emit(result, out, quiet=True)

    with tempfile.TemporaryDirectory(prefix="vlm-bench-learned-") as tmpdir:
        if "quality" in parts:
            folder = Path(runs_dir) if runs_dir is not None else Path(tmpdir)
            result["quality"] = quality(seeds, steps, episodes, folder, methods,
                                        partial if out else None)
        if "speed" in parts:
            result["speed"] = speed(speed_model, speed_steps, speed_warmup, Path(tmpdir))
    result["targets"] = _targets(result)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="training seeds (comma list)")
    parser.add_argument("--steps", type=int, default=60_000, help="env steps per quality run")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--parts", default="quality,speed", help="quality, speed or both")
    parser.add_argument("--methods", default=",".join(CONFIGS),
                        help=f"quality part: some of {','.join(CONFIGS)}")
    parser.add_argument("--speed-model", default="ViT-B-32", help="open_clip architecture")
    parser.add_argument("--speed-steps", type=int, default=1536,
                        help="env steps per speed run")
    parser.add_argument("--speed-warmup", type=int, default=256,
                        help="student warm-up in the speed part (updates every 2x that, as "
                             "in the config)")
    parser.add_argument("--runs-dir", default=None,
                        help="keep the quality runs here (reused by a rerun) instead of a "
                        "temporary folder")
    parser.add_argument("--out", default=None,
                        help="also write the JSON to this file (after every quality run too)")
    args = parser.parse_args(argv)
    parts = tuple(p for p in args.parts.split(",") if p)
    methods = tuple(m for m in args.methods.split(",") if m)
    bad = (set(parts) - {"quality", "speed"}) | (set(methods) - set(CONFIGS))
    if bad:
        raise SystemExit(f"unknown part(s)/method(s) {sorted(bad)}; parts: quality, speed; "
                         f"methods: {', '.join(CONFIGS)}")
    result = run(parse_int_list(args.seeds), args.steps, args.eval_episodes, parts,
                 args.speed_model, args.speed_steps, args.speed_warmup, methods,
                 Path(args.runs_dir) if args.runs_dir else None, args.out)
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
