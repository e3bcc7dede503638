"""Markdown tables from benchmark JSON files, pasted between markers in BENCHMARKS.md.

``python -m benchmarks.report benchmarks/results/*.json --update BENCHMARKS.md`` rewrites the
part of BENCHMARKS.md between ``<!-- results:start -->`` and ``<!-- results:end -->``. Each
input is a ``run_all`` suite or one benchmark's JSON (``python -m benchmarks.NAME --out``);
each section is printed with the machine it ran on and the command that produced it, so no
figure in the document is typed by hand. Without ``--update`` it prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["SECTIONS", "TARGETS", "main", "markdown", "merge"]

START, END = "<!-- results:start -->", "<!-- results:end -->"
# benchmark name -> section of the merged results
SECTIONS = {"compute_limit": "compute", "reward_throughput": "reward",
            "profile_reward": "profile", "fast_path_quality": "quality",
            "peak_memory": "memory", "training_throughput": "training",
            "scale_curve": "scale", "gpu_suite": "gpu", "learned_reward": "learned"}
# ViT-B-32 targets, each a ratio measured within one run
TARGETS = {"reward_percent_of_ceiling": 80.0, "reward_x_naive": 6.0,
           "training_of_reward_path": 0.8}


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _machine(section: dict[str, Any]) -> str:
    s = section["system"]
    load = ", ".join(f"{x:.1f}" for x in s["load_average"])
    return (f"{s['time_utc']}, commit `{s['git_commit']}`, {s['cpu']} ({s['cpu_count']} cores, "
            f"{s['torch_threads']} torch threads, torch {s['torch']}, {s['cpu_capability']}, "
            f"native bf16: {s['native_bf16']}), load average at start {load}")


def _head(title: str, section: dict[str, Any]) -> list[str]:
    lines = ["", f"### {title}", "", f"Measured {_machine(section)}."]
    if section.get("command"):
        lines += ["", "```bash", f"PYTHONPATH=src {section['command']}", "```"]
    return [*lines, ""]


def _targets(results: dict[str, Any], arch: str = "ViT-B-32") -> list[str]:
    reward = results.get("reward", {}).get("models", {}).get(arch)
    training = results.get("training")
    if not (reward or training):
        return []
    rows = ["", f"### Targets ({arch}; each ratio within one run)", "",
            "| target | goal | measured | met |", "|---|---:|---:|---|"]

    def row(label: str, goal: float, value: float | None, unit: str) -> None:
        met = "-" if value is None else ("yes" if value >= goal else "no")
        rows.append(f"| {label} | {goal:g}{unit} | {_f(value, 2 if unit == '' else 1)}{unit} "
                    f"| {met} |")

    if reward:
        d = reward["default"]
        row(f"reward path, defaults (batch {d['batch_size']}, {reward['ceiling']['dtype']}): "
            "percent of the same run's ceiling", TARGETS["reward_percent_of_ceiling"],
            d["percent_of_ceiling"], " %")
        row("reward path, defaults: x naive", TARGETS["reward_x_naive"], d["x_naive"], "x")
    if training and "ours/batched" in training["modes"]:
        row("PPO env steps/s as a fraction of the same run's reward-path frames/s",
            TARGETS["training_of_reward_path"],
            training["modes"]["ours/batched"]["of_reward_path"], "")
    return rows


def _reward(reward: dict[str, Any]) -> list[str]:
    st = reward["settings"]
    out = _head("Reward path: 400x600 uint8 frames -> rewards", reward)
    out += [f"Median of {st['rounds']} interleaved rounds; ceiling = image-tower FLOPs at the "
            "matmul rate of the compute dtype, re-measured in every round of this run.", "",
            "| model | configuration | dtype | batch | frames/s | % of ceiling | x naive | "
            "x off | switches applied |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for arch, e in reward["models"].items():
        c = e["ceiling"]
        out.append(f"| {arch} | ceiling: {c['image_tower_gflops_per_frame']:.2f} GFLOP/frame at "
                   f"{c['matmul_gflops']:.0f} GFLOP/s | {c['dtype']} | | "
                   f"{_f(c['frames_per_s'])} | 100 | | | |")
        if e.get("naive_frames_per_s"):
            out.append(f"| {arch} | naive: PIL per frame, 1 frame/call | float32 | 1 | "
                       f"{_f(e['naive_frames_per_s'])} | | 1.0 | | |")
        for r in e["batch_sweep"]:
            tag = " (auto)" if r["batch_size"] == e["auto_batch_size"] else ""
            out.append(f"| {arch} | defaults of `load_model`{tag} | {e['ceiling']['dtype']} | "
                       f"{r['batch_size']} | {_f(r['frames_per_s'])} | "
                       f"{_f(r['percent_of_ceiling'])} | {_f(r['x_naive'])} | | |")
        for name, v in e["variants"].items():
            out.append(f"| {arch} | variant `{name}` | {v['dtype']} | {v['batch_size']} | "
                       f"{_f(v['frames_per_s'])} | {_f(v['percent_of_ceiling'])} | "
                       f"{_f(v['x_naive'])} | {_f(v['x_off'], 2)} | "
                       f"{', '.join(v['applied']) or '-'} |")
    return out


def _profile(prof: dict[str, Any]) -> list[str]:
    st = prof["settings"]
    out = _head(f"Profile of the reward path ({st['model']}, {st['dtype']}, batch "
                f"{st['batch_size']}, {st['frames']} frames)", prof)
    out += [f"torch.profiler self CPU time by group (total {prof['total_self_ms']:.0f} ms, "
            f"{prof['minor_page_faults']} minor page faults during the pass; switches: "
            f"{', '.join(st['applied']) or '-'}).", "", "| group | share of time |",
            "|---|---:|"]
    out += [f"| {g} | {100 * v:.1f} % |" for g, v in prof["share"].items()]
    out += ["", "| top ops | self ms | calls |", "|---|---:|---:|"]
    out += [f"| `{o['op']}` | {o['self_ms']:.1f} | {o['calls']} |" for o in prof["top_ops"][:8]]
    return out


def _quality(quality: dict[str, Any]) -> list[str]:
    st = quality["settings"]
    out = _head("Fast-path quality vs the fp32 PIL reference", quality)
    out += [f"{st['frames']} rendered frames ({', '.join(st.get('frames_from', []))}); floor for "
            f"embeddings: cosine >= {st['embedding_cosine_floor']}.", "",
            "| model | variant | dtype | emb. cos min | emb. cos mean | reward max abs diff | "
            "reward Pearson | passes |", "|---|---|---|---:|---:|---:|---:|---|"]
    for arch, e in quality["models"].items():
        for name, v in e["variants"].items():
            out.append(f"| {arch} | `{name}` | {v['dtype']} | {_f(v['embedding_cosine_min'], 5)} "
                       f"| {_f(v['embedding_cosine_mean'], 5)} | "
                       f"{_f(v['reward_max_abs_diff'], 6)} | {_f(v['reward_pearson'], 4)} | "
                       f"{'yes' if v['passes'] else 'NO'} |")
        out.append(f"| {arch} | (reward std over frames) | | | | "
                   f"{_f(e['reward_std_over_frames'], 6)} | | |")
    return out


def _memory(memory: dict[str, Any]) -> list[str]:
    st = memory["settings"]
    out = _head("Peak memory (RSS, fresh process per configuration)", memory)
    out += [f"{st['frames']} frames at batch {st['batch_size']} (naive: 1).", "",
            "| model | configuration | peak RSS MiB | model + run MiB (peak - imports) |",
            "|---|---|---:|---:|"]
    for arch, e in memory["models"].items():
        for name, v in e.items():
            if "error" in v:
                out.append(f"| {arch} | `{name}` | error | {v['error']} |")
            else:
                out.append(f"| {arch} | `{name}` | {_f(v['peak_rss_mb'], 0)} | "
                           f"{_f(v['model_and_run_mb'], 0)} |")
    return out


def _training(training: dict[str, Any]) -> list[str]:
    st = training["settings"]
    path = training["reward_path"]
    out = _head("Training throughput (VLM-rewarded CartPole, PPO)", training)
    out += [f"{st['model']} reward ({path['dtype']}, batch {path['batch_size']}), env "
            f"`{st['env_id']}` (frames {path['frame_shape'][0]}x{path['frame_shape'][1]}), "
            f"{st['n_envs']} envs, PPO n_steps {st['ppo_n_steps']}, {st['env_steps']} env steps "
            f"per configuration. Reward path of the same run on such frames: "
            f"{path['frames_per_s']:.1f} frames/s.", "",
            "| configuration | env steps/s | of reward path | x naive | reward inference share |",
            "|---|---:|---:|---:|---:|"]
    for name, v in training["modes"].items():
        out.append(f"| {name} | {_f(v['env_steps_per_s'])} | {_f(v['of_reward_path'], 2)} | "
                   f"{_f(v['x_naive'])} | {_f(v.get('reward_inference_share'), 2)} |")
    return out


def _compute(compute: dict[str, Any]) -> list[str]:
    mm = compute["matmul_gflops"]
    out = _head("Compute limit", compute)
    out += [f"Best {mm['size']}x{mm['size']} matmul on {mm['threads']} threads: fp32 "
            f"{_f(mm['fp32_all_threads'])} GFLOP/s ({_f(mm['fp32_one_thread'])} on one), bf16 "
            f"{_f(mm['bf16_all_threads'])} GFLOP/s; `precision: auto` computes in "
            f"{compute['precision_used']} here.", "",
            "| model | image tower GFLOPs/frame | fp32 ceiling frames/s | bf16 ceiling frames/s "
            "| ceiling of the precision used |", "|---|---:|---:|---:|---:|"]
    for arch, v in compute["models"].items():
        out.append(f"| {arch} | {_f(v['image_tower_gflops_per_frame'], 2)} | "
                   f"{_f(v['fp32_ceiling_frames_per_s'])} | {_f(v['bf16_ceiling_frames_per_s'])} "
                   f"| {_f(v['ceiling_frames_per_s'])} |")
    return out


def _scale(scale: dict[str, Any], doc_dir: Path | None) -> list[str]:
    out = _head("Scale curve: batch size and model size", scale)
    if scale.get("plot"):
        plot = Path(scale["plot"])
        rel = plot.relative_to(doc_dir) if doc_dir and plot.is_relative_to(doc_dir) else plot
        out += [f"![reward-path frames/s vs batch size and model size]({rel.as_posix()})", ""]
    sweep = scale["batch_sweep"]
    out += [f"{sweep['model']}, default settings except the batch size (default here: "
            f"{sweep['auto_batch_size']}); ceiling {sweep['ceiling']['frames_per_s']:.1f} "
            "frames/s.", "", "| batch | frames/s | % of ceiling |", "|---:|---:|---:|"]
    out += [f"| {p['batch_size']} | {_f(p['frames_per_s'])} | {_f(p['percent_of_ceiling'])} |"
            for p in sweep["points"]]
    out += ["", "| model | batch | GFLOPs/frame | frames/s | % of ceiling |",
            "|---|---:|---:|---:|---:|"]
    out += [f"| {m['model']} | {m['batch_size']} | "
            f"{_f(m['ceiling']['image_tower_gflops_per_frame'], 2)} | {_f(m['frames_per_s'], 2)} "
            f"| {_f(m['percent_of_ceiling'])} |" for m in scale["model_sweep"]]
    return out


def _gpu(gpu: dict[str, Any]) -> list[str]:
    out = _head(f"GPU: {gpu['gpu']}", gpu)
    out += [f"{gpu['settings']['dtype']} matmul {gpu['matmul_gflops']['used'] / 1e3:.0f} "
            "TFLOP/s measured in this run.", "",
            "| model | dtype | batch | frames/s | % of ceiling | peak GPU GiB | training env "
            "steps/s | of reward path |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for arch, e in gpu["models"].items():
        r, t = e["reward"], e.get("training", {})
        out.append(f"| {arch} | {r['dtype']} | {r['batch_size']} | {_f(r['frames_per_s'])} | "
                   f"{_f(r['percent_of_ceiling'])} | {_f(r['peak_gpu_memory_gib'], 2)} | "
                   f"{_f(t.get('env_steps_per_s'))} | {_f(t.get('of_reward_path'), 2)} |")
    return out


def _pct(values: list[float]) -> str:
    return " / ".join(f"{100 * v:.0f}" for v in values) + " %"


def _met(target: dict[str, Any] | None) -> str:
    return "-" if target is None else ("yes" if target["met"] else "no")


def _learned_quality(learned: dict[str, Any]) -> list[str]:
    st, q = learned["settings"], learned["quality"]
    out = _head("Learned rewards: full VLM vs distilled vs preference (demo model, CartPole)",
                learned)
    seeds = ", ".join(str(s) for s in st["seeds"])
    out += [f"The demo's task (`{st['configs'].get('full', 'configs/cartpole-cpu.yaml')}`), PPO, "
            f"{st['env_steps']} env steps per run, seeds {seeds}; success = pole within 12 "
            f"degrees for the whole episode, over {st['eval_episodes']} ground-truth episodes "
            "no run saw (per seed). VLM frames per step: frames the VLM embedded / env steps; "
            "Pearson: learned reward vs the VLM's score on held-out labelled frames.", "",
            "| reward | config | success (trained) | success (random) | VLM frames/step | "
            "pair labels | env steps/s | Pearson vs VLM |",
            "|---|---|---|---|---:|---:|---:|---:|"]
    for name, m in q["methods"].items():
        labels = "-" if m.get("pair_labels") is None else f"{m['pair_labels']:.0f}"
        out.append(f"| {name} | `{st['configs'][name]}` | {_pct(m['success'])} | "
                   f"{_pct(m['random_success'])} | {_f(m['max_vlm_frames_per_step'], 3)} | "
                   f"{labels} | {_f(m['env_steps_per_s'])} | {_f(m.get('learned_pearson'), 3)} |")
    t = learned.get("targets", {})
    rows = [("distilled: success of the full VLM on every seed", "same",
             "distill_same_success_as_full",
             lambda v: _pct(v["distill"]) + " vs " + _pct(v["full"])),
            ("distilled: VLM frames per env step (max over seeds)", "<= 0.2",
             "distill_vlm_frames_per_step", lambda v: _f(v["measured"], 3)),
            ("preference: success on every seed", ">= 90 %", "preference_success_every_seed",
             lambda v: _pct(v["measured"])),
            ("preference: pair labels (max over seeds)", "<= 5000", "preference_pair_labels",
             lambda v: _f(v["measured"], 0))]
    out += ["", "| target | goal | measured | met |", "|---|---:|---:|---|"]
    out += [f"| {label} | {goal} | {fmt(t[key])} | {_met(t[key])} |"
            for label, goal, key, fmt in rows if key in t]
    return out


def _learned_speed(learned: dict[str, Any]) -> list[str]:
    sp = learned["speed"]
    out = _head(f"Learned rewards: training speed with {sp['model']} as the VLM", learned)
    out += [f"The full and distilled configs above with `reward.model={sp['model']}`, "
            f"{sp['env_steps']} env steps each; the student's warm-up "
            f"{sp['distill_warmup_steps']} steps, an update every "
            f"{2 * sp['distill_warmup_steps']} steps.", "",
            "| reward | VLM frames/step | env steps/s | x full | reward inference share |",
            "|---|---:|---:|---:|---:|"]
    full = sp["modes"]["full"]["env_steps_per_s"]
    for name, m in sp["modes"].items():
        out.append(f"| {name} | {_f(m['vlm_frames_per_step'], 3)} | {_f(m['env_steps_per_s'])} "
                   f"| {_f(m['env_steps_per_s'] / full, 2)} | "
                   f"{_f(m.get('reward_inference_share'), 2)} |")
    t = learned.get("targets", {}).get("distill_speedup")
    if t is not None:
        out += ["", "| target | goal | measured | met |", "|---|---:|---:|---|",
                f"| distilled: env steps/s x full | >= {t['goal']:g}x | {_f(t['measured'], 2)}x "
                f"| {_met(t)} |"]
    return out


def _learned(learned: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for part in learned.get("parts", [learned]):
        if "quality" in part:
            out += _learned_quality(part)
        if "speed" in part:
            out += _learned_speed(part)
    return out


def markdown(results: dict[str, Any], doc_dir: Path | None = None) -> str:
    """The merged results as Markdown (one subsection per section present)."""
    out: list[str] = _targets(results)
    renderers = [("reward", _reward), ("profile", _profile), ("training", _training),
                 ("compute", _compute), ("quality", _quality), ("memory", _memory),
                 ("gpu", _gpu)]
    for key, render in renderers:
        if key in results:
            out += render(results[key])
    if "scale" in results:
        out += _scale(results["scale"], doc_dir)
    if "learned" in results:
        out += _learned(results["learned"])
    return "\n".join(out).lstrip("\n") + "\n"


def merge(datas: list[dict[str, Any]]) -> dict[str, Any]:
    """Sections from suites and single-benchmark files; a later file's section wins."""
    merged: dict[str, Any] = {}
    for data in datas:
        if data.get("benchmark") == "learned_reward":  # parts may come from separate runs
            parts = merged.setdefault("learned", {"parts": []})["parts"]
            parts[:] = [p for p in parts if not ({"quality", "speed"} & p.keys() & data.keys())]
            parts.append(data)
            continue
        if data.get("benchmark") in SECTIONS:
            merged[SECTIONS[data["benchmark"]]] = data
            continue
        for key, section in data.items():
            if key in SECTIONS.values() and isinstance(section, dict):
                section.setdefault("system", data.get("system"))
                section.setdefault("command", data.get("command"))
                merged[key] = section
    return merged


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", help="run_all or single-benchmark JSON files")
    parser.add_argument("--update", default=None, help="Markdown file with the markers")
    args = parser.parse_args(argv)
    results = merge([json.loads(Path(p).read_text()) for p in args.results])
    if not args.update:
        print(markdown(results))
        return
    path = Path(args.update)
    text = markdown(results, path.parent.resolve())
    doc = path.read_text()
    if START not in doc or END not in doc:
        raise SystemExit(f"{path}: markers {START} / {END} not found")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{head}{START}\n{text}{END}{tail}")
    tmp.replace(path)
    print(f"updated {path}")


if __name__ == "__main__":
    main()
