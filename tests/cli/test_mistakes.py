"""A battery of user mistakes across every command.

Each case must end with exit code 2, exactly one line on stderr (``error: <message>``, or
click's usage-error block for argument parsing), no traceback, and nothing half-written: the
paths the command would write do not exist afterwards, or are unchanged. The cases run
in-process through :class:`typer.testing.CliRunner` (the top-level group handles the errors,
so this is what the console script does); a few run the real entry point as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from vlm_reward.cli import app
from vlm_reward.errors import DependencyNotInstalled

SRC = str(Path(__file__).resolve().parents[2] / "src")
UNWRITABLE = "/proc/sys/vlm-reward-test"  # read-only even for root
CAN_WRITE_PROC = os.access("/proc/sys", os.W_OK)

PPO_CARTPOLE = {
    "env": {"id": "vlm_reward/CartPole-v0", "kwargs": {"episode_length": 20}},
    "reward": "ground_truth",
    "algorithm": {"name": "PPO", "hyperparameters": {"n_steps": 16, "batch_size": 16}},
    "total_steps": 32,
    "device": "cpu",
    "logging": {"eval_every": 0, "checkpoint_every": 0, "progress_bar": False},
}
SAC_MOUNTAINCAR = {
    "env": {"id": "MountainCarContinuous-v0"},
    "reward": "ground_truth",
    "algorithm": {"name": "SAC", "hyperparameters": {"buffer_size": 100}},
    "total_steps": 32,
    "device": "cpu",
    "logging": {"eval_every": 0, "checkpoint_every": 0, "progress_bar": False},
}


@dataclass
class Mistake:
    """One wrong command line: ``args`` and ``watch`` are templates over the workspace paths."""

    id: str
    args: list[str]
    expect: str
    watch: list[str] = field(default_factory=list)
    usage: bool = False  # an argument-parsing error: click's usage block instead of one line
    needs_unwritable: bool = False


CASES: list[Mistake] = [
    # global options, doctor, models
    Mistake("global-device-no-value", ["--device"], "requires an argument", usage=True),
    Mistake("doctor-unknown-option", ["doctor", "--jsn"], "No such option", usage=True),
    Mistake("doctor-extra-argument", ["doctor", "extra"], "unexpected extra argument", usage=True),
    Mistake("models-arch-no-value", ["models", "--arch"], "requires an argument", usage=True),
    Mistake("models-json-with-value", ["models", "--json=yes"], "does not take a value",
            usage=True),
    # score
    Mistake("score-no-frames", ["score", "--goal", "x"], "Missing argument", usage=True),
    Mistake("score-no-goal", ["score", "{png}"], "give --goal"),
    Mistake("score-alpha-not-a-number", ["score", "-g", "x", "--alpha", "abc", "{png}"],
            "Invalid value for '--alpha'", usage=True),
    Mistake("score-alpha-out-of-range", ["score", "-g", "x", "--alpha", "2", "{png}"],
            "alpha: expected a value in [0, 1]"),
    Mistake("score-alpha-without-baseline", ["score", "-g", "x", "--alpha", "0.5", "{png}"],
            "give --baseline"),
    Mistake("score-missing-file", ["score", "-g", "x", "{tmp}/nope.png"], "is not a file"),
    Mistake("score-unsupported-type", ["score", "-g", "x", "{file}"], "unsupported type"),
    Mistake("score-corrupt-image", ["score", "-g", "x", "{corrupt}"], "cannot read"),
    Mistake("score-unknown-arch", ["score", "-g", "x", "-m", "ViT-B-23/openai", "{png}"],
            "did you mean ViT-B-32"),
    Mistake("score-unknown-tag", ["score", "-g", "x", "-m", "ViT-B-32/laion2b", "{png}"],
            "valid tags"),
    Mistake("score-offline-no-weights", ["--offline", "score", "-g", "x", "-m", "ViT-B-32/openai",
                                         "--cache-dir", "{tmp}/empty-cache", "{png}"],
            "offline mode"),
    Mistake("score-empty-goal", ["score", "-g", " ", "{png}"], "non-empty"),
    Mistake("score-bad-precision", ["--precision", "fp12", "score", "-g", "x", "{png}"],
            "precision"),
    Mistake("score-zero-batch", ["score", "-g", "x", "--batch-size", "0", "{png}"], "batch_size"),
    Mistake("score-cuda-index-text", ["--device", "cuda:x", "score", "-g", "x", "{png}"],
            "cuda:N"),
    Mistake("score-bad-device", ["--device", "tpu", "score", "-g", "x", "{png}"], "device"),
    # render
    Mistake("render-no-out", ["render", "vlm_reward/CartPole-v0"], "Missing option", usage=True),
    Mistake("render-unknown-env", ["render", "vlm_reward/CartPol-v0", "--out", "{tmp}/r1"],
            "vlm_reward/CartPole-v0", watch=["{tmp}/r1"]),
    Mistake("render-out-is-a-file", ["render", "vlm_reward/CartPole-v0", "--out", "{file}"],
            "is a file, not a folder", watch=["{file}"]),
    Mistake("render-out-under-a-file", ["render", "vlm_reward/CartPole-v0", "--out",
                                        "{file}/frames"], "which is a file", watch=["{file}"]),
    Mistake("render-out-unwritable", ["render", "vlm_reward/CartPole-v0", "--out", UNWRITABLE],
            "cannot write", needs_unwritable=True),
    Mistake("render-zero-frames", ["render", "vlm_reward/CartPole-v0", "--out", "{tmp}/r2",
                                   "--n-frames", "0"], "--n-frames", watch=["{tmp}/r2"]),
    Mistake("render-frames-not-int", ["render", "vlm_reward/CartPole-v0", "--out", "{tmp}/r2",
                                      "--n-frames", "many"], "Invalid value for '--n-frames'",
            usage=True, watch=["{tmp}/r2"]),
    Mistake("render-zero-width", ["render", "vlm_reward/CartPole-v0", "--out", "{tmp}/r3",
                                  "--width", "0"], "--width", watch=["{tmp}/r3"]),
    Mistake("render-set-without-value", ["render", "vlm_reward/CartPole-v0", "--out",
                                         "{tmp}/r4", "--env-kwarg", "textured"], "KEY=VALUE",
            watch=["{tmp}/r4"]),
    Mistake("render-unknown-env-kwarg", ["render", "vlm_reward/CartPole-v0", "--out",
                                         "{tmp}/r5", "--env-kwarg", "colour=red"], "colour",
            watch=["{tmp}/r5"]),
    # train
    Mistake("train-no-config", ["train"], "give a CONFIG.yaml"),
    Mistake("train-missing-config", ["train", "{tmp}/nope.yaml"], "does not exist"),
    Mistake("train-bad-yaml", ["train", "{bad_yaml}"], "not valid YAML"),
    Mistake("train-list-yaml", ["train", "{list_yaml}"], "expected a mapping"),
    Mistake("train-unknown-key", ["train", "{ppo}", "--set", "totl_steps=5", "--run-dir",
                                  "{tmp}/t1"], "totl_steps: unknown key", watch=["{tmp}/t1"]),
    Mistake("train-set-without-equals", ["train", "{ppo}", "--set", "total_steps", "--run-dir",
                                         "{tmp}/t1"], "expected KEY=VALUE", watch=["{tmp}/t1"]),
    Mistake("train-set-into-a-scalar", ["train", "{ppo}", "--set", "reward.alpha=0.5",
                                        "--run-dir", "{tmp}/t1"], "not a mapping",
            watch=["{tmp}/t1"]),
    Mistake("train-dqn-continuous", ["train", "{sac}", "--set", "algorithm.name=DQN",
                                     "--run-dir", "{tmp}/t2"],
            "algorithm.name: DQN needs a Discrete action space", watch=["{tmp}/t2"]),
    Mistake("train-sac-on-cartpole", ["train", "{ppo}", "--set", "algorithm.name=SAC",
                                      "--set", "algorithm.hyperparameters={{}}",
                                      "--run-dir", "{tmp}/t3"],
            "algorithms that fit: PPO, DQN", watch=["{tmp}/t3"]),
    Mistake("train-learning-rate-text", ["train", "{ppo}", "--set",
                                         "algorithm.hyperparameters.learning_rate=fast",
                                         "--run-dir", "{tmp}/t4"],
            "algorithm.hyperparameters.learning_rate: expected a number or a schedule",
            watch=["{tmp}/t4"]),
    Mistake("train-learning-rate-bool", ["train", "{ppo}", "--set",
                                         "algorithm.hyperparameters.learning_rate=true",
                                         "--run-dir", "{tmp}/t4"], "learning_rate",
            watch=["{tmp}/t4"]),
    Mistake("train-n-steps-zero", ["train", "{ppo}", "--set",
                                   "algorithm.hyperparameters.n_steps=0", "--run-dir",
                                   "{tmp}/t5"],
            "algorithm.hyperparameters.n_steps: expected a positive integer", watch=["{tmp}/t5"]),
    Mistake("train-n-steps-times-envs", ["train", "{ppo}", "--set",
                                         "algorithm.hyperparameters.n_steps=1", "--run-dir",
                                         "{tmp}/t5"], "n_steps * n_envs", watch=["{tmp}/t5"]),
    Mistake("train-batch-size-fraction", ["train", "{ppo}", "--set",
                                          "algorithm.hyperparameters.batch_size=2.5",
                                          "--run-dir", "{tmp}/t5"], "batch_size: expected an "
            "integer", watch=["{tmp}/t5"]),
    Mistake("train-ppo-batch-size-one", ["train", "{ppo}", "--set",
                                         "algorithm.hyperparameters.batch_size=1", "--run-dir",
                                         "{tmp}/t5"], "at least 2", watch=["{tmp}/t5"]),
    Mistake("train-gamma-above-one", ["train", "{ppo}", "--set",
                                      "algorithm.hyperparameters.gamma=1.5", "--run-dir",
                                      "{tmp}/t5"], "gamma: expected a number in [0, 1]",
            watch=["{tmp}/t5"]),
    Mistake("train-negative-buffer", ["train", "{sac}", "--set",
                                      "algorithm.hyperparameters.buffer_size=-5", "--run-dir",
                                      "{tmp}/t5"], "buffer_size", watch=["{tmp}/t5"]),
    Mistake("train-bad-train-freq-unit", ["train", "{sac}", "--set",
                                          "algorithm.hyperparameters.train_freq=[1, hour]",
                                          "--run-dir", "{tmp}/t5"], "train_freq",
            watch=["{tmp}/t5"]),
    Mistake("train-episodic-many-envs", ["train", "{sac}", "--set", "n_envs=2", "--set",
                                         "algorithm.hyperparameters.train_freq=[1, episode]",
                                         "--run-dir", "{tmp}/t5"], "one env only",
            watch=["{tmp}/t5"]),
    Mistake("train-sac-ent-coef-text", ["train", "{sac}", "--set",
                                        "algorithm.hyperparameters.ent_coef=lots",
                                        "--run-dir", "{tmp}/t5"], "ent_coef", watch=["{tmp}/t5"]),
    Mistake("train-unknown-policy", ["train", "{ppo}", "--set", "algorithm.policy=NoSuchPolicy",
                                     "--run-dir", "{tmp}/t6"],
            "valid: MlpPolicy, CnnPolicy, MultiInputPolicy", watch=["{tmp}/t6"]),
    Mistake("train-policy-kwargs-unknown", ["train", "{ppo}", "--set",
                                            "algorithm.hyperparameters.policy_kwargs={{layers: 2}}",
                                            "--run-dir", "{tmp}/t6"],
            "policy_kwargs.layers is not an argument of the policy", watch=["{tmp}/t6"]),
    Mistake("train-policy-kwargs-bad-net-arch", ["train", "{ppo}", "--set",
                                                 "algorithm.hyperparameters.policy_kwargs="
                                                 "{{net_arch: wide}}", "--run-dir", "{tmp}/t6"],
            "policy_kwargs.net_arch: expected a list", watch=["{tmp}/t6"]),
    Mistake("train-cnn-on-vectors", ["train", "{ppo}", "--set", "algorithm.policy=CnnPolicy",
                                     "--run-dir", "{tmp}/t6"], "CnnPolicy needs image",
            watch=["{tmp}/t6"]),
    Mistake("train-gsde-discrete", ["train", "{ppo}", "--set",
                                    "algorithm.hyperparameters.use_sde=true", "--run-dir",
                                    "{tmp}/t6"], "use_sde", watch=["{tmp}/t6"]),
    Mistake("train-reserved-hyperparameter", ["train", "{ppo}", "--set",
                                              "algorithm.hyperparameters.seed=1", "--run-dir",
                                              "{tmp}/t7"], "set by vlm-reward",
            watch=["{tmp}/t7"]),
    Mistake("train-unknown-hyperparameter", ["train", "{ppo}", "--set",
                                             "algorithm.hyperparameters.lr=1", "--run-dir",
                                             "{tmp}/t7"], "lr is not a PPO argument",
            watch=["{tmp}/t7"]),
    Mistake("train-unknown-algorithm", ["train", "{ppo}", "--set", "algorithm.name=A2C",
                                        "--run-dir", "{tmp}/t7"], "algorithm.name",
            watch=["{tmp}/t7"]),
    Mistake("train-zero-steps", ["train", "{ppo}", "--set", "total_steps=0", "--run-dir",
                                 "{tmp}/t7"], "total_steps", watch=["{tmp}/t7"]),
    Mistake("train-zero-envs", ["train", "{ppo}", "--set", "n_envs=0", "--run-dir", "{tmp}/t7"],
            "n_envs", watch=["{tmp}/t7"]),
    Mistake("train-unknown-device", ["train", "{ppo}", "--set", "device=tpu", "--run-dir",
                                     "{tmp}/t7"], "device: expected 'auto'", watch=["{tmp}/t7"]),
    Mistake("train-unknown-env", ["train", "{ppo}", "--set", "env.id=vlm_reward/CartPol-v0",
                                  "--run-dir", "{tmp}/t8"], "vlm_reward/CartPole-v0",
            watch=["{tmp}/t8"]),
    Mistake("train-run-dir-is-a-file", ["train", "{ppo}", "--run-dir", "{file}"],
            "--run-dir: ", watch=["{file}"]),
    Mistake("train-run-dir-under-a-file", ["train", "{ppo}", "--run-dir", "{file}/run"],
            "which is a file", watch=["{file}"]),
    Mistake("train-run-dir-unwritable", ["train", "{ppo}", "--run-dir", UNWRITABLE],
            "cannot write", needs_unwritable=True),
    Mistake("train-run-dir-holds-a-run", ["train", "{ppo}", "--run-dir", "{run_done}"],
            "already holds a run", watch=["{run_done}"]),
    Mistake("train-resume-with-set", ["train", "--resume", "{run_done}", "--set", "seed=1"],
            "only total_steps may change", watch=["{run_done}"]),
    Mistake("train-resume-not-a-run", ["train", "--resume", "{tmp}/empty"], "does not exist",
            watch=["{tmp}/empty"]),
    # evaluate
    Mistake("evaluate-no-run-dir", ["evaluate"], "Missing argument", usage=True),
    Mistake("evaluate-missing-run", ["evaluate", "{tmp}/no-run"], "does not exist",
            watch=["{tmp}/no-run"]),
    Mistake("evaluate-run-dir-is-a-file", ["evaluate", "{file}"], "RUN_DIR: ",
            watch=["{file}"]),
    Mistake("evaluate-run-dir-unwritable", ["evaluate", "/proc/sys/kernel"], "cannot write",
            needs_unwritable=True),
    Mistake("evaluate-zero-episodes", ["evaluate", "{run_nockpt}", "--episodes", "0"],
            "episodes", watch=["{run_nockpt}"]),
    Mistake("evaluate-no-checkpoint", ["evaluate", "{run_nockpt}"], "no checkpoint found",
            watch=["{run_nockpt}"]),
    # eval collect
    Mistake("collect-no-env", ["eval", "collect", "{tmp}/c0"], "Missing option", usage=True),
    Mistake("collect-out-is-a-file", ["eval", "collect", "{file}", "--env", "CartPole-v1"],
            "OUT: ", watch=["{file}"]),
    Mistake("collect-out-under-a-file", ["eval", "collect", "{file}/ds", "--env", "CartPole-v1"],
            "which is a file", watch=["{file}"]),
    Mistake("collect-out-unwritable", ["eval", "collect", UNWRITABLE, "--env", "CartPole-v1"],
            "cannot write", needs_unwritable=True),
    Mistake("collect-unknown-env", ["eval", "collect", "{tmp}/c1", "--env", "CartPol-v1"],
            "CartPole-v1", watch=["{tmp}/c1"]),
    Mistake("collect-unknown-policy", ["eval", "collect", "{tmp}/c2", "--env", "CartPole-v1",
                                       "--policy", "clever"], "clever", watch=["{tmp}/c2"]),
    Mistake("collect-bad-env-kwarg", ["eval", "collect", "{tmp}/c3", "--env", "CartPole-v1",
                                      "--env-kwarg", "nokey"], "KEY=VALUE", watch=["{tmp}/c3"]),
    Mistake("collect-existing-dataset", ["eval", "collect", "{dataset}", "--env", "CartPole-v1"],
            "--overwrite", watch=["{dataset}"]),
    Mistake("collect-zero-episodes", ["eval", "collect", "{tmp}/c4", "--env", "CartPole-v1",
                                      "--episodes", "0"], "episodes", watch=["{tmp}/c4"]),
    Mistake("collect-zero-width", ["eval", "collect", "{tmp}/c6", "--env", "CartPole-v1",
                                   "--width", "0"], "--width", watch=["{tmp}/c6"]),
    Mistake("collect-unknown-sweep-variable", ["eval", "collect", "{tmp}/c5", "--env",
                                               "vlm_reward/CartPole-v0", "--sweep", "height"],
            "height", watch=["{tmp}/c5"]),
    # eval info / import-labels
    Mistake("info-missing-dataset", ["eval", "info", "{tmp}/no-ds"], "no-ds"),
    Mistake("import-labels-missing-csv", ["eval", "import-labels", "{dataset}",
                                          "{tmp}/nope.csv"], "nope.csv", watch=["{dataset}"]),
    Mistake("import-labels-read-only-dataset", ["eval", "import-labels", "/proc/sys/kernel",
                                                "{tmp}/nope.csv"], "cannot write",
            needs_unwritable=True),
    # eval metrics
    Mistake("metrics-missing-dataset", ["eval", "metrics", "{tmp}/no-ds", "-m", "demo", "-g", "x"],
            "no-ds"),
    Mistake("metrics-no-reward", ["eval", "metrics", "{dataset}"], "give --model with --goal",
            watch=["{dataset}"]),
    Mistake("metrics-rewards-and-model", ["eval", "metrics", "{dataset}", "--rewards",
                                          "{rewards_short}", "-m", "demo"], "exclusive",
            watch=["{dataset}"]),
    Mistake("metrics-rewards-wrong-length", ["eval", "metrics", "{dataset}", "--rewards",
                                             "{rewards_short}"], "the dataset has",
            watch=["{dataset}"]),
    Mistake("metrics-out-is-a-file", ["eval", "metrics", "{dataset}", "-m", "demo", "-g", "x",
                                      "--out", "{file}"], "--out: ", watch=["{file}", "{dataset}"]),
    Mistake("metrics-unknown-state", ["eval", "metrics", "{dataset}", "-m", "demo", "-g", "x",
                                      "--reference", "state:height"], "height",
            watch=["{dataset}"]),
    Mistake("metrics-no-human-labels", ["eval", "metrics", "{dataset}", "-m", "demo", "-g", "x",
                                        "--reference", "human"], "label", watch=["{dataset}"]),
    Mistake("metrics-alpha-without-baseline", ["eval", "metrics", "{dataset}", "-m", "demo",
                                               "-g", "x", "-a", "0.5"], "baseline",
            watch=["{dataset}"]),
    # eval sweep
    Mistake("sweep-out-is-a-file", ["eval", "sweep", "-e", "vlm_reward/CartPole-v0", "-m",
                                    "demo", "-g", "x", "--out", "{file}"], "--out: ",
            watch=["{file}"]),
    Mistake("sweep-unknown-variable", ["eval", "sweep", "-e", "vlm_reward/CartPole-v0", "-m",
                                       "demo", "-g", "x", "--variable", "height", "--out",
                                       "{tmp}/s1"], "height", watch=["{tmp}/s1"]),
    Mistake("sweep-negative-height", ["eval", "sweep", "-e", "CartPole-v1", "-m", "demo", "-g",
                                      "x", "--height", "-4", "--out", "{tmp}/s3"], "--height",
            watch=["{tmp}/s3"]),
    Mistake("sweep-one-point", ["eval", "sweep", "-e", "vlm_reward/CartPole-v0", "-m", "demo",
                                "-g", "x", "--n", "1", "--out", "{tmp}/s4"], "at least 2",
            watch=["{tmp}/s4"]),
    Mistake("sweep-unknown-env", ["eval", "sweep", "-e", "vlm_reward/CartPol-v0", "-m", "demo",
                                  "-g", "x", "--out", "{tmp}/s2"], "CartPole",
            watch=["{tmp}/s2"]),
    # eval alpha
    Mistake("alpha-without-baseline", ["eval", "alpha", "{dataset}", "-m", "demo", "-g", "x"],
            "--baseline", watch=["{dataset}"]),
    Mistake("alpha-bad-list", ["eval", "alpha", "{dataset}", "-m", "demo", "-g", "x", "-b", "y",
                               "--alphas", "0,abc"], "abc", watch=["{dataset}"]),
    Mistake("alpha-out-under-a-file", ["eval", "alpha", "{dataset}", "-m", "demo", "-g", "x",
                                       "-b", "y", "--out", "{file}/alpha"], "which is a file",
            watch=["{file}", "{dataset}"]),
    Mistake("alpha-unknown-x", ["eval", "alpha", "{dataset}", "-m", "demo", "-g", "x", "-b", "y",
                                "--x", "height"], "--x", watch=["{dataset}"]),
    # eval models
    Mistake("models-alpha-without-baseline", ["eval", "models", "{dataset}", "-m", "demo", "-g",
                                              "x", "-a", "0.5"], "--baseline",
            watch=["{dataset}"]),
    Mistake("models-out-is-a-file", ["eval", "models", "{dataset}", "-m", "demo", "-g", "x",
                                     "--out", "{file}"], "--out: ", watch=["{file}", "{dataset}"]),
    Mistake("models-unknown-model", ["eval", "models", "{dataset}", "-m", "ViT-B-23/openai",
                                     "-g", "x"], "did you mean", watch=["{dataset}"]),
    # eval prompts
    Mistake("prompts-no-pairs", ["eval", "prompts", "{dataset}", "-m", "demo"], "--pair",
            watch=["{dataset}"]),
    Mistake("prompts-missing-pairs-file", ["eval", "prompts", "{dataset}", "-m", "demo",
                                           "--pairs-file", "{tmp}/pairs.txt"], "does not exist",
            watch=["{dataset}"]),
    Mistake("prompts-unknown-rank", ["eval", "prompts", "{dataset}", "-m", "demo", "--pair",
                                     "a | b", "--rank-by", "vibes"], "vibes",
            watch=["{dataset}"]),
    Mistake("prompts-out-is-a-file", ["eval", "prompts", "{dataset}", "-m", "demo", "--pair",
                                      "a | b", "--out", "{file}"], "--out: ",
            watch=["{file}", "{dataset}"]),
    # label
    Mistake("label-missing-path", ["label", "{tmp}/nothing-here", "--no-browser"],
            "nothing-here"),
    Mistake("label-export-to-a-folder", ["label", "{dataset}", "--export", "{tmp}/empty"],
            "is a folder; give a file path", watch=["{tmp}/empty", "{dataset}"]),
    Mistake("label-export-under-a-file", ["label", "{dataset}", "--export",
                                          "{file}/labels.csv"], "which is a file",
            watch=["{file}", "{dataset}"]),
    Mistake("label-export-unwritable", ["label", "{dataset}", "--export",
                                        UNWRITABLE + "/labels.csv"], "cannot write",
            needs_unwritable=True),
    Mistake("label-export-no-labels", ["label", "{dataset}", "--export", "{tmp}/labels.csv"],
            "no labels yet", watch=["{tmp}/labels.csv", "{dataset}"]),
    Mistake("label-zero-fps", ["label", "{dataset}", "--no-browser", "--clips", "--fps", "0"],
            "fps", watch=["{dataset}"]),
    Mistake("label-bad-rater", ["label", "{dataset}", "--no-browser", "--rater", "a/b"],
            "rater", watch=["{dataset}"]),
    # demo
    Mistake("demo-out-is-a-file", ["demo", "--out", "{file}"], "is a file", watch=["{file}"]),
    Mistake("demo-out-under-a-file", ["demo", "--out", "{file}/demo"], "which is a file",
            watch=["{file}"]),
    Mistake("demo-out-unwritable", ["demo", "--out", UNWRITABLE], "cannot write",
            needs_unwritable=True),
    Mistake("demo-too-few-steps", ["demo", "--steps", "1", "--out", "{tmp}/d1"], "steps",
            watch=["{tmp}/d1"]),
    Mistake("demo-zero-eval-episodes", ["demo", "--eval-episodes", "0", "--out", "{tmp}/d1"],
            "eval_episodes", watch=["{tmp}/d1"]),
    Mistake("demo-out-holds-a-run", ["demo", "--out", "{run_done}"], "already holds a run",
            watch=["{run_done}"]),
]


def _write_yaml(path: Path, data: object) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Inputs the mistakes point at; no case may change them."""
    import imageio.v3 as iio

    from vlm_reward.evaluation.collect import collect_dataset

    tmp = tmp_path_factory.mktemp("mistakes")
    (tmp / "empty").mkdir()
    (tmp / "file.txt").write_text("keep me\n")
    (tmp / "bad.png").write_bytes(b"not an image")
    iio.imwrite(tmp / "a.png", np.zeros((32, 32, 3), dtype=np.uint8))
    (tmp / "bad.yaml").write_text("env: {id: [unclosed\n")
    paths = {
        "tmp": str(tmp), "file": str(tmp / "file.txt"), "png": str(tmp / "a.png"),
        "corrupt": str(tmp / "bad.png"), "bad_yaml": str(tmp / "bad.yaml"),
        "list_yaml": _write_yaml(tmp / "list.yaml", ["env", "reward"]),
        "ppo": _write_yaml(tmp / "ppo.yaml", PPO_CARTPOLE),
        "sac": _write_yaml(tmp / "sac.yaml", SAC_MOUNTAINCAR),
    }
    for name, with_checkpoint in (("run_nockpt", False), ("run_done", True)):
        run = tmp / name
        (run / "checkpoints").mkdir(parents=True)
        _write_yaml(run / "config.yaml", PPO_CARTPOLE)
        if with_checkpoint:
            (run / "checkpoints" / "latest.json").write_text('{"num_timesteps": 0}')
        paths[name] = str(run)
    ds = collect_dataset(tmp / "dataset", "CartPole-v1", episodes=1, max_steps=4, width=32,
                         height=32, progress=False)
    paths["dataset"] = str(ds.root)
    np.save(tmp / "short.npy", np.zeros(len(ds) + 3))
    paths["rewards_short"] = str(tmp / "short.npy")
    return paths


