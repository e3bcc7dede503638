"""Markdown tables from a ``run_all`` JSON file, pasted between markers in BENCHMARKS.md.

``python -m benchmarks.report benchmarks/results/latest.json --update BENCHMARKS.md`` rewrites
the part of BENCHMARKS.md between ``<!-- results:start -->`` and ``<!-- results:end -->`` so
the document always quotes one run, whole; without ``--update`` it prints the tables.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["main", "markdown"]

START, END = "<!-- results:start -->", "<!-- results:end -->"


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    """The suite's results as Markdown tables (one per section present)."""
    out: list[str] = []
    sysinfo = results["system"]
    out.append(
        f"Run of {sysinfo['time_utc']} at commit `{sysinfo['git_commit']}` on "
        f"{sysinfo['cpu']} ({sysinfo['cpu_count']} cores, torch {sysinfo['torch']}, "
        f"{sysinfo['cpu_capability']}, native bf16: {sysinfo['native_bf16']}); load average "
        f"at start {', '.join(f'{x:.1f}' for x in sysinfo['load_average'])} (shared machine). "
        f"Suite time {results.get('suite_seconds', 0) / 60:.1f} min."
    )
    for section, when in results.get("reused_sections", {}).items():
        out.append(f"The `{section}` section comes from an earlier run ({when}); it does not "
                   "depend on machine load.")
    reward = results.get("reward")
    out += _targets(results)
    if reward:
        st = reward["settings"]
        out += ["", "### Reward throughput (400x600 uint8 frames -> rewards)", "",
                f"Median of {st['rounds']} interleaved rounds; naive on {st['naive_frames']} "
                f"frames, ours on max(batch, {st['frames_per_batch_size']}) frames per round.",
                "", "| model | configuration | batch | frames/s | x naive | x off | switches |",
                "|---|---|---:|---:|---:|---:|---|"]
        for arch, e in reward["models"].items():
            out.append(f"| {arch} | naive: PIL per frame, fp32, 1 frame/call | 1 | "
                       f"{_f(e['naive_frames_per_s'])} | 1.0 | | |")
            for r in e["batch_sweep"]:
                out.append(f"| {arch} | ours, default fast path | {r['batch_size']} | "
                           f"{_f(r['frames_per_s'])} | {_f(r['x_naive'])} | | |")
            for name, v in e["variants"].items():
                out.append(f"| {arch} | variant `{name}` ({v['dtype']}) | {v['batch_size']} | "
                           f"{_f(v['frames_per_s'])} | {_f(v['x_naive'])} | "
                           f"{_f(v['x_off'], 2)} | {', '.join(v['applied']) or '-'} |")
    quality = results.get("quality")
    if quality:
        st = quality["settings"]
        out += ["", "### Fast-path quality vs the fp32 PIL reference", "",
                f"{st['frames']} rendered frames ({', '.join(st.get('frames_from', []))}); "
                f"floor for embeddings: cosine >= {st['embedding_cosine_floor']}.", "",
                "| model | variant | emb. cos min | emb. cos mean | reward max abs diff | "
                "reward Pearson | reward Spearman | passes |",
                "|---|---|---:|---:|---:|---:|---:|---|"]
        for arch, e in quality["models"].items():
            for name, v in e["variants"].items():
                out.append(
                    f"| {arch} | `{name}` | {_f(v['embedding_cosine_min'], 5)} | "
                    f"{_f(v['embedding_cosine_mean'], 5)} | {_f(v['reward_max_abs_diff'], 6)} "
                    f"| {_f(v['reward_pearson'], 4)} | {_f(v['reward_spearman'], 4)} | "
                    f"{'yes' if v['passes'] else 'NO'} |")
            out.append(f"| {arch} | (reward std over frames) | | | "
                       f"{_f(e['reward_std_over_frames'], 6)} | | | |")
    memory = results.get("memory")
    if memory:
        st = memory["settings"]
        out += ["", "### Peak memory (RSS, fresh process per configuration)", "",
                f"{st['frames']} frames at batch {st['batch_size']} (naive: 1).", "",
                "| model | configuration | peak RSS MiB | model + run MiB (peak - imports) |",
                "|---|---|---:|---:|"]
        for arch, e in memory["models"].items():
            for name, v in e.items():
                if "error" in v:
                    out.append(f"| {arch} | `{name}` | error | {v['error']} |")
                else:
                    out.append(f"| {arch} | `{name}` | {_f(v['peak_rss_mb'], 0)} | "
                               f"{_f(v['model_and_run_mb'], 0)} |")
    training = results.get("training")
    if training:
        st = training["settings"]
        out += ["", "### Training throughput (VLM-rewarded CartPole, PPO)", "",
                f"{st['model']} reward, env `{st['env_id']}` (frames: {st['frame_size']}), "
                f"{st['env_steps']} env steps per configuration, PPO n_steps {st['ppo_n_steps']}, "
                f"VLM batch {st['vlm_batch_size']}.", "",
                "| configuration | env steps/s | x naive | reward inference share |",
                "|---|---:|---:|---:|"]
        for name, v in training["modes"].items():
            out.append(f"| {name} | {_f(v['env_steps_per_s'])} | {_f(v['x_naive'])} | "
                       f"{_f(v.get('reward_inference_share'), 2)} |")
    compute = results.get("compute")
    if compute:
        mm = compute["matmul_gflops"]
        out += ["", "### Compute limit", "",
                f"Best {mm['size']}x{mm['size']} matmul: fp32 {_f(mm['fp32_all_threads'])} "
                f"GFLOP/s on {mm['threads']} threads ({_f(mm['fp32_one_thread'])} on one), "
                f"bf16 {_f(mm['bf16_all_threads'])} GFLOP/s.", "",
                "| model | image tower GFLOPs/frame | fp32 ceiling frames/s | best measured "
                "frames/s | share of ceiling |", "|---|---:|---:|---:|---:|"]
        for arch, v in compute["models"].items():
            best = None
            if reward and arch in reward["models"]:
                e = reward["models"][arch]
                best = max([r["frames_per_s"] for r in e["batch_sweep"]]
                           + [x["frames_per_s"] for x in e["variants"].values()])
            share = best / v["fp32_ceiling_frames_per_s"] if best else None
            out.append(f"| {arch} | {_f(v['image_tower_gflops_per_frame'], 2)} | "
                       f"{_f(v['fp32_ceiling_frames_per_s'])} | {_f(best)} | {_f(share, 2)} |")
    return "\n".join(out) + "\n"


