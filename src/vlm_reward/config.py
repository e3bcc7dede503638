"""Run configs as pydantic models: a training run is fully described by one YAML file and a seed.

A config names the environment, the reward (a VLM spec with goal/baseline prompts, or
``ground_truth`` for comparison runs), the Stable-Baselines3 algorithm and its
hyperparameters, and what to log. Every model forbids unknown keys, so a typo fails loudly
with the dotted path of the key (:class:`~vlm_reward.errors.ConfigError`).

Example:
    >>> cfg = RunConfig.model_validate({
    ...     "env": {"id": "CartPole-v1"},
    ...     "reward": "ground_truth",
    ...     "algorithm": {"name": "PPO"},
    ...     "total_steps": 1000,
    ... })
    >>> cfg.algorithm.name, cfg.reward
    ('PPO', 'ground_truth')
    >>> apply_overrides({"seed": 0}, ["seed=3"])
    {'seed': 3}
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vlm_reward.atomic import atomic_write_text
from vlm_reward.errors import ConfigError, DependencyNotInstalled

if TYPE_CHECKING:
    from vlm_reward.reward import RewardModel

__all__ = [
    "AlgorithmConfig",
    "EnvConfig",
    "LoggingConfig",
    "RewardConfig",
    "RunConfig",
    "WandbConfig",
    "apply_overrides",
    "build_reward_model",
    "dump_run_config",
    "load_run_config",
]

ALGORITHMS: tuple[str, ...] = ("SAC", "PPO", "DQN")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EnvConfig(_Strict):
    """Which Gymnasium environment to train in."""

    id: str = Field(description="Gymnasium env id, e.g. 'vlm_reward/CartPole-v0' or 'Pendulum-v1'.")
    kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments for gymnasium.make (render_mode is set to rgb_array).",
    )
    render_size: tuple[int, int] | None = Field(
        default=None,
        description="Frame (height, width) to ask the env for when its constructor accepts "
        "width/height; null = the VLM's input size for VLM rewards, the env default otherwise.",
    )

    @field_validator("id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("env id must be a non-empty string")
        return value


class RewardConfig(_Strict):
    """A vision-language reward: model, prompts, regularisation and where inference runs."""

    model: str = Field(
        description="Model spec for vlm_reward.load_model, e.g. 'ViT-B-32/laion2b_s34b_b79k', "
        "'demo', or a local folder."
    )
    goal: str | list[str] = Field(description="Goal sentence(s) describing the task.")
    baseline: str | list[str] | None = Field(
        default=None, description="Baseline sentence(s) describing the env in general."
    )
    alpha: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Goal-baseline regularisation strength in [0, 1]."
    )
    device: str = Field(default="auto", description="Where the VLM runs: auto, cpu, cuda, cuda:N.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        default="auto", description="VLM compute precision."
    )
    batch_size: int | None = Field(
        default=None, ge=1,
        description="Frames per VLM forward pass; null picks it from the device and core count.",
    )
    fast_path: dict[str, Any] | None = Field(
        default=None,
        description="Speed-up switches of vlm_reward.models.acceleration.FastPath, e.g. "
        "{int8: true}; null = the defaults (on where safe). Local backend only.",
    )
    backend: Literal["local", "ray"] = Field(
        default="local", description="'local' runs the VLM in this process; 'ray' on Ray actors."
    )
    num_workers: int = Field(default=1, ge=1, description="Ray backend: number of model actors.")
    num_cpus_per_worker: float = Field(
        default=1.0, ge=0.0, description="Ray backend: CPUs reserved per actor."
    )
    num_gpus_per_worker: float = Field(
        default=0.0, ge=0.0, description="Ray backend: GPUs reserved per actor."
    )
    ray_address: str | None = Field(
        default=None, description="Ray backend: cluster address; null starts a local Ray."
    )

    @field_validator("goal", "baseline")
    @classmethod
    def _prompts_non_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if not items or any(not s.strip() for s in items):
            raise ValueError("prompts must be non-empty sentences")
        return value

    @model_validator(mode="after")
    def _alpha_needs_baseline(self) -> RewardConfig:
        if self.alpha > 0 and self.baseline is None:
            raise ValueError(f"alpha={self.alpha} > 0 needs a baseline prompt; add reward.baseline")
        return self


class AlgorithmConfig(_Strict):
    """A Stable-Baselines3 algorithm and the keyword arguments for its constructor."""

    name: Literal["SAC", "PPO", "DQN"] = Field(description="Stable-Baselines3 algorithm.")
    policy: str = Field(default="MlpPolicy", description="SB3 policy class name.")
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Constructor kwargs of the SB3 class (gamma, learning_rate, batch_size, ...); "
        "unknown names are rejected.",
    )

    @model_validator(mode="after")
    def _known_hyperparameters(self) -> AlgorithmConfig:
        import stable_baselines3 as sb3

        cls = getattr(sb3, self.name)
        params = inspect.signature(cls.__init__).parameters
        reserved = {
            "self", "policy", "env", "seed", "tensorboard_log", "verbose", "_init_setup_model",
            "device",
        }
        allowed = sorted(set(params) - reserved)
        for key in self.hyperparameters:
            if key in reserved:
                raise ValueError(
                    f"hyperparameters.{key} is set by vlm-reward (top-level seed/device, the "
                    "env, the logs); remove it"
                )
            if key not in params:
                raise ValueError(
                    f"hyperparameters.{key} is not a {self.name} argument; "
                    f"valid: {', '.join(allowed)}"
                )
        return self


class WandbConfig(_Strict):
    """Optional Weights & Biases mirroring of the TensorBoard logs."""

    project: str = Field(description="W&B project name.")
    entity: str | None = Field(default=None, description="W&B entity (team or user).")
    mode: Literal["online", "offline", "disabled"] = Field(
        default="online", description="W&B mode; 'offline' writes locally for a later sync."
    )


class LoggingConfig(_Strict):
    """What the run folder receives, and how often (in env steps, summed over envs)."""

    eval_every: int = Field(default=10_000, ge=0, description="Evaluate every N steps; 0 = never.")
    eval_episodes: int = Field(default=2, ge=1, description="Episodes per evaluation.")
    video_every: int = Field(
        default=50_000, ge=0, description="Save an eval video every N steps; 0 = only at the end."
    )
    checkpoint_every: int = Field(
        default=50_000, ge=0, description="Save a checkpoint every N steps; 0 = only at the end."
    )
    save_replay_buffer: bool = Field(
        default=True, description="Off-policy: save the replay buffer with checkpoints (resume)."
    )
    progress_bar: bool = Field(default=True, description="Show a rich progress bar.")
    wandb: WandbConfig | None = Field(default=None, description="Optional W&B settings.")


class RunConfig(_Strict):
    """Everything that defines a training run; saved resolved as ``RUN_DIR/config.yaml``."""

    name: str | None = Field(default=None, description="Run name; default env-algorithm-seed.")
    env: EnvConfig = Field(description="Environment to train in.")
    seed: int = Field(default=0, ge=0, description="One seed for every RNG and env.")
    reward: RewardConfig | Literal["ground_truth"] = Field(
        description="VLM reward settings, or 'ground_truth' to train on the env's own reward."
    )
    reward_mode: Literal["batched", "per_step"] = Field(
        default="batched",
        description="batched: embed frames in large batches and relabel buffers before use; "
        "per_step: embed each frame as it is rendered.",
    )
    relabel_max_pending: int = Field(
        default=4096,
        ge=1,
        description="batched mode: relabel early once this many frames wait (bounds memory).",
    )
    algorithm: AlgorithmConfig = Field(description="SB3 algorithm and hyperparameters.")
    n_envs: int = Field(default=1, ge=1, description="Number of parallel environments.")
    vec_env: Literal["dummy", "subproc"] = Field(
        default="dummy", description="SB3 VecEnv class: in-process or one process per env."
    )
    total_steps: int = Field(ge=1, description="Env steps to train for (summed over envs).")
    device: str = Field(default="auto", description="Device of the SB3 policy networks.")
    torch_threads: int | None = Field(
        default=None,
        ge=1,
        description="torch CPU threads for this run (the VLM and the policy); null keeps "
        "torch's default, one thread per core, which is what reward inference needs.",
    )
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Logging.")

    @field_validator("reward", mode="before")
    @classmethod
    def _reward_string(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "ground_truth":
            raise ValueError(f"expected a reward mapping or 'ground_truth', got {value!r}")
        return value

    @property
    def uses_vlm(self) -> bool:
        """True when the agent is rewarded by a VLM rather than the env."""
        return isinstance(self.reward, RewardConfig)

    def run_name(self) -> str:
        """Name used for the default run folder; includes the seed (CleanRL convention)."""
        if self.name:
            return self.name
        env = self.env.id.split("/")[-1]
        return f"{env}-{self.algorithm.name.lower()}-s{self.seed}"


def _format_validation_error(exc: ValidationError, source: str) -> str:
    parts = []
    errors = exc.errors()
    if len(errors) > 1:  # a dict given for `reward` also fails the 'ground_truth' branch: noise
        errors = [e for e in errors if "literal['ground_truth']" not in map(str, e["loc"])]
    for err in errors:
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        # pydantic prefixes union branches with the model name; drop them for readability
        loc = loc.replace("RewardConfig.", "").replace("literal['ground_truth']", "")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/training.md for valid keys)"
        parts.append(f"{loc or '<root>'}: {msg}")
    return f"invalid config {source}: " + "; ".join(dict.fromkeys(parts))


def validate_run_config(data: Any, source: str = "") -> RunConfig:
    """Validate a plain mapping into a :class:`RunConfig`, raising :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config {source}: expected a mapping at the top level")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a nested mapping in place."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. algorithm.name=PPO")
        parts = key.split(".")
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if child is None:
                child = {}
                node[part] = child
            if not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(
                    f"override {item!r}: {where} is {child!r}, not a mapping, "
                    f"so {key} cannot be set"
                )
            node = child
        node[parts[-1]] = _parse_value(raw)
    return data


