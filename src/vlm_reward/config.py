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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vlm_reward.atomic import atomic_write_text
from vlm_reward.errors import ConfigError
from vlm_reward.overrides import parse_override
from vlm_reward.reward.rules import check_alpha

__all__ = [
    "AlgorithmConfig",
    "EnvConfig",
    "LearnedConfig",
    "LoggingConfig",
    "RewardConfig",
    "RunConfig",
    "WandbConfig",
    "apply_overrides",
    "dump_run_config",
    "load_reward_config",
    "load_run_config",
    "validate_reward_config",
]

ALGORITHMS: tuple[str, ...] = ("SAC", "PPO", "DQN")


_M = TypeVar("_M", bound=BaseModel)


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


class LearnedConfig(_Strict):
    """A reward learned online from VLM labels, so the VLM labels only some steps
    (docs/learned_rewards.md)."""

    kind: Literal["distill", "preference"] = Field(
        description="'distill': a student ensemble regresses the VLM reward and asks the VLM "
        "where it is unsure; 'preference': a Bradley-Terry reward model learned from VLM "
        "comparisons of pairs of frames or clips."
    )
    inputs: Literal["frames", "observation"] = Field(
        default="frames",
        description="What the learned model sees: downsampled frames (small CNNs), or the env's "
        "observation vector (MLPs) when the observation is enough for the task.",
    )
    frame_size: int = Field(
        default=32, ge=8, le=256, description="inputs 'frames': side of the square RGB input."
    )
    ensemble: int = Field(default=3, ge=1, le=16, description="Members of the model ensemble.")
    hidden: int = Field(default=64, ge=4, description="Width of the hidden layers.")
    query_fraction: float = Field(
        default=0.1, gt=0.0, le=1.0,
        description="distill: share of steps the VLM labels after the warm-up.",
    )
    uniform_share: float = Field(
        default=0.25, ge=0.0, le=1.0,
        description="Share of the queries drawn uniformly at random (keeps the model honest); "
        "the rest go where the ensemble disagrees most.",
    )
    strategy: Literal["disagreement", "uniform"] = Field(
        default="disagreement",
        description="Query rule: 'disagreement' (ensemble spread plus the uniform share) or "
        "'uniform' (all queries at random).",
    )
    warmup_steps: int = Field(
        default=1000, ge=0,
        description="Steps whose frames the VLM labels in full before the learned model gives "
        "rewards (distill) or before the first pairs are compared (preference).",
    )
    update_every: int = Field(default=1000, ge=1, description="Env steps between model updates.")
    gradient_steps: int = Field(default=200, ge=1, description="Optimiser steps per update.")
    batch_size: int = Field(default=256, ge=1, description="Labels per optimiser step.")
    learning_rate: float = Field(default=1e-3, gt=0.0, description="Adam learning rate.")
    holdout_fraction: float = Field(
        default=0.1, ge=0.0, lt=1.0,
        description="Share of labels kept out of training to measure agreement with the VLM.",
    )
    pair_budget: int = Field(
        default=5000, ge=1, description="preference: pair labels the VLM may give in all."
    )
    pairs_per_update: int = Field(
        default=500, ge=1, description="preference: new pairs compared at each update."
    )
    margin: float = Field(
        default=0.0, ge=0.0,
        description="preference: score differences within the margin count as no preference.",
    )
    segment: int = Field(
        default=1, ge=1, description="preference: consecutive steps per compared clip (1 = frames)."
    )
    query_budget: int | None = Field(
        default=None, ge=1,
        description="distill: VLM frames the run may label in all (warm-up included); once "
        "spent the student gives every reward. null = no cap beyond query_fraction.",
    )
    label_capacity: int = Field(
        default=50_000, ge=2,
        description="Labels kept for training (the oldest are dropped first); bounds memory "
        "and checkpoint size: frames cost frame_size**2 * 3 bytes each.",
    )
    seed: int | None = Field(default=None, description="Learned model seed; null = run seed.")

    @model_validator(mode="after")
    def _budget_covers_warmup(self) -> LearnedConfig:
        if self.query_budget is not None and self.query_budget < self.warmup_steps:
            raise ValueError(
                f"query_budget ({self.query_budget}) is below warmup_steps "
                f"({self.warmup_steps}), so the model would give rewards before it is trained; "
                "raise query_budget or lower warmup_steps"
            )
        return self


