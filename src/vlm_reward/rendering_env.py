"""Create any Gymnasium env so that it renders ``rgb_array`` frames, at the VLM's size if it can.

One place for what training (:mod:`vlm_reward.training.env_factory`), the README example and
``vlm-reward render`` all need, with errors that say what to fix: an unknown id lists the
closest registered ids, an env that cannot render ``rgb_array`` says so, a missing package
is named. Rendering close to the model's input size (e.g. 224x224) instead of
large-then-shrunk saves render time, memory in deferred buffers and resize time; envs with a
fixed canvas (the classic-control ones) are left at their size and the model resizes.

Example:
    >>> from vlm_reward.rendering_env import make_rendering_env
    >>> env = make_rendering_env("vlm_reward/CartPole-v0", (48, 64))
    >>> _ = env.reset(seed=0)
    >>> env.render().shape
    (48, 64, 3)
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any

import gymnasium as gym

from vlm_reward.errors import ConfigError, EnvError

__all__ = ["make_rendering_env", "render_size_kwargs", "takes_render_size"]


def _close_ids(env_id: str, ids: list[str]) -> list[str]:
    lowered = {i.lower(): i for i in ids}
    hits = difflib.get_close_matches(env_id.lower(), list(lowered), n=5, cutoff=0.5)
    short = env_id.split("/")[-1].split("-v")[0].lower()
    hits += [k for k in lowered if short and short in k and k not in hits][: 5 - len(hits)]
    return [lowered[h] for h in hits]


def _env_creator(env_id: str) -> tuple[str, Any]:
    """``(registered id, constructor)`` of ``env_id``; imports ``module:`` prefixes first."""
    import vlm_reward.envs  # noqa: F401  (registers the paper's ids)

    if ":" in env_id:  # gymnasium's "module:EnvId" form imports the module that registers it
        module, env_id = env_id.split(":", 1)
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise EnvError(f"env id: cannot import module {module!r}: {exc}") from None
    if env_id not in gym.registry:
        close = _close_ids(env_id, sorted(gym.registry))
        hint = f" Close ids: {', '.join(close)}." if close else ""
        raise EnvError(f"unknown environment id {env_id!r} (not registered with Gymnasium).{hint}")
    entry = gym.spec(env_id).entry_point
    try:
        creator = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    except ImportError as exc:
        raise EnvError(
            f"environment {env_id!r} needs a package that is not installed: {exc}"
        ) from None
    except gym.error.Error as exc:
        raise EnvError(f"cannot load environment {env_id!r}: {exc}") from None
    return env_id, creator


def _accepts_width_height(creator: Any) -> bool:
    """True if the env constructor (or, via ``**kwargs``, a base class) takes width/height."""
    candidates = list(inspect.getmro(creator)) if inspect.isclass(creator) else [creator]
    for obj in candidates:
        func = obj.__init__ if inspect.isclass(obj) else obj
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            return False
        if "width" in params and "height" in params:
            return True
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return False
    return False


def takes_render_size(env_id: str) -> bool:
    """True if ``env_id``'s constructor takes ``width``/``height`` (it renders at any size)."""
    _, creator = _env_creator(env_id)
    return creator is not None and _accepts_width_height(creator)


def _size_kwargs(creator: Any, size: tuple[int, int] | None) -> dict[str, int]:
    if size is None or creator is None or not _accepts_width_height(creator):
        return {}
    return {"width": int(size[1]), "height": int(size[0])}


def render_size_kwargs(env_id: str, size: tuple[int, int] | None) -> dict[str, int]:
    """``{"width": w, "height": h}`` for ``size = (h, w)`` if the env takes them, else ``{}``."""
    return _size_kwargs(_env_creator(env_id)[1], size) if size is not None else {}


def make_rendering_env(
    env_id: str, size: tuple[int, int] | None = None, **kwargs: Any
) -> gym.Env:
    """``gymnasium.make(env_id, render_mode="rgb_array", ...)`` rendering at ``size`` if it can.

    Args:
        env_id: registered env id (or gymnasium's ``module:EnvId``).
        size: desired frame (height, width), e.g. :func:`vlm_reward.wrappers.model_input_size`
            of the reward model; ignored for envs whose constructor has no width/height.
        **kwargs: passed to ``gymnasium.make`` (explicit width/height here win over ``size``).

    Raises:
        EnvError: unknown id, a missing package, or an env that cannot render ``rgb_array``.
        ConfigError: ``kwargs`` the env's constructor does not accept.
    """
    if "render_mode" in kwargs and kwargs["render_mode"] != "rgb_array":
        raise EnvError(f"render_mode: VLM rewards need 'rgb_array', got {kwargs['render_mode']!r}")
    kwargs.pop("render_mode", None)
    name, creator = _env_creator(env_id)
    metadata = getattr(creator, "metadata", None)  # env classes have it; factory functions not
    modes = metadata.get("render_modes", []) if isinstance(metadata, dict) else None
    if modes is not None and "rgb_array" not in modes:
        raise EnvError(
            f"environment {name!r} cannot render 'rgb_array' frames (its render modes: "
            f"{modes or 'none'}); the VLM reward needs an env that renders images"
        )
    make_kwargs = {**_size_kwargs(creator, size), **kwargs}
    try:
        env = gym.make(env_id, render_mode="rgb_array", **make_kwargs)
    except TypeError as exc:
        raise ConfigError(f"{name}: does not accept these arguments: {exc}") from None
    except gym.error.Error as exc:
        raise EnvError(f"{name}: cannot create it with render_mode='rgb_array': {exc}") from None
    if env.render_mode != "rgb_array":
        env.close()
        raise EnvError(f"{name}: does not support render_mode='rgb_array'")
    return env
