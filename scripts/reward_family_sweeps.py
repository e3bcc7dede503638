"""State sweeps of every reward family with one model: the plots and figures of docs/rewards.md.

    SDL_VIDEODRIVER=dummy python scripts/reward_family_sweeps.py --model demo --out docs/images

Each family is built from a ``reward:`` config section by :mod:`vlm_reward.factory`, exactly as
training builds it, and scores frames of the project's CartPole (reward vs pole angle, cart at
x = -1, 0, 1) and MountainCar (reward vs car position). Temporal families (window, episode)
score a state sweep like their inner per-frame reward, so they are not drawn separately.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from vlm_reward.atomic import atomic_write_json
from vlm_reward.config import EnvConfig, RewardConfig
from vlm_reward.demo.heldout import scene_frames
from vlm_reward.factory import build_embedder, build_frame_reward
from vlm_reward.reward import RewardModel

CARTPOLE_GOAL = "a pole standing upright on a cart"
MOUNTAINCAR_GOAL = "a car at the peak of the mountain, next to the yellow flag"
FAMILIES = {
    "goal sentence (VLM-RM, alpha 0)": {"cartpole": {"goal": CARTPOLE_GOAL},
                                        "mountaincar": {"goal": MOUNTAINCAR_GOAL}},
    "goal + baseline (alpha 0.5)": {
        "cartpole": {"goal": CARTPOLE_GOAL, "baseline": "a pole on a cart", "alpha": 0.5},
        "mountaincar": {"goal": MOUNTAINCAR_GOAL, "baseline": "a car in the mountain",
                        "alpha": 0.5},
    },
    "negatives (softmax, model temperature)": {
        "cartpole": {"kind": "negatives", "goal": CARTPOLE_GOAL, "negatives": [
            "a pole lying flat beside the cart", "a pole that has tipped far over to one side",
            "a pole hanging down under the cart"]},
        "mountaincar": {"kind": "negatives", "goal": MOUNTAINCAR_GOAL, "negatives": [
            "a car at the bottom of the valley", "a car on the left hillside"]},
    },
    "goal image (rendered goal state)": {"cartpole": {"goal_states": [{"theta": 0.0}]},
                                         "mountaincar": {"goal_states": [{"position": 0.5}]}},
    "goal image + sentence (weight 0.5)": {
        "cartpole": {"goal": CARTPOLE_GOAL, "goal_states": [{"theta": 0.0}]},
        "mountaincar": {"goal": MOUNTAINCAR_GOAL, "goal_states": [{"position": 0.5}]},
    },
}
ENVS = {"cartpole": EnvConfig(id="vlm_reward/CartPole-v0"),
        "mountaincar": EnvConfig(id="vlm_reward/MountainCarContinuous-v0")}


def sweep(model: str, out: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    angles = np.linspace(-np.pi, np.pi, 121)
    positions = np.linspace(-1.2, 0.6, 61)
    embedder = build_embedder(RewardConfig(model=model, goal="x", device="cpu", precision="fp32"))
    results: dict = {"model": model, "families": {}}
    fig, axes = plt.subplots(len(FAMILIES), 2, figsize=(9, 2.3 * len(FAMILIES)), squeeze=False)
    for row, (label, scenes) in enumerate(FAMILIES.items()):
        entry: dict = {}
        for col, scene in enumerate(("cartpole", "mountaincar")):
            cfg = RewardConfig(model=model, device="cpu", precision="fp32", **scenes[scene])
            rm = RewardModel(embedder, build_frame_reward(cfg, embedder, ENVS[scene]))
            ax = axes[row][col]
            if scene == "cartpole":
                for x in (-1.0, 0.0, 1.0):
                    states = np.stack([np.full_like(angles, x), 0 * angles, angles, 0 * angles], 1)
                    r = rm.rewards(scene_frames("cartpole", states))
                    peak = float(np.degrees(angles[int(r.argmax())]))
                    entry[f"cartpole_peak_deg_x{x:+.0f}"] = round(peak, 1)
                    ax.plot(np.degrees(angles), r, label=f"x = {x:+.0f} (peak {peak:+.0f} deg)")
                ax.set_xlabel("pole angle (deg)")
                ax.legend(fontsize=7)
            else:
                states = np.stack([positions, 0 * positions], 1)
                r = rm.rewards(scene_frames("mountaincar", states))
                entry["mountaincar_corr_position"] = round(float(np.corrcoef(positions, r)[0, 1]),
                                                           3)
                entry["mountaincar_peak_position"] = round(float(positions[int(r.argmax())]), 3)
                ax.plot(positions, r)
                ax.axvline(0.45, color="goldenrod", ls=":", label="flag")
                ax.set_xlabel("car position")
                ax.legend(fontsize=7)
            ax.set_title(f"{label}: {scene}", fontsize=8)
        results["families"][label] = entry
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "rewards_family_sweeps.png", dpi=90)
    atomic_write_json(out / "rewards_family_sweeps.json", results)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="demo")
    p.add_argument("--out", type=Path, default=Path("docs/images"))
    a = p.parse_args()
    print(json.dumps(sweep(a.model, a.out), indent=2))


if __name__ == "__main__":
    main()
