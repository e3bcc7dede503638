"""The benchmark suite's own logic: targets, op grouping, and a tiny end-to-end reward run."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import report
from benchmarks.profile_reward import group_of


def _results(percent: float, x_naive: float, of_path: float) -> dict:
    return {
        "reward": {"models": {"ViT-B-32": {
            "ceiling": {"dtype": "bfloat16"},
            "default": {"batch_size": 32, "percent_of_ceiling": percent, "x_naive": x_naive},
        }}},
        "training": {"modes": {"ours/batched": {"of_reward_path": of_path}}},
    }


def _met(results: dict) -> list[str]:
    rows = [r for r in report._targets(results) if r.startswith("| reward") or "fraction" in r]
    return [r.rsplit("|", 2)[1].strip() for r in rows]


def test_targets_are_met_or_not_as_the_ratios_say() -> None:
    assert _met(_results(85.0, 5.0, 0.9)) == ["yes", "no", "yes"]
    assert _met(_results(79.9, 6.0, 0.79)) == ["no", "yes", "no"]


def test_merge_takes_single_benchmarks_and_suites() -> None:
    single = {"benchmark": "compute_limit", "system": {"x": 1}}
    suite = {"suite": "s", "system": {"y": 2}, "command": "python -m benchmarks.run_all",
             "reward": {"models": {}}}
    merged = report.merge([single, suite])
    assert merged["compute"] is single
    assert merged["reward"]["system"] == {"y": 2}
    assert merged["reward"]["command"] == "python -m benchmarks.run_all"


def _learned_run(parts: dict, command: str) -> dict:
    system = {"time_utc": "t", "git_commit": "c", "cpu": "cpu", "cpu_count": 2,
              "torch_threads": 1, "torch": "2", "cpu_capability": "AVX2", "native_bf16": False,
              "load_average": [1.0, 1.0, 1.0]}
    from benchmarks.learned_reward import _targets

    data = {"benchmark": "learned_reward", "system": system, "command": command,
            "settings": {"seeds": [0, 1], "env_steps": 100, "eval_episodes": 20,
                         "configs": {"full": "configs/cartpole-cpu.yaml",
                                     "distill": "configs/cartpole-distill-cpu.yaml",
                                     "preference": "configs/cartpole-preference-cpu.yaml"}},
            **parts}
    data["targets"] = _targets(data)
    return data


def _method(success: list[float], frames: float, labels: float | None = None) -> dict:
    return {"seeds": [0, 1], "success": success, "min_success": min(success),
            "random_success": [0.0, 0.0], "vlm_frames_per_step": frames,
            "max_vlm_frames_per_step": frames, "env_steps_per_s": 500.0,
            "pair_labels": labels, "learned_pearson": 0.95 if frames < 1 else None}


def test_learned_reward_parts_from_two_runs_render_with_their_targets() -> None:
    quality = _learned_run({"quality": {"methods": {
        "full": _method([1.0, 1.0], 1.0), "distill": _method([1.0, 0.95], 0.15),
        "preference": _method([1.0, 0.9], 0.13, 4000)}}}, "python -m benchmarks.learned_reward")
    speed = _learned_run({"speed": {"model": "ViT-B-32/random", "env_steps": 1024,
                                    "distill_warmup_steps": 128, "speedup": 3.5, "modes": {
                                        "full": {"vlm_frames_per_step": 1.0,
                                                 "env_steps_per_s": 2.0},
                                        "distill": {"vlm_frames_per_step": 0.2,
                                                    "env_steps_per_s": 7.0}}}},
                         "python -m benchmarks.learned_reward --parts speed")
    text = report.markdown(report.merge([quality, speed]))
    assert "PYTHONPATH=src python -m benchmarks.learned_reward --parts speed" in text
    rows = {line.split("|")[1].strip(): line.split("|")[-2].strip()
            for line in text.splitlines() if line.startswith("| distilled") or
            line.startswith("| preference:")}
    assert rows == {
        "distilled: success of the full VLM on every seed": "no",  # 95 % < 100 % on seed 1
        "distilled: VLM frames per env step (max over seeds)": "yes",
        "preference: success on every seed": "yes",
        "preference: pair labels (max over seeds)": "yes",
        "distilled: env steps/s x full": "yes",
    }
    assert "| preference | `configs/cartpole-preference-cpu.yaml` | 100 / 90 % |" in text
    # a newer run of one part replaces the older one of that part only
    newer = dict(speed, command="python -m benchmarks.learned_reward --parts speed --new")
    parts = report.merge([quality, speed, newer])["learned"]["parts"]
    assert [p["command"] for p in parts] == [quality["command"], newer["command"]]


def test_learned_reward_targets_of_a_partial_run_wait_for_every_seed() -> None:
    # written after every run: seed 1 has its full run but not yet its distilled one
    partial = _learned_run({"quality": {"methods": {
        "full": _method([1.0, 1.0], 1.0), "distill": _method([1.0], 0.15)}}}, "cmd")
    assert partial["targets"]["distill_same_success_as_full"]["met"] is False
    done = _learned_run({"quality": {"methods": {
        "full": _method([1.0, 1.0], 1.0), "distill": _method([1.0, 1.0], 0.15)}}}, "cmd")
    assert done["targets"]["distill_same_success_as_full"]["met"] is True


@pytest.mark.parametrize(("op", "group"), [
    ("aten::addmm", "matmul"), ("aten::mm", "matmul"), ("aten::bmm", "matmul"),
    ("aten::_softmax", "attention"), ("aten::_transform_bias_rescale_qkv", "attention"),
    ("aten::sigmoid", "activation"), ("aten::silu", "activation"),
    ("aten::native_layer_norm", "layer_norm"), ("aten::_upsample_bicubic2d_aa", "preprocess"),
    ("aten::mul", "elementwise"), ("aten::empty", "other"),
])
def test_profile_groups(op: str, group: str) -> None:
    assert group_of(op) == group


@pytest.mark.slow
def test_reward_throughput_reports_ceiling_share_and_x_naive(tmp_path: Path) -> None:
    from benchmarks import reward_throughput

    from tiny_models import register_tiny_arch

    arch = register_tiny_arch(tmp_path)
    result = reward_throughput.run([arch], [2, None], frames=4, naive_frames=2,
                                   variants=["off", "default"], rounds=1)
    entry = result["models"][arch]
    assert entry["ceiling"]["frames_per_s"] > 0
    assert entry["default"]["batch_size"] == entry["auto_batch_size"]
    for fig in (entry["default"], *entry["batch_sweep"], *entry["variants"].values()):
        assert fig["frames_per_s"] > 0
        assert fig["percent_of_ceiling"] == pytest.approx(
            100 * fig["frames_per_s"] / entry["ceiling"]["frames_per_s"])
        assert fig["x_naive"] == pytest.approx(fig["frames_per_s"] / entry["naive_frames_per_s"])
    assert entry["variants"]["off"]["applied"] == []
    assert f"| {arch} | variant `off`" in report.markdown(report.merge([result]))


def test_gpu_suite_script_is_valid_bash_and_installs_offline() -> None:
    import subprocess

    script = Path(__file__).parents[1] / "benchmarks" / "gpu_suite.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    assert "--no-index --find-links" in script.read_text()


def test_gpu_suite_without_cuda_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from benchmarks import gpu_suite

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA device"):
        gpu_suite.run(["ViT-B-32"], frames=1, rounds=1, train_steps=0, n_envs=1, n_steps=1)
