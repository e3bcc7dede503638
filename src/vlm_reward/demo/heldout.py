"""Held-out evaluation of the demo model: retrieval and reward shapes on fresh states.

Held-out states are sampled with a seed the training never uses; the reward prompts in
:data:`~vlm_reward.demo.captions.HELDOUT_PROMPTS` never occur verbatim in training captions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.atomic import atomic_open, atomic_write_json

__all__ = ["PEAK_CART_POSITIONS", "cartpole_angle_sweep", "cartpole_peak_angles",
           "cartpole_position_sweep", "evaluate_demo_model", "mountaincar_position_sweep",
           "retrieval_accuracy", "scene_frames", "scene_rewards"]

HELDOUT_SEED = 12345
PEAK_CART_POSITIONS: tuple[float, ...] = (-1.0, 0.0, 1.0)
"""cart positions at which the upright prompt's reward peak is located"""
# one held-out phrasing per class, for retrieval
RETRIEVAL_PROMPTS = {
    "cartpole": {
        "upright": "a cart with its pole held straight up",
        "lean_left": "a pole that leans slightly left",
        "lean_right": "a pole that leans slightly right",
        "fallen_left": "a pole lying down on the left",
        "fallen_right": "a pole lying down on the right",
        "down": "a pole hanging beneath the cart",
    },
    "mountaincar": {
        "left_slope": "a car up on the left hillside",
        "valley": "a car at the lowest point of the valley",
        "climbing": "a car going up the right hill",
        "near_top": "a car close to the hilltop flag",
        "flag": "a car beside the flag at the summit",
    },
}


def scene_frames(scene: str, states: np.ndarray) -> np.ndarray:
    """Frames ``(n, H, W, 3)`` of ``scene`` showing each of ``states``, at the demo size."""
    from vlm_reward.demo.scenes import make_scene_env, render_states

    env = make_scene_env(scene)
    try:
        return np.concatenate(list(render_states(env, states)))
    finally:
        env.close()


def scene_rewards(embedder: Any, scene: str, states: np.ndarray, goal: list[str],
                  baseline: list[str] | None = None, alpha: float = 0.0) -> np.ndarray:
    """Goal-baseline reward of the frames that show ``states`` of ``scene``."""
    from vlm_reward.reward import RewardModel

    rm = RewardModel.from_prompts(embedder, goal, baseline, alpha)
    return rm.rewards(scene_frames(scene, states))


def cartpole_angle_sweep(embedder: Any, prompts: list[str], n: int = 73, x: float = 0.0):
    """Reward (cosine, alpha 0) of each prompt set vs pole angle in [-pi, pi], cart at ``x``."""
    angles = np.linspace(-np.pi, np.pi, n)
    states = np.stack([np.full(n, x), np.zeros(n), angles, np.zeros(n)], axis=1)
    return angles, scene_rewards(embedder, "cartpole", states, prompts)


def cartpole_peak_angles(embedder: Any, prompt: str,
                         xs: tuple[float, ...] = PEAK_CART_POSITIONS) -> dict[float, float]:
    """Angle (degrees, 1-degree grid over the full circle) where ``prompt``'s reward peaks, for
    the cart at each of ``xs``: a pose prompt that ignores the cart must peak at the same pose
    wherever the cart stands."""
    peaks = {}
    for x in xs:
        angles, r = cartpole_angle_sweep(embedder, [prompt], n=361, x=x)
        peaks[x] = float(np.round(np.degrees(angles[np.argmax(r)]), 6))
    return peaks


def cartpole_position_sweep(embedder: Any, prompts: list[str], n: int = 9, theta: float = 0.0):
    """Reward vs cart position along the track, pole at ``theta``: the goal says nothing about
    the cart, so a good reward is nearly flat here (else the agent is paid to drift)."""
    xs = np.linspace(-2.2, 2.2, n)
    states = np.stack([xs, np.zeros(n), np.full(n, theta), np.zeros(n)], axis=1)
    return xs, scene_rewards(embedder, "cartpole", states, prompts)


def mountaincar_position_sweep(embedder: Any, goal: list[str], baseline: list[str] | None = None,
                               alpha: float = 0.0, n: int = 60):
    """Reward vs car position in [-1.2, 0.6]."""
    pos = np.linspace(-1.2, 0.6, n)
    states = np.stack([pos, np.zeros(n)], axis=1)
    return pos, scene_rewards(embedder, "mountaincar", states, goal, baseline, alpha)


