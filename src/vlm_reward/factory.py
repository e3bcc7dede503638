"""Turn config sections into live objects: the one place a ``reward:`` becomes a RewardModel.

It sits above the schemas (:mod:`vlm_reward.config`) and the things it builds (local
embedders from :mod:`vlm_reward.models`, Ray embedders from :mod:`vlm_reward.distributed`,
reward families from :mod:`vlm_reward.reward`, goal frames rendered by
:mod:`vlm_reward.rendering_env`), so the schema module stays pure data and training,
evaluation and the demo share one builder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vlm_reward.config import EnvConfig, RewardConfig
from vlm_reward.distributed import RayEmbedder
from vlm_reward.errors import ConfigError, EnvError
from vlm_reward.models import Embedder, load_model
from vlm_reward.rendering_env import make_rendering_env
from vlm_reward.reward import (
    EpisodeReward,
    FrameReward,
    GoalBaselineReward,
    NegativesReward,
    RewardMix,
    RewardModel,
    WindowReward,
    mix_goals,
)
from vlm_reward.wrappers import check_frame, model_input_size

__all__ = [
    "build_embedder",
    "build_frame_reward",
    "build_reward_model",
    "check_reward_fits_episode",
    "goal_frames_from_files",
    "goal_frames_from_states",
]


def build_embedder(cfg: RewardConfig) -> Embedder:
    """Load the configured VLM, locally or on Ray actors (``reward.backend``)."""
    if cfg.backend == "ray":
        if cfg.model.startswith("xclip:"):
            raise ConfigError(
                "reward.model: video models (xclip:) run on the local backend only; use "
                "backend: local"
            )
        if cfg.fast_path is not None:
            raise ConfigError(
                "reward.fast_path: only the local backend applies fast-path switches; "
                "remove reward.fast_path or use backend: local"
            )
        return RayEmbedder.create(
            cfg.model,
            num_workers=cfg.num_workers,
            num_cpus_per_worker=cfg.num_cpus_per_worker,
            num_gpus_per_worker=cfg.num_gpus_per_worker,
            device=cfg.device,
            precision=cfg.precision,
            batch_size=cfg.batch_size or 64,  # the driver chunks frames before workers start
            address=cfg.ray_address,
        )
    return load_model(
        cfg.model, device=cfg.device, precision=cfg.precision, batch_size=cfg.batch_size,
        fast_path=cfg.fast_path,
    )


def build_reward_model(cfg: RewardConfig, env: EnvConfig | None = None) -> RewardModel:
    """The configured embedder, reward family and mix.

    Args:
        cfg: the ``reward:`` section.
        env: the ``env:`` section; needed only to render ``goal_states``.
    """
    embedder = build_embedder(cfg)
    try:
        reward = build_frame_reward(cfg, embedder, env)
    except BaseException:
        embedder.close()
        raise
    mix = RewardMix(
        vlm_weight=cfg.vlm_weight, env_weight=cfg.env_weight, normalize=cfg.normalize,
        shaping_gamma=cfg.shaping_gamma if cfg.shaping else None,
    )
    return RewardModel(embedder, reward, mix)


def build_frame_reward(
    cfg: RewardConfig, embedder: Embedder, env: EnvConfig | None = None
) -> FrameReward:
    """The reward family of ``cfg.kind`` with its goal embedded by ``embedder``.

    With a video model (``embedder.is_video``) a goal video file is embedded as one clip (a
    demonstration), not frame by frame, and the window and episode families score their
    clips' video embeddings (``embedder.encode_clips``) instead of mean frame embeddings.
    """
    text_goal = None
    if cfg.goal is not None:
        text_goal = embedder.encode_text([cfg.goal] if isinstance(cfg.goal, str) else cfg.goal)
    images = []
    if cfg.goal_images:
        images += [embedder.encode_clips([f]) if embedder.is_video and len(f) > 1
                   else embedder.encode_images(f) for f in goal_frames_from_files(cfg.goal_images)]
    if cfg.goal_states:
        if env is None:
            raise ConfigError(
                "reward.goal_states: rendering them needs an env (a run config's env section, "
                "or the env of an eval dataset or sweep); here give the goal as goal_images"
            )
        images.append(embedder.encode_images(
            goal_frames_from_states(env, cfg.goal_states, model_input_size(embedder))
        ))
    image_goal = torch.cat(images) if images else None
    weight = cfg.goal_image_weight
    if weight is None:
        weight = 1.0 if text_goal is None else 0.5
    goal = mix_goals(text_goal, image_goal, weight)

    inner: FrameReward
    if cfg.negatives:
        temperature = cfg.temperature
        if temperature is None:
            temperature = embedder.logit_scale
            if temperature is None:
                raise ConfigError(
                    f"reward.temperature: {embedder.name!r} exposes no logit scale to use as "
                    "the softmax temperature; set reward.temperature (CLIP's is about 100)"
                )
        inner = NegativesReward(goal, embedder.encode_text(cfg.negatives), float(temperature),
                                cfg.subtract_chance)
    else:
        baseline = None
        if cfg.baseline is not None:
            texts = [cfg.baseline] if isinstance(cfg.baseline, str) else cfg.baseline
            baseline = embedder.encode_text(texts)
        inner = GoalBaselineReward(goal, baseline, cfg.alpha)
    clip_encoder = embedder.encode_clips if embedder.is_video else None
    if cfg.kind == "window" and cfg.window is not None:  # the config pairs the two
        return WindowReward(inner, cfg.window, clip_encoder)
    if cfg.kind == "episode":
        return EpisodeReward(inner, cfg.episode_stride, clip_encoder)
    return inner


def check_reward_fits_episode(cfg: RewardConfig, max_episode_steps: int | None) -> None:
    """A window longer than the episode never fills: say so before training starts."""
    if cfg.window is not None and max_episode_steps is not None and (
        cfg.window > max_episode_steps
    ):
        raise ConfigError(
            f"reward.window: {cfg.window} frames is longer than the env's episodes "
            f"({max_episode_steps} steps); use a window of at most {max_episode_steps}"
        )


def goal_frames_from_files(paths: list[str]) -> list[np.ndarray]:
    """uint8 ``(N, H, W, 3)`` frames of each image (N = 1) or video file, in order."""
    import imageio.v3 as iio

    out = []
    for i, name in enumerate(paths):
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(f"reward.goal_images[{i}]: {str(path)!r} is not a file")
        try:
            data = np.asarray(iio.imread(path))
        except Exception as exc:  # imageio raises many types for unreadable files
            raise ConfigError(
                f"reward.goal_images[{i}]: {str(path)!r} is not an image or video that can be "
                f"read ({type(exc).__name__}); use PNG, JPG or MP4"
            ) from None
        if data.dtype != np.uint8:
            raise ConfigError(f"reward.goal_images[{i}]: {str(path)!r}: expected 8-bit colour")
        if data.ndim == 2:  # greyscale image
            data = np.repeat(data[..., None], 3, axis=-1)
        if data.ndim == 3 and data.shape[-1] in (3, 4):
            data = data[None]
        if data.ndim == 4 and data.shape[-1] == 4:
            data = data[..., :3]  # drop alpha
        if data.ndim != 4 or data.shape[-1] != 3:
            raise ConfigError(
                f"reward.goal_images[{i}]: {str(path)!r} has shape {data.shape}; expected an "
                "RGB image or video"
            )
        out.append(np.ascontiguousarray(data))
    return out


def goal_frames_from_states(
    env_cfg: EnvConfig, states: list[dict[str, float]], size: tuple[int, int] | None
) -> np.ndarray:
    """Frames of the training env put in each state (unnamed state variables are 0)."""
    env = make_rendering_env(env_cfg.id, env_cfg.render_size or size, **env_cfg.kwargs)
    try:
        env.reset(seed=0)
        unwrapped = env.unwrapped
        names = getattr(unwrapped, "state_names", None)
        setter = getattr(unwrapped, "set_state", None)
        if names is None or not callable(setter):
            raise EnvError(
                f"reward.goal_states: {env_cfg.id} has no set_state/state_names; give the goal "
                "as goal_images instead"
            )
        frames = []
        for i, state in enumerate(states):
            unknown = sorted(set(state) - set(names))
            if unknown:
                raise ConfigError(
                    f"reward.goal_states[{i}]: unknown state variable(s) {unknown}; "
                    f"{env_cfg.id} has {list(names)}"
                )
            setter(np.array([float(state.get(n, 0.0)) for n in names]))
            frames.append(check_frame(env.render(), env_cfg.id))
        return np.stack(frames)
    finally:
        env.close()
