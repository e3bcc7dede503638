"""Train the bundled demo model: a tiny open_clip ViT + text transformer, CLIP InfoNCE loss.

Frames come from this project's CartPole and MountainCar renders (true states sampled at
random), captions from :mod:`vlm_reward.demo.captions`. Targets are soft: a caption counts as a
partial positive for every frame whose true state is close to the caption's own state, so the
learnt similarity falls off smoothly with the distance in state (reward shaping), not in steps.
The bundled model is two runs of :func:`train_demo_model`: broad Gaussian targets from a random
initialisation, then a short fine-tuning stage (``init``) with sharp Laplace targets and
left-right mirrored CartPole frames, which places the upright peak within a few degrees of 0
wherever the cart stands (docs/demo_model_card.md). The result is saved in open_clip's
``local-dir`` format and loads like any user checkpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vlm_reward.atomic import atomic_open, atomic_write_json
from vlm_reward.errors import ConfigError

__all__ = [
    "DEMO_MODEL_CFG", "DEMO_PREPROCESS_CFG", "TrainArgs", "build_dataset", "caption_distance",
    "train_demo_model",
]

DEMO_MODEL_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": [48, 72], "layers": 3, "width": 64, "patch_size": 8,
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
    states_per_scene: int = 4000
    """rendered frames per environment"""
    steps: int = 3000
    """optimiser steps"""
    batch_size: int = 128
    lr: float = 3e-4
    threads: int = 1
    """torch threads; 1 is fastest on a shared, oversubscribed CPU"""
    mirror: bool = True
    """flip half of each batch's CartPole frames left-right with the mirrored state
    (x -> -x, angle -> -angle) and a caption written for it, so the angle response is symmetric"""
    init: Path | None = None
    """start from the weights of this demo-model folder instead of a random initialisation"""
    angle_scale: float = 0.06
    """pole-angle difference (radians) that counts as one unit of caption distance"""
    kernel: str = "laplace"
    """soft-target shape over the state distance d: "laplace" exp(-d) keeps a cusp at the
    caption's state (a sharp peak), "gauss" exp(-d^2) is flat at the top"""

    def __post_init__(self) -> None:
        if self.kernel not in ("laplace", "gauss"):
            raise ConfigError(f"kernel: expected 'laplace' or 'gauss', got {self.kernel!r}")
        if self.angle_scale <= 0:
            raise ConfigError(f"angle_scale: expected a positive angle in radians, "
                              f"got {self.angle_scale}")


def caption_distance(
    img_scene: np.ndarray, img_states: np.ndarray,
    cap_scene: np.ndarray, cap_states: np.ndarray, cap_mentions_cart: np.ndarray,
    angle_scale: float = 0.25,
) -> np.ndarray:
    """Distance (n_images, n_captions) from each frame's true state to what each caption says.

    Pole angles are divided by ``angle_scale`` (radians), cart offsets by 1.5 and car
    positions by 0.15; infinite across scenes. A CartPole caption is
    only compared on the cart position when it mentions the cart, so "the pole is upright" is a
    positive for upright poles wherever the cart stands.
    """
    d = np.full((len(img_scene), len(cap_scene)), np.inf, dtype=np.float32)
    ci, cc = img_scene == 0, cap_scene == 0
    if ci.any() and cc.any():
        dth = np.angle(np.exp(1j * (img_states[ci, 2][:, None] - cap_states[cc, 2][None, :])))
        dx = (img_states[ci, 0][:, None] - cap_states[cc, 0][None, :]) * cap_mentions_cart[cc]
        d[np.ix_(ci, cc)] = np.sqrt((dth / angle_scale) ** 2 + (dx / 1.5) ** 2)
    mi, mc = img_scene == 1, cap_scene == 1
    if mi.any() and mc.any():
        d[np.ix_(mi, mc)] = np.abs(img_states[mi, 0][:, None] - cap_states[mc, 0][None, :]) / 0.15
    return d


def build_dataset(states_per_scene: int, seed: int):
    """Render frames for random states; returns preprocessed images, scene ids and states."""
    import torch
    from rich.progress import track

    from vlm_reward.demo.scenes import RENDER_SIZE, make_scene_env, render_states, sample_states
    from vlm_reward.preprocess import ImagePreprocess, as_frame_batch

    pre = ImagePreprocess(size=RENDER_SIZE, mean=tuple(DEMO_PREPROCESS_CFG["mean"]),
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
        cartpole_caption_parts,
        mountaincar_caption,
    )

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    images, scene_ids, states = build_dataset(args.states_per_scene, args.seed)
    t_data = time.time() - t0
    model = open_clip.CLIP(**DEMO_MODEL_CFG)
    if args.init is not None:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(Path(args.init) / "open_clip_model.safetensors"))
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
            batch, batch_states = images[idx], states[idx].copy()
            if args.mirror:
                flip = (scene_ids[idx] == 0) & (rng.random(len(idx)) < 0.5)
                batch = _mirror(batch, flip)
                batch_states[flip, 0] *= -1
                batch_states[flip, 2] *= -1
            caps, mentions_cart = [], np.zeros(len(idx), dtype=bool)
            for k, i in enumerate(idx):
                if scene_ids[i] == 0:
                    cap, mentions_cart[k] = cartpole_caption_parts(batch_states[k], rng)
                else:
                    cap = mountaincar_caption(batch_states[k, :2], rng)
                caps.append(cap)
            # caption k was written for frame k; other frames in the batch are soft positives
            # in proportion to how well the caption fits their true state
            dist = caption_distance(scene_ids[idx], batch_states, scene_ids[idx], batch_states,
                                    mentions_cart, args.angle_scale)
            dist = torch.from_numpy(dist)
            penalty = dist if args.kernel == "laplace" else dist**2
            target_img = torch.softmax(-penalty, dim=1)  # each frame over the captions
            target_txt = torch.softmax(-penalty.T, dim=1)  # each caption over the frames
            tokens = vocab_tokens[[token_row[c] for c in caps]]
            img_f, txt_f, scale = model(batch, tokens)
            logits = scale * img_f @ txt_f.T
            loss = 0.5 * (
                -(target_img * F.log_softmax(logits, 1)).sum(1).mean()
                - (target_txt * F.log_softmax(logits.T, 1)).sum(1).mean()
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


def _mirror(images, rows: np.ndarray):
    """``images`` (n, C, H, W) with the frames in ``rows`` flipped left-right (a copy)."""
    import torch

    out = images.clone()
    sel = torch.from_numpy(np.flatnonzero(rows))
    out[sel] = torch.flip(images[sel], dims=[3])
    return out


def _save(model, out: Path) -> None:
    """Write the open_clip local-dir folder, each file via a temp file and rename."""
    from safetensors.torch import save

    out.mkdir(parents=True, exist_ok=True)
    cfg = {"model_cfg": DEMO_MODEL_CFG, "preprocess_cfg": DEMO_PREPROCESS_CFG}
    atomic_write_json(out / "open_clip_config.json", cfg)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_open(out / "open_clip_model.safetensors", "wb") as fh:
        fh.write(save(state))