class RewardConfig(_Strict):
    """A vision-language reward: model, prompts, regularisation and where inference runs."""

    model: str = Field(
        description="Model spec for vlm_reward.load_model, e.g. 'ViT-B-32/laion2b_s34b_b79k', "
        "'demo', or a local folder."
    )
    kind: Literal["goal_baseline", "negatives", "window", "episode"] = Field(
        default="goal_baseline",
        description="Reward family (docs/rewards.md): 'goal_baseline' (VLM-RM, per frame), "
        "'negatives' (probability of the goal among negative prompts), 'window' (the mean of "
        "the last `window` frames), 'episode' (one reward at each episode end).",
    )
    goal: str | list[str] | None = Field(
        default=None,
        description="Goal sentence(s) describing the task; may be left out when goal_images "
        "or goal_states give the goal.",
    )
    goal_images: list[str] | None = Field(
        default=None,
        description="Goal as image files (PNG/JPG; a video file contributes every frame), "
        "averaged as unit embeddings.",
    )
    goal_states: list[dict[str, float]] | None = Field(
        default=None,
        description="Goal as env states rendered by the training env, e.g. [{theta: 0.0}] "
        "(state variables left out are 0); needs an env with set_state.",
    )
    goal_image_weight: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Weight of the image goal against the sentence goal in [0, 1]; default 1 "
        "when only images/states are given, 0.5 when both are.",
    )
    baseline: str | list[str] | None = Field(
        default=None, description="Baseline sentence(s) describing the env in general."
    )
    alpha: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Goal-baseline regularisation strength in [0, 1]."
    )
    negatives: list[str] | None = Field(
        default=None,
        description="Negative sentences for kind 'negatives' (or pooled by 'window' and "
        "'episode', which then score with them).",
    )
    temperature: float | None = Field(
        default=None, gt=0.0,
        description="Softmax temperature tau of 'negatives'; null = the model's logit scale.",
    )
    subtract_chance: bool = Field(
        default=False,
        description="'negatives': reward max(p - 1/(K+1), 0) instead of p (MineCLIP).",
    )
    window: int | None = Field(
        default=None, ge=1, description="Kind 'window': frames pooled per step (k)."
    )
    episode_stride: int = Field(
        default=4, ge=1, description="Kind 'episode': keep every N-th frame of the clip."
    )
    vlm_weight: float = Field(default=1.0, description="Training reward = vlm_weight * VLM ...")
    env_weight: float = Field(default=0.0, description="... + env_weight * the env's reward.")
    normalize: bool = Field(
        default=False, description="Standardise the VLM score with running mean and std."
    )
    shaping: bool = Field(
        default=False,
        description="Potential-based shaping with the VLM score as potential: the VLM term "
        "becomes gamma * Phi(s') - Phi(s), with gamma the algorithm's discount.",
    )
    shaping_gamma: float | None = Field(
        default=None, gt=0.0, le=1.0,
        description="Discount of the shaping term; null = the algorithm's gamma (set for you).",
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
    learned: LearnedConfig | None = Field(
        default=None,
        description="Learn the reward from VLM labels instead of asking the VLM every step; "
        "null = the VLM rewards every step.",
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

    @field_validator("negatives", "goal_images")
    @classmethod
    def _lists_non_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not s.strip() for s in value)):
            raise ValueError("expected a non-empty list of non-empty strings")
        return value

    @model_validator(mode="after")
    def _family_fields(self) -> RewardConfig:
        check_alpha(self.alpha, self.baseline is not None)  # the reward's own rule
        if self.goal is None and not self.goal_images and not self.goal_states:
            raise ValueError("no goal: give reward.goal (sentences), goal_images or goal_states")
        if self.goal_image_weight is not None and not (self.goal_images or self.goal_states):
            raise ValueError("goal_image_weight is set, but there are no goal_images/goal_states")
        if self.kind == "negatives" and not self.negatives:
            raise ValueError("kind 'negatives' needs reward.negatives (a list of sentences)")
        if self.negatives and self.kind == "goal_baseline":
            raise ValueError(
                "negatives are set but kind is 'goal_baseline', which ignores them; set "
                "kind: negatives (or window/episode to pool frames and score with them)"
            )
        if self.negatives and self.alpha > 0:
            raise ValueError("alpha applies to the goal-baseline score; with negatives use 0")
        if (self.window is not None) != (self.kind == "window"):
            raise ValueError("kind 'window' and reward.window go together: set both or neither")
        if self.shaping_gamma is not None and not self.shaping:
            raise ValueError("shaping_gamma is set, but shaping is off; set shaping: true")
        if self.learned is not None:
            self._learned_fits()
        return self

    def _learned_fits(self) -> None:
        """A learned reward replaces the per-frame VLM score; what it cannot stand for is
        refused here, with the way out."""
        if self.kind in ("window", "episode"):
            raise ValueError(
                f"learned rewards learn a per-frame score, but kind is {self.kind!r} (pooled "
                "over frames); use kind goal_baseline or negatives, or remove reward.learned"
            )
        mixed = [name for name, on in (("normalize", self.normalize),
                                       ("shaping", self.shaping),
                                       ("env_weight", self.env_weight != 0.0),
                                       ("vlm_weight", self.vlm_weight != 1.0)) if on]
        if mixed:
            raise ValueError(
                f"reward.learned gives the training reward itself, so {', '.join(mixed)} "
                "cannot be applied to it; remove them (vlm_weight 1, env_weight 0) or remove "
                "reward.learned"
            )


