"""Reward-quality toolkit: measure a VLM reward before training on it.

Datasets of states (:mod:`.dataset`, :mod:`.collect`), human labels and the voting rule
(:mod:`.labels`), metrics against a reference
(:mod:`.metrics`: EPIC, Pearson, Spearman, ROC AUC, bootstrap CIs), state sweeps
(:mod:`.sweeps`), alpha sweeps (:mod:`.alpha`), model and prompt comparison (:mod:`.compare`),
plots (:mod:`.plots`), HTML reports (:mod:`.report`) and an embedding cache (:mod:`.cache`).
Names below are imported lazily so ``import vlm_reward.evaluation`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AlphaSweepResult",
    "DatasetWriter",
    "EmbeddingCache",
    "MetricValue",
    "StateDataset",
    "StateSweepResult",
    "alpha_sweep",
    "bootstrap_ci",
    "collect_dataset",
    "compare_models",
    "compare_prompts",
    "compute_metrics",
    "embed_dataset",
    "embed_frames",
    "epic_distance",
    "import_labels",
    "load_dataset",
    "pearson",
    "resolve_reference",
    "roc_auc",
    "run_state_sweep",
    "spearman",
    "sweep_dataset",
    "write_report",
]

_HOME = {
    "AlphaSweepResult": "alpha", "alpha_sweep": "alpha",
    "DatasetWriter": "dataset", "StateDataset": "dataset", "import_labels": "dataset",
    "load_dataset": "dataset",
    "EmbeddingCache": "cache", "embed_frames": "cache",
    "MetricValue": "metrics", "bootstrap_ci": "metrics", "compute_metrics": "metrics",
    "epic_distance": "metrics", "pearson": "metrics", "roc_auc": "metrics",
    "spearman": "metrics",
    "StateSweepResult": "sweeps", "run_state_sweep": "sweeps",
    "collect_dataset": "collect", "sweep_dataset": "collect",
    "compare_models": "compare", "compare_prompts": "compare",
    "embed_dataset": "scoring", "resolve_reference": "scoring",
    "write_report": "report",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'vlm_reward.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vlm_reward.evaluation.{module}"), name)