def load_run_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Read a YAML run config, apply ``--set`` overrides and validate it.

    Raises:
        ConfigError: missing file, bad YAML, or an invalid/unknown key (named in the message).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"config: file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config: {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config {path}: expected a mapping at the top level")
    apply_overrides(data, overrides)
    return validate_run_config(data, str(path))


def dump_run_config(cfg: RunConfig, path: str | Path) -> Path:
    """Write the resolved config as YAML (temp file + rename, so readers never see half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
    return atomic_write_text(path, text)


def build_reward_model(cfg: RewardConfig) -> RewardModel:
    """Load the configured VLM (locally or on Ray actors) and wrap it with the prompts."""
    from vlm_reward.reward import RewardModel

    if cfg.backend == "ray":
        try:
            from vlm_reward.distributed import RayEmbedder
        except ImportError as exc:
            if "ray" in str(exc).lower() and "vlm_reward" not in str(exc):
                raise DependencyNotInstalled("ray", "ray", "reward.backend 'ray'") from exc
            raise ConfigError(
                "reward.backend: 'ray' needs the vlm_reward.distributed module, which is not "
                "available in this installation; use backend: local"
            ) from exc
        if cfg.fast_path is not None:
            raise ConfigError(
                "reward.fast_path: only the local backend applies fast-path switches; "
                "remove reward.fast_path or use backend: local"
            )
        embedder = RayEmbedder.create(
            cfg.model,
            num_workers=cfg.num_workers,
            num_cpus_per_worker=cfg.num_cpus_per_worker,
            num_gpus_per_worker=cfg.num_gpus_per_worker,
            device=cfg.device,
            precision=cfg.precision,
            batch_size=cfg.batch_size or 64,  # the driver chunks frames before workers start
            address=cfg.ray_address,
        )
    else:
        from vlm_reward.models import load_model

        embedder = load_model(
            cfg.model, device=cfg.device, precision=cfg.precision, batch_size=cfg.batch_size,
            fast_path=cfg.fast_path,
        )
    return RewardModel.from_prompts(embedder, cfg.goal, cfg.baseline, cfg.alpha)