def _sb3_class(name: str) -> Any:
    import stable_baselines3 as sb3

    return getattr(sb3, name)


# Arguments vlm-reward sets itself (from the top-level config or the run folder).
_RESERVED = frozenset({"self", "policy", "env", "seed", "tensorboard_log", "verbose",
                       "_init_setup_model", "device"})


def _positive(v: Any) -> bool:
    return callable(v) or v > 0


def _unit_interval(v: Any) -> bool:
    return 0.0 <= v <= 1.0


def _entropy(v: Any) -> bool:
    if not isinstance(v, str):
        return v >= 0
    head, _, init = v.partition("_")
    try:
        return head == "auto" and (not init or float(init) > 0)
    except ValueError:
        return False


def _train_freq(v: Any) -> bool:
    freq, unit = v if isinstance(v, tuple) else (v, "step")
    return freq >= 1 and unit in ("step", "episode")


# Value ranges SB3 asserts on (or silently misbehaves with); the types come from SB3's own
# constructor annotations. Keys apply to whichever algorithm takes that argument.
_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "learning_rate": (_positive, "a positive number or a schedule"),
    "clip_range": (_positive, "a positive number or a schedule"),
    "clip_range_vf": (_positive, "a positive number, a schedule or null"),
    "n_steps": (_positive, "a positive integer"),
    "batch_size": (_positive, "a positive integer"),
    "buffer_size": (_positive, "a positive integer"),
    "n_epochs": (_positive, "a positive integer"),
    "target_update_interval": (_positive, "a positive integer"),
    "stats_window_size": (_positive, "a positive integer"),
    "target_kl": (_positive, "a positive number or null"),
    "max_grad_norm": (_positive, "a positive number"),
    "learning_starts": (lambda v: v >= 0, "an integer >= 0"),
    "vf_coef": (lambda v: v >= 0, "a number >= 0"),
    "gradient_steps": (lambda v: v >= 1 or v == -1, "a positive integer, or -1 (one per env step)"),
    "gamma": (_unit_interval, "a number in [0, 1]"),
    "gae_lambda": (_unit_interval, "a number in [0, 1]"),
    "tau": (_unit_interval, "a number in [0, 1]"),
    "exploration_fraction": (_unit_interval, "a number in [0, 1]"),
    "exploration_initial_eps": (_unit_interval, "a number in [0, 1]"),
    "exploration_final_eps": (_unit_interval, "a number in [0, 1]"),
    "ent_coef": (_entropy, "a number >= 0, 'auto' or 'auto_<initial value>'"),
    "target_entropy": (lambda v: v == "auto" or not isinstance(v, str), "a number or 'auto'"),
    "train_freq": (_train_freq, "a positive integer or [N, 'step' | 'episode']"),
}


