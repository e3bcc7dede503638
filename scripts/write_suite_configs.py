"""Write the benchmark-suite run configs of ``configs/`` from the preset table.

One paper-scale GPU config per preset (``configs/<suite>-<task>.yaml``) and one CPU-sized
pipeline check per suite (``configs/<suite>-<task>-cpu.yaml``), all with the preset's goal
and baseline prompts. The written files are committed; ``tests/envs/test_suites.py`` checks
that they equal this script's output, so edit the presets or this script, then rerun:

    PYTHONPATH=src python scripts/write_suite_configs.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from vlm_reward.atomic import atomic_write_text
from vlm_reward.envs.suites.presets import PRESETS, Preset

# Reward model of the GPU configs: the paper's largest CLIP, the only one that trained its
# hardest task (DESIGN.md section 2).
GPU_MODEL = "ViT-bigG-14/laion2b_s39b_b160k"

# One task per suite gets a CPU pipeline config.
CPU_TASKS = ("metaworld-door-open", "dmc-cartpole-swingup", "atari-pong")

_SAC_GPU: dict[str, Any] = {
    "learning_rate": 0.0003,
    "batch_size": 512,
    "gamma": 0.99,
    "buffer_size": 1_000_000,
    "learning_starts": 10_000,
    "train_freq": 25,  # x 4 envs = 100 env steps per rollout
    "gradient_steps": 100,
}
# RL Zoo's Atari PPO settings (CnnPolicy on the 210x160 RGB screen).
_PPO_ATARI_GPU: dict[str, Any] = {
    "n_steps": 128,
    "n_epochs": 4,
    "batch_size": 256,
    "learning_rate": 0.00025,
    "clip_range": 0.1,
    "vf_coef": 0.5,
    "ent_coef": 0.01,
}


def _reward(preset: Preset, model: str, cpu: bool) -> dict[str, Any]:
    reward: dict[str, Any] = {"model": model, "goal": preset.goal, "baseline": preset.baseline,
                              "alpha": 0.0}
    if cpu:
        reward |= {"device": "cpu", "batch_size": 256}
    else:
        reward["batch_size"] = 64
    return reward


def gpu_config(preset: Preset) -> dict[str, Any]:
    """Paper-scale run: ViT-bigG-14, SAC (continuous) or PPO (Atari), millions of steps."""
    name = f"{preset.suite}-{preset.task}"
    env: dict[str, Any] = {"id": preset.env_id}
    if preset.suite == "atari":
        algorithm = {"name": "PPO", "policy": "CnnPolicy", "hyperparameters": _PPO_ATARI_GPU}
        n_envs, total = 8, 10_000_000
    else:
        env["kwargs"] = {"episode_length": preset.episode_length}
        algorithm = {"name": "SAC", "hyperparameters": _SAC_GPU}
        n_envs, total = 4, 1_000_000
    return {
        "name": name,
        "env": env,
        "seed": 0,
        "reward": _reward(preset, GPU_MODEL, cpu=False),
        "reward_mode": "batched",
        "algorithm": algorithm,
        "n_envs": n_envs,
        "vec_env": "subproc",
        "total_steps": total,
        "logging": {"eval_every": 50_000, "eval_episodes": 5, "video_every": 250_000,
                    "checkpoint_every": 250_000},
    }


def cpu_config(preset: Preset) -> dict[str, Any]:
    """Pipeline check with the bundled demo model: a few hundred steps, learns nothing."""
    if preset.suite == "atari":  # the 128-byte RAM as observation keeps the policy an MLP
        env = {"id": preset.env_id, "kwargs": {"episode_length": 64, "obs_type": "ram"}}
        algorithm = {"name": "PPO", "hyperparameters": {"n_steps": 64, "batch_size": 64,
                                                         "n_epochs": 2}}
    else:
        env = {"id": preset.env_id, "kwargs": {"episode_length": 50}}
        algorithm = {"name": "SAC", "hyperparameters": {
            "learning_rate": 0.0003, "batch_size": 64, "gamma": 0.99, "buffer_size": 10_000,
            "learning_starts": 100, "train_freq": 50, "gradient_steps": 10}}
    return {
        "name": f"{preset.suite}-{preset.task}-cpu",
        "env": env,
        "seed": 0,
        "reward": _reward(preset, "demo", cpu=True),
        "reward_mode": "batched",
        "algorithm": algorithm,
        "n_envs": 1,
        "total_steps": 128 if preset.suite == "atari" else 150,
        "device": "cpu",
        "logging": {"eval_every": 0, "eval_episodes": 1, "video_every": 0,
                    "checkpoint_every": 0},
    }


def _text(preset: Preset, cfg: dict[str, Any], kind: str) -> str:
    head = (
        f"# vlm-reward run config ({kind}: {preset.info.title}, task '{preset.task}'; written "
        "by scripts/write_suite_configs.py from vlm_reward.envs.suites.PRESETS).\n"
        f"# Success: {preset.success}.\n"
        "# Validate/override: vlm-reward train THIS.yaml --set key=value\n"
    )
    return head + yaml.safe_dump(cfg, sort_keys=False, width=100)


def render_configs() -> dict[str, str]:
    """File name -> text of every suite config."""
    out: dict[str, str] = {}
    for preset in PRESETS.values():
        name = f"{preset.suite}-{preset.task}"
        out[f"{name}.yaml"] = _text(preset, gpu_config(preset), "paper-scale GPU run")
        if name in CPU_TASKS:
            out[f"{name}-cpu.yaml"] = _text(
                preset, cpu_config(preset), "CPU pipeline check with the demo model"
            )
    return out


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render_configs().items():
        atomic_write_text(out_dir / name, text)
    print(f"wrote {len(render_configs())} configs to {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "configs")