def _snapshot(path: Path) -> object:
    if path.is_file():
        return path.read_bytes()
    if path.is_dir():
        return sorted((str(p.relative_to(path)), p.is_file() and p.stat().st_mtime_ns)
                      for p in path.rglob("*"))
    return None


def _invoke(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(app, args, env=env)


def test_the_battery_is_large_and_distinct() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({tuple(c.args) for c in CASES}) == len(CASES)
    commands = {c.args[0] if c.args[0] != "eval" else f"eval {c.args[1]}" for c in CASES}
    for command in ("doctor", "models", "score", "render", "train", "evaluate", "eval collect",
                    "eval metrics", "eval sweep", "eval alpha", "eval models", "eval prompts",
                    "label", "demo"):
        assert command in commands, command


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mistake_is_one_line_exit_2(case: Mistake, ws: dict[str, str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if case.needs_unwritable and CAN_WRITE_PROC:
        pytest.skip("no read-only folder on this machine")
    monkeypatch.chdir(ws["tmp"])  # default output folders (runs/, sweeps/) land here
    args = [a.format(**ws) for a in case.args]
    watched = [Path(w.format(**ws)) for w in case.watch]
    before = [_snapshot(p) for p in watched]
    result = _invoke(args)
    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, err, result.exception)
    assert "Traceback" not in err and "Traceback" not in result.stdout
    if case.usage:
        assert "Error" in err and case.expect in err, err
    else:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert case.expect in lines[0], err
    assert [_snapshot(p) for p in watched] == before, "the command wrote before failing"


def test_debug_flag_and_env_var_show_the_traceback(ws: dict[str, str]) -> None:
    args = ["score", "-g", "x", "--alpha", "2", ws["png"]]
    for result in (_invoke(["--debug", *args]), _invoke(args, env={"VLM_REWARD_DEBUG": "1"})):
        assert result.exit_code == 2
        assert "Traceback" in result.stderr and "ConfigError" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("error: --alpha")


@app.command("_raise-dependency", hidden=True)
def _raise_dependency() -> None:
    raise DependencyNotInstalled("mujoco", "mujoco", "The Humanoid environment")


def test_missing_dependency_keeps_the_extra_in_the_pip_command() -> None:
    result = _invoke(["_raise-dependency"])
    assert result.exit_code == 2
    assert "pip install 'vlm-reward[mujoco]'" in result.stderr, result.stderr


def test_text_that_looks_like_markup_is_printed_as_is(ws: dict[str, str]) -> None:
    result = _invoke(["score", "-g", "x", f"{ws['tmp']}/[bold]frames[/].png"])
    assert result.exit_code == 2
    assert "[bold]frames[/].png" in result.stderr, result.stderr


def _run_cli(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "vlm_reward", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)


def test_entry_point_mistake_is_one_line(ws: dict[str, str], tmp_path: Path) -> None:
    proc = _run_cli("train", ws["ppo"], "--set", "algorithm.hyperparameters.learning_rate=fast",
                    "--run-dir", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: ") and "learning_rate" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_bug_keeps_its_traceback_and_exits_1() -> None:
    proc = _run_cli(code=(
        "from vlm_reward.cli import app, main\n"
        "@app.command('boom')\n"
        "def boom() -> None:\n"
        "    raise RuntimeError('a real bug')\n"
        "main(['boom'])\n"
    ))
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError: a real bug" in proc.stderr


def test_default_run_folder_is_checked_too(ws: dict[str, str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").write_text("not a folder")
    result = _invoke(["train", ws["ppo"]])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --run-dir: runs is a file"), result.stderr
    assert (tmp_path / "runs").read_text() == "not a folder"
