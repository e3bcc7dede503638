"""Train the bundled demo model: a tiny open_clip ViT + text transformer, CLIP InfoNCE loss.

Frames come from this project's CartPole and MountainCar renders (true states sampled at
random), captions from :mod:`vlm_reward.demo.captions`. Targets are soft: a caption counts as a
partial positive for every frame whose true state is close to the caption's own state, so the
learnt similarity falls off smoothly with the distance in state (reward shaping), not in steps.
The result is saved in open_clip's ``local-dir`` format and loads like any user checkpoint.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DEMO_MODEL_CFG", "DEMO_PREPROCESS_CFG", "TrainArgs", "build_dataset", "train_demo_model",
]

DEMO_MODEL_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": [48, 72], "layers": 3, "width": 64, "patch_size": 12,
                   "head_width": 32},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
DEMO_PREPROCESS_CFG = {
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic",
    "resize_mode": "squash",  # keep the whole track: a centre crop would cut the cart off
}


@dataclass
class TrainArgs:
    """Settings of one demo-model training run."""

    out: Path
    """folder to write open_clip_config.json + open_clip_model.safetensors to"""
    seed: int = 0
    """drives state sampling, captions, initialisation and batches"""
    states_per_scene: int = 800
    """rendered frames per environment"""
    steps: int = 400
    """optimiser steps"""
    batch_size: int = 64
    lr: float = 2e-4
    threads: int = 1
    """torch threads; 1 is fastest on a shared, oversubscribed CPU"""
    cache: Path | None = None
    """optional .pt file to keep the rendered dataset in between runs (same seed and size)"""


def _descriptor_distance(scene_id: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Pairwise distance of true states (inf across scenes), scaled so ~1 = a different class."""
    n = len(scene_id)
    d = np.full((n, n), np.inf, dtype=np.float32)
    cp = scene_id == 0
    if cp.any():
        th = states[cp, 2]
        dth = np.angle(np.exp(1j * (th[:, None] - th[None, :])))
        dx = states[cp, 0][:, None] - states[cp, 0][None, :]
        d[np.ix_(cp, cp)] = np.sqrt((dth / 0.25) ** 2 + (dx / 1.5) ** 2)
    mc = scene_id == 1
    if mc.any():
        p = states[mc, 0]
        d[np.ix_(mc, mc)] = np.abs(p[:, None] - p[None, :]) / 0.15
    return d


def build_dataset(states_per_scene: int, seed: int, size=(48, 72)):
    """Render frames for random states; returns preprocessed images, scene ids and states."""
    import torch
    from rich.progress import track

    from vlm_reward.demo.scenes import make_scene_env, render_states, sample_states
    from vlm_reward.preprocess import ImagePreprocess, as_frame_batch

    pre = ImagePreprocess(size=size, mean=tuple(DEMO_PREPROCESS_CFG["mean"]),
                          std=tuple(DEMO_PREPROCESS_CFG["std"]), resize_mode="squash")
    rng = np.random.default_rng(seed)
    images, scene_ids, all_states = [], [], []
    for sid, scene in enumerate(("cartpole", "mountaincar")):
        env = make_scene_env(scene)
        states = sample_states(scene, states_per_scene, rng)
        chunks = list(range(0, len(states), 256))
        it = render_states(env, states)
        for _ in track(chunks, description=f"rendering {scene}"):
            images.append(pre(as_frame_batch(next(it))))
        env.close()
        padded = np.zeros((len(states), 4))
        padded[:, : states.shape[1]] = states
        all_states.append(padded)
        scene_ids.append(np.full(len(states), sid))
    return torch.cat(images), np.concatenate(scene_ids), np.concatenate(all_states)


def train_demo_model(args: TrainArgs) -> dict:
    """Train and save the demo model; returns a summary (loss curve, wall time)."""
    import open_clip
    import torch
    import torch.nn.functional as F
    from rich.progress import Progress

    from vlm_reward.demo.captions import (
        all_training_captions,
        cartpole_caption,
        mountaincar_caption,
    )

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    key = f"{args.seed}-{args.states_per_scene}"
    data = None
    if args.cache is not None and args.cache.exists():
        data = torch.load(args.cache, weights_only=False)  # our own file, holds numpy arrays
    if data is not None and data["key"] == key:
        images, scene_ids, states = data["images"], data["scene_ids"], data["states"]
    else:
        images, scene_ids, states = build_dataset(args.states_per_scene, args.seed)
        if args.cache is not None:
            torch.save({"key": key, "images": images, "scene_ids": scene_ids,
                        "states": states}, args.cache)
    t_data = time.time() - t0
    model = open_clip.CLIP(**DEMO_MODEL_CFG)
    model.token_embedding.sparse = True  # only the few caption tokens get gradients
    tokenizer = open_clip.get_tokenizer("ViT-B-32", context_length=32)
    vocab = sorted(all_training_captions())
    vocab_tokens = tokenizer(vocab)  # tokenise every possible caption once
    token_row = {c: i for i, c in enumerate(vocab)}
    emb_params = list(model.token_embedding.parameters())
    other = [p for n, p in model.named_parameters() if not n.startswith("token_embedding")]
    opt = torch.optim.AdamW(other, lr=args.lr, weight_decay=0.05)
    opt_emb = torch.optim.SparseAdam(emb_params, lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps,
                                                pct_start=0.1)
    rng = np.random.default_rng(args.seed + 1)
    losses = []
    model.train()
    with Progress() as progress:
        task = progress.add_task("training demo model", total=args.steps)
        for _step in range(args.steps):
            idx = rng.choice(len(images), args.batch_size, replace=False)
            caps = [
                cartpole_caption(states[i], rng) if scene_ids[i] == 0
                else mountaincar_caption(states[i, :2], rng)
                for i in idx
            ]
            dist = torch.from_numpy(_descriptor_distance(scene_ids[idx], states[idx]))
            target = torch.softmax(-(dist**2), dim=1)
            tokens = vocab_tokens[[token_row[c] for c in caps]]
            img_f, txt_f, scale = model(images[idx], tokens)
            logits = scale * img_f @ txt_f.T
            loss = 0.5 * (
                -(target * F.log_softmax(logits, 1)).sum(1).mean()
                - (target.T * F.log_softmax(logits.T, 1)).sum(1).mean()
            )
            opt.zero_grad()
            opt_emb.zero_grad()
            loss.backward()
            opt.step()
            opt_emb.step()
            sched.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, np.log(100))
            losses.append(float(loss.detach()))
            if _step % 50 == 0:
                progress.console.log(f"step {_step} loss {np.mean(losses[-50:]):.3f}")
            progress.update(task, advance=1, description=f"training demo model loss {loss:.3f}")
    model.token_embedding.sparse = False
    _save(model, args.out)
    return {"losses": losses, "data_seconds": t_data, "total_seconds": time.time() - t0,
            "args": {k: str(v) for k, v in vars(args).items()}}


def _save(model, out: Path) -> None:
    """Write the open_clip local-dir folder, each file via a temp file and rename."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    cfg = {"model_cfg": DEMO_MODEL_CFG, "preprocess_cfg": DEMO_PREPROCESS_CFG}
    tmp = out / "open_clip_config.json.tmp"
    tmp.write_text(json.dumps(cfg, indent=2) + "\n")
    os.replace(tmp, out / "open_clip_config.json")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    tmp = out / "open_clip_model.safetensors.tmp"
    save_file(state, str(tmp))
    os.replace(tmp, out / "open_clip_model.safetensors")