def _describe(annotation: Any) -> str:
    """What an SB3 constructor annotation accepts, in words (for error messages)."""
    import types
    from collections.abc import Callable as CallableABC
    from typing import Union, get_args, get_origin

    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        words = [_describe(a) for a in args if a is not type(None)]
        return " or ".join(words) + (" or null" if type(None) in args else "")
    if origin is CallableABC:
        return "a schedule (callable)"
    if origin is tuple:
        return "a list [" + ", ".join(_describe(a) for a in args) + "]"
    if origin is list:
        return f"a list [{_describe(args[0])}, ...]"
    if origin is dict or annotation is dict:
        return "a mapping"
    if origin is type:
        return f"a {args[0].__name__} class"
    simple = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    return simple.get(annotation, f"an instance of {getattr(annotation, '__name__', annotation)}")


def _check_hyperparameter(key: str, value: Any, annotation: Any, ranges: bool = True) -> Any:
    """``value`` validated against SB3's annotation (YAML text such as ``1e-3`` becomes a
    number) and, if ``ranges``, the known range of ``key``; raises ValueError naming the key."""
    from pydantic import TypeAdapter

    where = f".{key}"
    if annotation is inspect.Parameter.empty:
        return value
    expected = _describe(annotation)
    if isinstance(value, bool) and "true or false" not in expected:
        raise ValueError(f"{where}: expected {expected}, got {value!r}")
    try:
        adapter = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
        value = adapter.validate_python(value)
    except ValidationError:
        raise ValueError(f"{where}: expected {expected}, got {value!r}") from None
    rule = _RANGES.get(key) if ranges else None
    if rule is not None and value is not None and not callable(value) and not rule[0](value):
        raise ValueError(f"{where}: expected {rule[1]}, got {value!r}")
    return value


def _check_policy_kwargs(policy_cls: type, kwargs: dict[str, Any]) -> None:
    """``policy_kwargs`` against the SB3 policy class's constructor (names and annotations)."""
    params = inspect.signature(policy_cls.__init__).parameters
    given_by_sb3 = {"self", "observation_space", "action_space", "lr_schedule"}
    for key, value in kwargs.items():
        where = f"policy_kwargs.{key}"
        if key in given_by_sb3 or key not in params:
            valid = ", ".join(sorted(set(params) - given_by_sb3))
            raise ValueError(f".{where} is not an argument of the policy "
                             f"({policy_cls.__name__}); valid: {valid}")
        _check_hyperparameter(where, value, params[key].annotation, ranges=False)


