"""MuJoCo Humanoid as used in the VLM-RM paper: textured scene, no termination, tracking camera.

The paper rendered Humanoid with a textured floor, a sky and a textured body, so that CLIP
sees something closer to a photo, and let episodes run for a fixed 100 steps
(``terminate_when_unhealthy=False``: a fallen humanoid is a state to score, not an end).
This module builds that scene from Gymnasium's current Humanoid (v5) model: it rewrites the
model's XML, replacing the skybox, floor and body textures with MuJoCo built-in textures
chosen here, and renders from a camera that follows the torso in x/y at a fixed look-at
height (paper defaults: distance 3.5, look-at height 1.0, elevation -10 degrees, azimuth 180).

Rendering uses MuJoCo's OpenGL backend chosen by ``MUJOCO_GL``; on Linux without a display
this module defaults it to ``egl`` (set ``MUJOCO_GL=osmesa`` for the slower software fallback).

Example:
    >>> import gymnasium as gym
    >>> import vlm_reward.envs
    >>> env = gym.make("vlm_reward/Humanoid-v0", width=64, height=64)  # doctest: +SKIP
    >>> env.reset(seed=0)[0].shape  # doctest: +SKIP
    (348,)
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vlm_reward.envs.checks import check_episode_length, check_render_size
from vlm_reward.errors import ConfigError, DependencyNotInstalled

# A headless Linux machine has no display for MuJoCo's default GLFW backend: use EGL unless the
# user chose a backend. Must happen before mujoco is imported.
if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")

try:
    from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv as _GymHumanoid
except ImportError as exc:  # mujoco missing
    raise DependencyNotInstalled("mujoco", "mujoco", "The Humanoid environment") from exc

__all__ = ["HumanoidEnv", "textured_humanoid_xml"]

# Scene textures (MuJoCo built-ins, colours chosen for this project).
_SKY = {"type": "skybox", "builtin": "gradient", "rgb1": "0.35 0.6 0.9",
        "rgb2": "0.9 0.95 1", "width": "256", "height": "256"}
_FLOOR = {"name": "vlmrm_floor", "type": "2d", "builtin": "checker", "rgb1": "0.42 0.45 0.40",
          "rgb2": "0.62 0.65 0.58", "mark": "edge", "markrgb": "0.25 0.27 0.24",
          "width": "256", "height": "256"}
_BODY = {"name": "vlmrm_body", "type": "cube", "builtin": "gradient", "rgb1": "0.93 0.72 0.52",
         "rgb2": "0.70 0.47 0.32", "mark": "random", "random": "0.02", "markrgb": "0.6 0.4 0.3",
         "width": "128", "height": "128"}


def textured_humanoid_xml(source: str | Path | None = None) -> Path:
    """Write the textured Humanoid model and return its path.

    Reads Gymnasium's ``humanoid.xml`` (or ``source``), swaps the skybox, floor and body
    textures for this project's, and writes the result next to a content hash in the temp
    folder (written once, atomically; the mesh-free model needs no other files).
    """
    if source is None:
        import gymnasium.envs.mujoco as gym_mujoco

        source = Path(gym_mujoco.__file__).parent / "assets" / "humanoid.xml"
    root = ET.parse(source).getroot()
    asset = root.find("asset")
    if asset is None:
        asset = ET.SubElement(root, "asset")
    for tex in list(asset.findall("texture")) + list(asset.findall("material")):
        asset.remove(tex)
    for attrs in (_SKY, _FLOOR, _BODY):
        ET.SubElement(asset, "texture", attrs)
    ET.SubElement(asset, "material", {"name": "vlmrm_floor", "texture": "vlmrm_floor",
                                      "texrepeat": "20 20", "reflectance": "0.15"})
    ET.SubElement(asset, "material", {"name": "vlmrm_body", "texture": "vlmrm_body",
                                      "texuniform": "true", "specular": "0.3",
                                      "shininess": "0.3"})
    for geom in root.iter("geom"):
        if geom.get("type") == "plane" or geom.get("name") == "floor":
            geom.set("material", "vlmrm_floor")
            geom.attrib.pop("rgba", None)
        elif "material" in geom.attrib:
            geom.set("material", "vlmrm_body")
    default_geom = root.find("default/geom")
    if default_geom is not None:
        default_geom.set("material", "vlmrm_body")
        default_geom.attrib.pop("rgba", None)
    text = ET.tostring(root, encoding="unicode")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"vlm_reward_humanoid_{digest}.xml"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(suffix=".xml", dir=path.parent)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    return path


class HumanoidEnv(_GymHumanoid):
    """Gymnasium Humanoid-v5 with the paper's textures, fixed episode length and camera.

    The reward is Gymnasium's (healthy + forward - costs; ground truth for logging), and
    ``terminated`` is always False. ``info["success"]`` is ``success_fn(env)`` when given,
    else False: the humanoid tasks of the paper (kneeling, lotus, splits, ...) have no
    programmatic success test; the paper judged them with human raters (see the labelling app).

    Args:
        render_mode: ``"rgb_array"`` (default), ``"depth_array"``, ``"human"`` or None.
        episode_length: steps per episode (truncation).
        width: frame width in pixels (rendered natively).
        height: frame height in pixels.
        camera_distance: camera distance from the look-at point (m).
        camera_lookat_height: height of the look-at point (m); x/y follow ``camera_track_body``.
        camera_elevation: degrees; negative looks down.
        camera_azimuth: degrees; 180 looks at the humanoid's front at reset.
        camera_track_body: body whose x/y the camera follows.
        success_fn: optional ``callable(env) -> bool`` giving ``info["success"]``.
        textured: use the textured scene (default) or Gymnasium's original model.
        **kwargs: passed to Gymnasium's ``HumanoidEnv`` (e.g. ``forward_reward_weight``).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"],
    }

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        episode_length: int = 100,
        width: int = 256,
        height: int = 256,
        camera_distance: float = 3.5,
        camera_lookat_height: float = 1.0,
        camera_elevation: float = -10.0,
        camera_azimuth: float = 180.0,
        camera_track_body: str = "torso",
        success_fn: Callable[[HumanoidEnv], bool] | None = None,
        textured: bool = True,
        **kwargs: Any,
    ) -> None:
        self.episode_length = check_episode_length(episode_length)
        width, height = check_render_size(width, height)
        for name, value in (("camera_distance", camera_distance),
                            ("camera_lookat_height", camera_lookat_height),
                            ("camera_elevation", camera_elevation),
                            ("camera_azimuth", camera_azimuth)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name}: expected a number, got {value!r}")
        if camera_distance <= 0:
            raise ConfigError(f"camera_distance: expected > 0 metres, got {camera_distance}")
        if success_fn is not None and not callable(success_fn):
            raise ConfigError(f"success_fn: expected a callable(env) -> bool, got {success_fn!r}")
        if "terminate_when_unhealthy" in kwargs:
            raise ConfigError("terminate_when_unhealthy: fixed to False in vlm_reward/Humanoid-v0")
        self.camera_lookat_height = float(camera_lookat_height)
        self.camera_track_body = camera_track_body
        self.success_fn = success_fn
        self.steps = 0
        if textured and "xml_file" not in kwargs:
            kwargs["xml_file"] = str(textured_humanoid_xml())
        camera = {"distance": float(camera_distance), "elevation": float(camera_elevation),
                  "azimuth": float(camera_azimuth),
                  "lookat": np.array([0.0, 0.0, self.camera_lookat_height])}
        super().__init__(render_mode=render_mode, width=width, height=height,
                         default_camera_config=camera, terminate_when_unhealthy=False, **kwargs)
        try:
            self._track_id = self.model.body(camera_track_body).id
        except KeyError as exc:
            raise ConfigError(
                f"camera_track_body: no body named {camera_track_body!r} in the model"
            ) from exc
        self.metadata = {**self.metadata, "render_fps": int(np.round(1.0 / self.dt))}
        nq, nv = self.model.nq, self.model.nv
        self.state_names = tuple(
            [f"qpos_{i}" for i in range(nq)] + [f"qvel_{i}" for i in range(nv)]
        )
        self._name_state()

    def _name_state(self) -> None:
        """Name each qpos/qvel entry after its joint (free joint: x, y, z, quaternion)."""
        import mujoco

        names = list(self.state_names)
        nq = self.model.nq
        for j in range(self.model.njnt):
            jname = self.model.joint(j).name or f"joint{j}"
            qadr, vadr = self.model.jnt_qposadr[j], self.model.jnt_dofadr[j]
            if self.model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
                for k, s in enumerate(("x", "y", "z", "qw", "qx", "qy", "qz")):
                    names[qadr + k] = f"{jname}_{s}"
                for k, s in enumerate(("vx", "vy", "vz", "wx", "wy", "wz")):
                    names[nq + vadr + k] = f"{jname}_{s}"
            else:
                names[qadr] = jname
                names[nq + vadr] = f"{jname}_vel"
        self.state_names = tuple(names)

    def set_state(self, state: np.ndarray, qvel: np.ndarray | None = None) -> None:
        """Set ``state = concat(qpos, qvel)`` (see ``state_names``), or ``(qpos, qvel)``."""
        nq, nv = self.model.nq, self.model.nv
        if qvel is None:
            flat = np.asarray(state, dtype=np.float64).reshape(-1)
            if flat.shape != (nq + nv,) or not np.all(np.isfinite(flat)):
                raise ConfigError(
                    f"state: expected {nq + nv} finite values (qpos then qvel), got {flat.size}"
                )
            qpos_arr, qvel_arr = flat[:nq], flat[nq:]
        else:
            qpos_arr = np.asarray(state, dtype=np.float64).reshape(-1)
            qvel_arr = np.asarray(qvel, dtype=np.float64).reshape(-1)
            if qpos_arr.shape != (nq,) or qvel_arr.shape != (nv,):
                raise ConfigError(f"set_state: expected qpos ({nq},) and qvel ({nv},)")
        super().set_state(qpos_arr, qvel_arr)

    def get_state(self) -> np.ndarray:
        """``concat(qpos, qvel)``: the inverse of :meth:`set_state`."""
        return np.concatenate([self.data.qpos, self.data.qvel]).copy()

    def _success(self) -> bool:
        return bool(self.success_fn(self)) if self.success_fn is not None else False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self.steps = 0
        obs, info = super().reset(seed=seed, options=options)
        info["success"] = self._success()
        return obs, info

    def step(self, action: Any):
        obs, reward, _, _, info = super().step(action)
        self.steps += 1
        info["success"] = self._success()
        return obs, reward, False, self.steps >= self.episode_length, info

    def render(self):
        """Render with the camera's look-at point over the tracked body at a fixed height."""
        if self.render_mode in ("rgb_array", "depth_array", "rgbd_tuple"):
            viewer = self.mujoco_renderer._get_viewer(self.render_mode)
            x, y = self.data.xpos[self._track_id][:2]
            viewer.cam.lookat[:] = (x, y, self.camera_lookat_height)
        return super().render()
