"""Metrics against values computed by hand on small examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from vlm_reward.evaluation.errors import MetricError
from vlm_reward.evaluation.metrics import (
    bootstrap_ci,
    compute_metrics,
    epic_distance,
    pearson,
    roc_auc,
    spearman,
)

# x = [1, 2, 3, 4], y = [1, 3, 2, 4]: centred x = y-ish = [-1.5, -0.5, 0.5, 1.5] and
# [-1.5, 0.5, -0.5, 1.5]; sum of products = 2.25 - 0.25 - 0.25 + 2.25 = 4; sum of squares 5
# each, so r = 4 / 5 = 0.8 and EPIC = sqrt((1 - 0.8) / 2) = sqrt(0.1).
X = [1.0, 2.0, 3.0, 4.0]
Y = [1.0, 3.0, 2.0, 4.0]


def test_pearson_by_hand() -> None:
    assert pearson(X, Y) == pytest.approx(0.8)
    assert pearson(X, [-v for v in Y]) == pytest.approx(-0.8)


def test_pearson_ignores_shift_and_positive_scale() -> None:
    assert pearson(X, [10 + 3 * v for v in Y]) == pytest.approx(0.8)


def test_epic_by_hand() -> None:
    assert epic_distance(X, Y) == pytest.approx(math.sqrt(0.1))
    assert epic_distance(X, X) == pytest.approx(0.0, abs=1e-7)
    assert epic_distance(X, [-v for v in X]) == pytest.approx(1.0)
    # EPIC is invariant to the constant shift that canonicalisation of a state-only reward adds.
    assert epic_distance(X, [v - 7.5 for v in Y]) == pytest.approx(math.sqrt(0.1))


def test_spearman_by_hand_with_ties() -> None:
    # Monotone transform of x leaves the ranks, so Spearman = Pearson of ranks = 0.8.
    assert spearman([1, 20, 300, 4000], Y) == pytest.approx(0.8)
    # Ties: x ranks [1.5, 1.5, 3, 4], y ranks [1, 2, 3, 4]. Centred: [-1, -1, 0.5, 1.5] and
    # [-1.5, -0.5, 0.5, 1.5]; products 1.5 + 0.5 + 0.25 + 2.25 = 4.5; sums of squares 4.5 and 5,
    # so rho = 4.5 / sqrt(22.5) = 0.948683.
    assert spearman([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(22.5))


def test_roc_auc_by_hand() -> None:
    # Positives 0.35, 0.8 vs negatives 0.1, 0.4: pairs won 1 + 0 + 1 + 1 = 3 of 4.
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    # A tie counts one half: positive 0.5 vs negatives 0.5 (tie) and 0.2 (won) = 1.5 / 2.
    assert roc_auc([0.5, 0.2, 0.5], [0, 0, 1]) == pytest.approx(0.75)
    assert roc_auc([1, 2, 3], [0, 1, 1]) == pytest.approx(1.0)
    assert roc_auc([3, 2, 1], [0, 1, 1]) == pytest.approx(0.0)


def test_metrics_match_scipy_on_random_data() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0])
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0])


def test_undefined_metrics_raise_clear_errors() -> None:
    with pytest.raises(MetricError, match="constant"):
        pearson([1, 2, 3], [1, 1, 1])
    with pytest.raises(MetricError, match="both classes"):
        roc_auc([1, 2, 3], [1, 1, 1])
    with pytest.raises(MetricError, match="binary"):
        roc_auc([1, 2, 3], [0, 0.5, 1])
    with pytest.raises(MetricError, match="3 values but reference has 2"):
        pearson([1, 2, 3], [1, 2])
    with pytest.raises(MetricError, match="finite"):
        pearson([1, np.nan, 3], [1, 2, 3])


def test_bootstrap_is_seeded_and_brackets_a_strong_correlation() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + 0.3 * rng.normal(size=200)
    a = bootstrap_ci("pearson", x, y, n_boot=300, seed=3)
    b = bootstrap_ci("pearson", x, y, n_boot=300, seed=3)
    c = bootstrap_ci("pearson", x, y, n_boot=300, seed=4)
    assert a == b
    assert a != c
    r = pearson(x, y)
    assert a[0] < r < a[1]
    assert a[0] > 0.85 and a[1] < 1.0
    narrow = bootstrap_ci("pearson", x, y, n_boot=300, seed=3, confidence=0.5)
    assert a[0] < narrow[0] < narrow[1] < a[1]


def test_bootstrap_single_resample_matches_numpy_resampling() -> None:
    x, y = np.array(X), np.array(Y)
    low, high = bootstrap_ci("spearman", x, y, n_boot=1, seed=7)
    idx = np.random.default_rng(7).integers(0, 4, size=(1, 4))[0]
    expected = stats.spearmanr(x[idx], y[idx])[0]
    if np.isnan(expected):
        assert np.isnan(low)
    else:
        assert low == pytest.approx(expected) and high == pytest.approx(expected)


def test_compute_metrics_adds_auc_only_for_binary_references() -> None:
    scores = [0.1, 0.4, 0.35, 0.8]
    binary = compute_metrics(scores, [0, 0, 1, 1], n_boot=0)
    assert set(binary) == {"epic", "pearson", "spearman", "roc_auc"}
    assert binary["roc_auc"].value == pytest.approx(0.75)
    assert math.isnan(binary["roc_auc"].low)
    cont = compute_metrics(X, Y, n_boot=50)
    assert set(cont) == {"epic", "pearson", "spearman"}
    assert cont["epic"].value == pytest.approx(math.sqrt(0.1))
    assert cont["epic"].low <= cont["epic"].high
    assert cont["epic"].to_dict()["value"] == pytest.approx(math.sqrt(0.1))


def test_negative_n_boot_is_a_config_error_and_zero_means_no_interval() -> None:
    from vlm_reward.errors import ConfigError

    with pytest.raises(ConfigError, match=r"n-boot.*0 \(no confidence intervals\)"):
        compute_metrics(X, Y, n_boot=-1)
    with pytest.raises(ConfigError, match="n-boot"):
        bootstrap_ci("pearson", X, Y, n_boot=-5)
    none = compute_metrics(X, Y, n_boot=0)
    assert all(math.isnan(v.low) and math.isnan(v.high) for v in none.values())
    assert none["pearson"].to_dict() == {"value": pytest.approx(0.8), "low": None, "high": None}


def test_metrics_match_sklearn_and_a_plain_resampling_loop() -> None:
    """Values from the libraries; the paired interval equals a hand-written resampling loop
    drawing the same indices."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    labels = (rng.random(80) > 0.6).astype(float)
    scores = labels + rng.normal(size=80)
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    low, high = bootstrap_ci("pearson", scores, labels, n_boot=200, seed=11, chunk=200)
    idx = np.random.default_rng(11).integers(0, 80, size=(200, 80))
    loop = [stats.pearsonr(scores[i], labels[i])[0] for i in idx]
    assert (low, high) == pytest.approx(tuple(np.percentile(loop, [2.5, 97.5])))