def retrieval_accuracy(embedder: Any, n_per_scene: int = 300, k: int = 10) -> dict[str, float]:
    """Frame->class accuracy and text->frame precision@k on held-out states, per scene."""
    from vlm_reward.demo.captions import car_class, pole_class
    from vlm_reward.demo.scenes import sample_states

    rng = np.random.default_rng(HELDOUT_SEED)
    out: dict[str, float] = {}
    for scene, prompts in RETRIEVAL_PROMPTS.items():
        states = sample_states(scene, n_per_scene, rng)
        frames = scene_frames(scene, states)
        labels = np.array([pole_class(s[2]) if scene == "cartpole" else car_class(s[0])
                           for s in states])
        names = list(prompts)
        sim = (embedder.encode_images(frames) @ embedder.encode_text(list(prompts.values())).T)
        sim = sim.numpy()
        pred = np.array(names)[sim.argmax(1)]
        out[f"{scene}/frame_to_class_accuracy"] = float((pred == labels).mean())
        precs = []
        for j, name in enumerate(names):
            top = np.argsort(-sim[:, j])[:k]
            precs.append(float((labels[top] == name).mean()))
        out[f"{scene}/text_to_frame_precision@{k}"] = float(np.mean(precs))
        out[f"{scene}/chance_accuracy"] = float(np.max(np.unique(labels, return_counts=True)[1])
                                                / len(labels))
    return out


def evaluate_demo_model(spec: str = "demo", out_dir: Path | None = None) -> dict[str, Any]:
    """Run every held-out check, write plots (and results JSON) to ``out_dir`` if given."""
    from vlm_reward.demo.captions import HELDOUT_PROMPTS
    from vlm_reward.models import load_model

    emb = load_model(spec, device="cpu", precision="fp32")
    res: dict[str, Any] = retrieval_accuracy(emb)
    angles, r_cp = cartpole_angle_sweep(emb, HELDOUT_PROMPTS["cartpole_goal"][:1])
    for x, deg in cartpole_peak_angles(emb, HELDOUT_PROMPTS["cartpole_goal"][0]).items():
        res[f"cartpole/argmax_angle_deg_at_x={x:+g}"] = deg
    res["cartpole/corr_reward_vs_abs_angle"] = float(np.corrcoef(np.abs(angles), r_cp)[0, 1])
    res["cartpole/reward_upright_minus_fallen"] = float(
        r_cp[np.abs(angles) < 0.1].mean() - r_cp[np.abs(np.abs(angles) - np.pi / 2) < 0.1].mean()
    )
    _, r_x = cartpole_position_sweep(emb, HELDOUT_PROMPTS["cartpole_goal"][:1])
    res["cartpole/upright_reward_range_over_cart_position"] = float(r_x.max() - r_x.min())
    pos, r_mc = mountaincar_position_sweep(emb, HELDOUT_PROMPTS["mountaincar_goal"][:1])
    _, r_mc_gb = mountaincar_position_sweep(emb, HELDOUT_PROMPTS["mountaincar_goal"][:1],
                                            HELDOUT_PROMPTS["mountaincar_baseline"], alpha=0.5)
    res["mountaincar/corr_reward_vs_position"] = float(np.corrcoef(pos, r_mc)[0, 1])
    res["mountaincar/corr_reward_vs_position_alpha0.5"] = float(np.corrcoef(pos, r_mc_gb)[0, 1])
    res["mountaincar/argmax_position"] = float(pos[np.argmax(r_mc)])
    if out_dir is not None:
        _plot(out_dir, angles, r_cp, pos, r_mc, r_mc_gb)
        atomic_write_json(out_dir / "demo_heldout_results.json", res)
    return res


def _plot(out_dir: Path, angles, r_cp, pos, r_mc, r_mc_gb) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vlm_reward.demo.captions import HELDOUT_PROMPTS

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.degrees(angles), r_cp)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set(xlabel="pole angle (degrees, + = right)", ylabel="reward (cosine)",
           title=f'"{HELDOUT_PROMPTS["cartpole_goal"][0]}"')
    fig.tight_layout()
    _save_png(fig, out_dir / "demo_cartpole_reward_vs_angle.png")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(pos, r_mc, label="alpha=0")
    ax.plot(pos, r_mc_gb, label='alpha=0.5, baseline "a car in the mountain"')
    ax.axvline(0.45, color="gold", lw=1, label="flag")
    ax.set(xlabel="car position", ylabel="reward", title="goal: a car at the peak ... yellow flag")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save_png(fig, out_dir / "demo_mountaincar_reward_vs_position.png")
    plt.close(fig)


def _save_png(fig, path: Path) -> None:
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)