class AlgorithmConfig(_Strict):
    """A Stable-Baselines3 algorithm and the keyword arguments for its constructor.

    The policy and every hyperparameter are checked against the SB3 class itself (its policy
    aliases, constructor signature and annotations) plus the value ranges SB3 asserts on, so a
    mistake fails at config load with the key's name instead of inside SB3.
    """

    name: Literal["SAC", "PPO", "DQN"] = Field(description="Stable-Baselines3 algorithm.")
    policy: str = Field(default="MlpPolicy", description="SB3 policy class name.")
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Constructor kwargs of the SB3 class (gamma, learning_rate, batch_size, ...); "
        "unknown names and values SB3 would reject are refused.",
    )

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, value: str, info: ValidationInfo) -> str:
        name = info.data.get("name")
        if name is None:
            return value
        aliases = list(_sb3_class(name).policy_aliases)
        if value not in aliases:
            raise ValueError(f"{value!r} is not a {name} policy; valid: {', '.join(aliases)}")
        return value

    @field_validator("hyperparameters")
    @classmethod
    def _valid_hyperparameters(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("name")
        if name is None:
            return value
        params = inspect.signature(_sb3_class(name).__init__).parameters
        allowed = sorted(set(params) - _RESERVED)
        checked = {}
        for key, item in value.items():
            if key in _RESERVED:
                raise ValueError(
                    f".{key} is set by vlm-reward (top-level seed/device, the "
                    "env, the logs); remove it"
                )
            if key not in params:
                raise ValueError(
                    f".{key} is not a {name} argument; valid: {', '.join(allowed)}"
                )
            value_ok = _check_hyperparameter(key, item, params[key].annotation)
            # Keep YAML shapes (a list, not the tuple SB3 wants: the runner converts it); take
            # coerced scalars (YAML reads 1e-3 as text, SB3 needs the number).
            checked[key] = item if isinstance(value_ok, tuple) else value_ok
        policy = info.data.get("policy")
        if checked.get("policy_kwargs") and policy is not None:
            _check_policy_kwargs(_sb3_class(name).policy_aliases[policy], checked["policy_kwargs"])
        if (name == "PPO" and checked.get("normalize_advantage", True)
                and checked.get("batch_size", params["batch_size"].default) < 2):
            raise ValueError(".batch_size: PPO normalises advantages per mini-batch, so it "
                             "needs at least 2; or set normalize_advantage: false")
        return checked


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
    embed_ahead: bool | None = Field(
        default=None,
        description="batched mode: embed full batches of waiting frames in a worker thread "
        "while the envs step (same rewards, overlapped); null = on where the VLM runs on a "
        "GPU, off on a CPU, where env stepping and the VLM compete for the same cores; always off "
        "with reward.learned.",
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

    @field_validator("device")
    @classmethod
    def _torch_device(cls, value: str) -> str:
        import torch

        try:
            kind = torch.device(value).type if value != "auto" else "auto"
        except (RuntimeError, TypeError):
            kind = None
        if kind not in ("auto", "cpu", "cuda", "mps"):
            raise ValueError(f"expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {value!r}")
        return value

    @model_validator(mode="after")
    def _shaping_discount(self) -> RunConfig:
        """Shaping keeps the optimal policy only with the agent's own discount: default to it."""
        if isinstance(self.reward, RewardConfig) and self.reward.shaping:
            import stable_baselines3 as sb3

            gamma = self.algorithm.hyperparameters.get("gamma")
            if gamma is None:
                init = inspect.signature(getattr(sb3, self.algorithm.name).__init__)
                gamma = init.parameters["gamma"].default
            if self.reward.shaping_gamma is None:
                self.reward.shaping_gamma = float(gamma)
        return self

    @model_validator(mode="after")
    def _algorithm_fits_n_envs(self) -> RunConfig:
        hp = self.algorithm.hyperparameters
        if self.algorithm.name == "PPO" and hp.get("normalize_advantage", True):
            default = inspect.signature(_sb3_class("PPO").__init__).parameters["n_steps"].default
            n_steps = hp.get("n_steps", default)
            if n_steps * self.n_envs < 2:
                raise ValueError(
                    f".algorithm.hyperparameters.n_steps: n_steps * n_envs = {n_steps} * "
                    f"{self.n_envs} must be at least 2 (PPO normalises advantages); raise "
                    "n_steps or n_envs"
                )
        freq = hp.get("train_freq")
        if isinstance(freq, list) and freq[1:] == ["episode"] and self.n_envs > 1:
            raise ValueError(".algorithm.hyperparameters.train_freq: [N, 'episode'] works "
                             f"with one env only, not n_envs={self.n_envs}; count in steps")
        return self

    @model_validator(mode="after")
    def _learned_needs_batched(self) -> RunConfig:
        if (isinstance(self.reward, RewardConfig) and self.reward.learned is not None
                and self.reward_mode != "batched"):
            raise ValueError(
                "reward.learned: the learned reward is trained and queried on batches of "
                "steps, so it needs reward_mode batched (not per_step)"
            )
        if (isinstance(self.reward, RewardConfig) and self.reward.learned is not None
                and self.embed_ahead):
            raise ValueError(
                "embed_ahead: the learned reward chooses which frames the VLM embeds only when "
                "a batch is relabelled, so there is nothing to embed ahead; drop embed_ahead "
                "(or set it null)"
            )
        return self

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
        if msg.startswith("."):  # ".sub.key: problem" names a key below the failing field
            parts.append(f"{loc}{msg}" if loc else msg[1:])
        else:
            parts.append(f"{loc or '<root>'}: {msg}")
    return f"invalid config {source}: " + "; ".join(dict.fromkeys(parts))


def _validate(schema: type[_M], data: Any, source: str, not_a_mapping: str) -> _M:
    """``schema`` from a plain mapping; pydantic's errors become one ConfigError line."""
    if not isinstance(data, dict):
        raise ConfigError(not_a_mapping.format(source=source))
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None


def _read_yaml(path: Path, what: str) -> Any:
    """The YAML document at ``path``; ``what`` names the setting in the error messages."""
    if not path.is_file():
        raise ConfigError(f"{what}: file {str(path)!r} does not exist")
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what}: {path} is not valid YAML: {exc}") from None


def validate_reward_config(data: Any, source: str = "") -> RewardConfig:
    """Validate a ``reward:`` mapping into a :class:`RewardConfig`, raising ConfigError."""
    return _validate(RewardConfig, data, source,
                     "invalid reward {source}: expected a mapping of reward settings")


def load_reward_config(path: str | Path, model: str | None = None) -> RewardConfig:
    """A reward from YAML: a run config's ``reward:`` section or a bare reward mapping.

    ``model`` fills ``reward.model`` when the file leaves it out (the CLI's ``--model``).
    """
    path = Path(path)
    data = _read_yaml(path, "--reward")
    if isinstance(data, dict) and isinstance(data.get("reward"), dict):
        data = data["reward"]
    if isinstance(data, dict) and model is not None and "model" not in data:
        data = {**data, "model": model}
    return validate_reward_config(data, str(path))


def validate_run_config(data: Any, source: str = "") -> RunConfig:
    """Validate a plain mapping into a :class:`RunConfig`, raising :class:`ConfigError`."""
    return _validate(RunConfig, data, source,
                     "invalid config {source}: expected a mapping at the top level")


def apply_overrides(
    data: dict[str, Any], overrides: Sequence[str], option: str = "--set"
) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides to a nested mapping in place.

    Items are parsed by :func:`vlm_reward.overrides.parse_override` (YAML values, as in the
    config file); dotted keys walk into nested mappings, creating missing ones.
    """
    for item in overrides:
        key, value = parse_override(item, option, "total_steps=5000")
        parts = key.split(".")
        if not all(parts):
            raise ConfigError(f"{option} {item!r}: empty part in the dotted key {key!r}")
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if child is None:
                child = {}
                node[part] = child
            if not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(
                    f"{option} {item!r}: {where} is {child!r}, not a mapping, "
                    f"so {key} cannot be set"
                )
            node = child
        node[parts[-1]] = value
    return data


def load_run_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Read a YAML run config, apply ``--set`` overrides and validate it.

    Raises:
        ConfigError: missing file, bad YAML, or an invalid/unknown key (named in the message).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.yaml"
    data = _read_yaml(path, "config")
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