def test_roc_auc_interval_resamples_each_class_and_brackets_the_value() -> None:
    rng = np.random.default_rng(2)
    labels = np.r_[np.ones(30), np.zeros(70)]
    scores = labels * 0.8 + rng.normal(size=100)
    auc = roc_auc(scores, labels)
    low, high = bootstrap_ci("roc_auc", scores, labels, n_boot=300, seed=0)
    assert 0.0 <= low < auc < high <= 1.0
    assert (low, high) == bootstrap_ci("roc_auc", scores, labels, n_boot=300, seed=0)
    # one positive state: a stratified resample cannot vary it, so there is no interval
    assert all(math.isnan(v) for v in bootstrap_ci("roc_auc", [0.1, 0.2, 0.9], [0, 0, 1]))


def test_eval_metrics_refuses_a_negative_n_boot_in_one_line(tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from vlm_reward.evaluation.dataset import DatasetWriter

    with DatasetWriter(tmp_path / "ds", env_id="Test-v0", state_names=("a",)) as writer:
        for i in range(4):
            writer.add(np.zeros((4, 4, 3), np.uint8), episode=0, step=i, state=[i],
                       env_reward=float(i), success=bool(i % 2))
    rewards = tmp_path / "r.npy"
    np.save(rewards, np.arange(4.0))
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "vlm_reward", "eval", "metrics",
                           str(tmp_path / "ds"), "--rewards", str(rewards), "--n-boot", "-1"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--n-boot" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = subprocess.run([sys.executable, "-m", "vlm_reward", "eval", "metrics",
                           str(tmp_path / "ds"), "--rewards", str(rewards), "--n-boot", "0"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "n/a" in proc.stdout and "nan" not in proc.stdout
