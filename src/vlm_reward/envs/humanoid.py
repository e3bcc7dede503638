"""MuJoCo Humanoid as used in the VLM-RM paper: textured scene, no early end, tracking camera.

The paper renders Humanoid with a textured floor, a sky and a coloured body, because CLIP
recognises poses far better in such a picture than in the default dark scene. This module
builds that scene from Gymnasium's own ``humanoid.xml``: it rewrites the asset section with
MuJoCo's built-in procedural textures (a checker floor, a gradient skybox, a plain body
colour), pushes the fog back and writes the result to a temporary file that MuJoCo loads.
No image files are needed.

Everything else is Gymnasium's ``Humanoid-v5`` (same dynamics, observation, action and
reward), with ``terminate_when_unhealthy=False`` and a fixed episode length, as in the paper.

MuJoCo renders offscreen through OpenGL; on a headless machine set ``MUJOCO_GL=egl`` (or
``osmesa``) before importing. Software EGL is slow (tens of ms per small frame).
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vlm_reward.envs.checks import (
    check_episode_length,
    check_render_mode,
    check_render_size,
    check_state,
)
from vlm_reward.errors import ConfigError, DependencyNotInstalled

try:
    import mujoco
    from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv as _GymHumanoid
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise DependencyNotInstalled("mujoco", "mujoco", "The Humanoid environment") from exc

__all__ = ["HumanoidEnv", "textured_humanoid_xml"]

# Colours of the scene (RGB in [0, 1]); chosen for contrast between body, floor and sky.
SKY_TOP = "0.30 0.50 0.85"
SKY_HORIZON = "0.85 0.90 0.97"
FLOOR_LIGHT = "0.80 0.72 0.58"
FLOOR_DARK = "0.45 0.36 0.26"
BODY = "0.95 0.55 0.20"

# Healthy torso height range of Humanoid-v5: info["success"] means "standing" (see below).
STANDING_Z = (1.0, 2.0)


def textured_humanoid_xml(source: Path) -> str:
    """Return Gymnasium's humanoid XML at ``source`` with this project's textured scene.

    The body geometry, joints, actuators and options are untouched; only textures,
    materials, fog and the floor tint change, so the dynamics equal ``Humanoid-v5``.
    """
    root = ET.parse(source).getroot()
    asset = root.find("asset")
    if asset is None:
        raise ConfigError(f"{source}: no <asset> section; is this Gymnasium's humanoid.xml?")
    for child in list(asset):
        asset.remove(child)
    ET.SubElement(asset, "texture", type="skybox", builtin="gradient", rgb1=SKY_TOP,
                  rgb2=SKY_HORIZON, width="256", height="256")
    ET.SubElement(asset, "texture", name="texplane", type="2d", builtin="checker",
                  rgb1=FLOOR_LIGHT, rgb2=FLOOR_DARK, width="256", height="256",
                  mark="edge", markrgb="0.3 0.25 0.2")
    ET.SubElement(asset, "texture", name="texgeom", type="cube", builtin="flat", rgb1=BODY,
                  rgb2=BODY, width="64", height="64", mark="random", random="0.02",
                  markrgb="1 1 1")
    ET.SubElement(asset, "material", name="MatPlane", texture="texplane", texrepeat="40 40",
                  reflectance="0.05", shininess="0.1", specular="0.1")
    ET.SubElement(asset, "material", name="geom", texture="texgeom", texuniform="true",
                  specular="0.3", shininess="0.3")
    visual = root.find("visual")
    if visual is None:
        visual = ET.SubElement(root, "visual")
    fog = visual.find("map")
    if fog is None:
        fog = ET.SubElement(visual, "map")
    fog.set("fogstart", "15")
    fog.set("fogend", "40")
    for geom in root.iter("geom"):
        if geom.get("name") == "floor":
            geom.set("rgba", "1 1 1 1")
            geom.set("size", "40 40 0.125")
        elif geom.get("rgba") is not None and geom.get("material") == "geom":
            del geom.attrib["rgba"]
    default_geom = root.find("default/geom")
    if default_geom is not None:
        default_geom.set("rgba", "1 1 1 1")  # let the body texture show its own colour
    return ET.tostring(root, encoding="unicode")


def _state_names(model: Any) -> tuple[str, ...]:
    """Names of ``qpos`` then ``qvel`` entries, e.g. ``qpos_root_z``, ``qvel_right_knee``."""
    free_pos = ("x", "y", "z", "qw", "qx", "qy", "qz")
    free_vel = ("vx", "vy", "vz", "wx", "wy", "wz")
    pos: list[str] = []
    vel: list[str] = []
    for j in range(model.njnt):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) or f"joint{j}"
        if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            pos += [f"qpos_{name}_{s}" for s in free_pos]
            vel += [f"qvel_{name}_{s}" for s in free_vel]
        elif model.jnt_type[j] == mujoco.mjtJoint.mjJNT_BALL:
            pos += [f"qpos_{name}_{s}" for s in ("qw", "qx", "qy", "qz")]
            vel += [f"qvel_{name}_{s}" for s in ("wx", "wy", "wz")]
        else:
            pos.append(f"qpos_{name}")
            vel.append(f"qvel_{name}")
    return tuple(pos + vel)


class HumanoidEnv(_GymHumanoid):
    """Gymnasium ``Humanoid-v5`` in a textured scene, never terminating, fixed length.

    Reward: Gymnasium's Humanoid-v5 reward (forward velocity + healthy bonus - control cost
    - contact cost), kept as ground truth next to the VLM reward. ``info["success"]`` is
    True while the torso is at standing height (``1.0 < z < 2.0``, Gymnasium's "healthy"
    range): the only pose fact the env defines. It is a fair check for "standing up" tasks
    but NOT a success measure for other poses (kneeling, lotus position, splits); those need
    human labels. ``terminated`` is always False; ``truncated`` becomes True at step
    ``episode_length``.

    The camera tracks the torso in the ground plane and looks at a point
    ``camera_lookat_height`` metres above the floor from ``camera_distance`` metres away,
    at ``camera_elevation`` and ``camera_azimuth`` degrees (paper: 3.5, 1.0, -10, 180).

    ``set_state(state)`` takes ``qpos`` followed by ``qvel`` (``len(state_names)`` values);
    the MuJoCo-style ``set_state(qpos, qvel)`` also works.

    Args:
        render_mode: ``"rgb_array"`` (default) or None.
        episode_length: number of steps in every episode (paper: 100).
        width: frame width in pixels (rendered natively at this size).
        height: frame height in pixels.
        camera_distance: metres from the look-at point.
        camera_lookat_height: height of the look-at point above the floor, metres.
        camera_elevation: degrees; negative looks down.
        camera_azimuth: degrees around the vertical axis.
        **kwargs: further ``Humanoid-v5`` arguments (e.g. ``forward_reward_weight``).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        episode_length: int = 100,
        width: int = 224,
        height: int = 224,
        camera_distance: float = 3.5,
        camera_lookat_height: float = 1.0,
        camera_elevation: float = -10.0,
        camera_azimuth: float = 180.0,
        **kwargs: Any,
    ) -> None:
        check_render_mode(render_mode, self.metadata["render_modes"])
        self.episode_length = check_episode_length(episode_length)
        width, height = check_render_size(width, height)
        camera = {
            "camera_distance": camera_distance,
            "camera_lookat_height": camera_lookat_height,
            "camera_elevation": camera_elevation,
            "camera_azimuth": camera_azimuth,
        }
        for key, value in camera.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or (
                not np.isfinite(value)
            ):
                raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        if camera_distance <= 0:
            raise ConfigError(f"camera_distance: must be > 0 metres, got {camera_distance!r}")
        for fixed in ("xml_file", "terminate_when_unhealthy", "default_camera_config"):
            if fixed in kwargs:
                raise ConfigError(
                    f"{fixed}: set by vlm_reward/Humanoid-v0 itself; use Gymnasium's "
                    "Humanoid-v5 if you need a different value"
                )
        self.camera_distance = float(camera_distance)
        self.camera_lookat_height = float(camera_lookat_height)
        self.camera_elevation = float(camera_elevation)
        self.camera_azimuth = float(camera_azimuth)
        source = Path(_GymHumanoid.__init__.__code__.co_filename).parent / "assets/humanoid.xml"
        xml = textured_humanoid_xml(source)
        with tempfile.TemporaryDirectory(prefix="vlm_reward_humanoid_") as tmp:
            path = Path(tmp) / "humanoid_textured.xml"
            path.write_text(xml)
            super().__init__(
                xml_file=str(path),
                terminate_when_unhealthy=False,
                render_mode=render_mode,
                width=width,
                height=height,
                default_camera_config={
                    "type": mujoco.mjtCamera.mjCAMERA_FREE,
                    "distance": self.camera_distance,
                    "elevation": self.camera_elevation,
                    "azimuth": self.camera_azimuth,
                    "lookat": np.array([0.0, 0.0, self.camera_lookat_height]),
                },
                **kwargs,
            )
        # Humanoid-v5 sets its own metadata (with human/depth modes); only rgb_array is ours.
        self.metadata = {"render_modes": ["rgb_array"], "render_fps": round(1.0 / self.dt)}
        self.state_names: tuple[str, ...] = _state_names(self.model)
        self.steps = 0

    # ----------------------------------------------------------------- state
    def set_state(self, state: Any, qvel: Any = None) -> None:
        """Set ``qpos`` and ``qvel`` from one vector (qpos then qvel), or from two arrays."""
        if qvel is not None:
            state = np.concatenate([np.asarray(state).reshape(-1), np.asarray(qvel).reshape(-1)])
        arr = check_state(state, self.state_names)
        nq = self.model.nq
        super().set_state(arr[:nq], arr[nq:])

    def get_state(self) -> np.ndarray:
        """``qpos`` then ``qvel`` as one float64 vector (the inverse of :meth:`set_state`)."""
        return np.concatenate([self.data.qpos, self.data.qvel]).astype(np.float64)

    def is_success(self) -> bool:
        """Torso at standing height (see the class docstring for what this does not mean)."""
        return bool(STANDING_Z[0] < self.data.qpos[2] < STANDING_Z[1])

    # ------------------------------------------------------------------- API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Gymnasium's noisy standing start, or ``options["state"]`` (qpos then qvel)."""
        obs, info = super().reset(seed=seed, options=options)
        self.steps = 0
        if options and "state" in options:
            self.set_state(options["state"])
            obs = self._get_obs()
        info["success"] = self.is_success()
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, _, _, info = super().step(action)
        self.steps += 1
        info["success"] = self.is_success()
        truncated = self.steps >= self.episode_length
        return obs, float(reward), False, truncated, info

    def render(self) -> np.ndarray | None:
        """Render from the tracking camera: it follows the torso over the floor."""
        if self.render_mode is None:
            import gymnasium as gym

            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array'")
            return None
        viewer = self.mujoco_renderer._get_viewer(self.render_mode)
        viewer.cam.lookat[:] = (self.data.qpos[0], self.data.qpos[1], self.camera_lookat_height)
        viewer.cam.distance = self.camera_distance
        viewer.cam.elevation = self.camera_elevation
        viewer.cam.azimuth = self.camera_azimuth
        frame = super().render()
        return None if frame is None else np.ascontiguousarray(frame)