def _targets(results: dict[str, Any], arch: str = "ViT-B-32") -> list[str]:
    """Issue 7's targets next to the measured figures of this run (ViT-B-32)."""
    from benchmarks.run_all import TARGETS

    reward = results.get("reward", {}).get("models", {}).get(arch)
    training = results.get("training")
    compute = results.get("compute", {}).get("models", {}).get(arch)
    if not (reward or training):
        return []
    rows = ["", f"### Targets (issue 7, {arch}) vs this run", "",
            "| target | goal | measured | met |", "|---|---:|---:|---|"]
    if reward:
        default = max(reward["batch_sweep"], key=lambda r: r["frames_per_s"])
        best_name, best = max(((n, v) for n, v in reward["variants"].items()),
                              key=lambda nv: nv[1]["frames_per_s"])
        for label, fps, ratio in (
            (f"default fast path (batch {default['batch_size']})", default["frames_per_s"],
             default["x_naive"]),
            (f"fastest variant `{best_name}` (batch {best['batch_size']})", best["frames_per_s"],
             best["x_naive"]),
        ):
            rows.append(f"| reward frames/s, {label} | {TARGETS['reward_frames_per_s']:.0f} | "
                        f"{fps:.1f} | {'yes' if fps >= TARGETS['reward_frames_per_s'] else 'no'} |")
            rows.append(f"| reward x naive, {label} | {TARGETS['reward_x_naive']:.0f}x | "
                        f"{ratio:.1f}x | {'yes' if ratio >= TARGETS['reward_x_naive'] else 'no'} |")
    if training:
        name, v = max(((n, m) for n, m in training["modes"].items() if n != "ground_truth"),
                      key=lambda nv: nv[1]["env_steps_per_s"])
        sps = v["env_steps_per_s"]
        rows.append(f"| training env steps/s (`{name}`) | {TARGETS['training_steps_per_s']:.0f} | "
                    f"{sps:.1f} | {'yes' if sps >= TARGETS['training_steps_per_s'] else 'no'} |")
    if compute:
        rows.append(f"| fp32 compute ceiling of this CPU, this run (frames/s) | - | "
                    f"{compute['fp32_ceiling_frames_per_s']:.1f} | - |")
    return rows


_SECTION_OF = {"compute_limit": "compute", "reward_throughput": "reward",
               "fast_path_quality": "quality", "peak_memory": "memory",
               "training_throughput": "training"}


def _as_suite(data: dict[str, Any]) -> dict[str, Any]:
    """A single benchmark's JSON (``python -m benchmarks.NAME``) as a one-section suite."""
    section = _SECTION_OF.get(data.get("benchmark", ""))
    return {"system": data["system"], section: data} if section else data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+",
                        help="JSON written by benchmarks.run_all; sections missing from the "
                             "first file are taken from the next ones")
    parser.add_argument("--write-json", default=None, help="also save the merged JSON here")
    parser.add_argument("--update", default=None, help="Markdown file with the markers")
    args = parser.parse_args(argv)
    results = _as_suite(json.loads(Path(args.results[0]).read_text()))
    for extra in args.results[1:]:
        earlier = _as_suite(json.loads(Path(extra).read_text()))
        for section in ("compute", "reward", "quality", "memory", "training"):
            if section not in results and section in earlier:
                results[section] = earlier[section]
                results.setdefault("reused_sections", {})[section] = (
                    earlier[section]["system"]["time_utc"])
    if args.write_json:
        Path(args.write_json).write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    if not args.update:
        print(text)
        return
    path = Path(args.update)
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
