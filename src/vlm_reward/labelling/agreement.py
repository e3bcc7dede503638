"""How much raters agree: pairwise percent agreement, Cohen's kappa, Fleiss' kappa.

Kappa corrects raw agreement for the agreement expected by chance from each rater's label
frequencies. Both are computed over the three categories success / failure / unsure; an item
counts for a pair only if both raters labelled it, and for Fleiss' kappa only if every rater
did (Fleiss' formula assumes the same number of ratings per item). The kappas come from
scikit-learn (:func:`sklearn.metrics.cohen_kappa_score`) and statsmodels
(:func:`statsmodels.stats.inter_rater.fleiss_kappa`); this module only arranges the labels.

When chance agreement is already 1 (e.g. both raters only ever said "success") kappa is
undefined and reported as None rather than a misleading number.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from vlm_reward.evaluation.labels import LABEL_VALUES

__all__ = ["agreement_report", "cohen_kappa", "fleiss_kappa", "percent_agreement"]


def percent_agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Fraction of items on which two raters gave the same label (0..1)."""
    if len(a) != len(b) or not a:
        raise ValueError("need two equally long, non-empty label lists")
    return float(np.mean(np.asarray(a, dtype=object) == np.asarray(b, dtype=object)))


def _defined(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def cohen_kappa(a: Sequence[str], b: Sequence[str], categories: Sequence[str] = LABEL_VALUES
                ) -> float | None:
    """Cohen's kappa of two raters over the same items; None if chance agreement is 1."""
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import cohen_kappa_score

    if len(a) != len(b) or not a:
        raise ValueError("need two equally long, non-empty label lists")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 when chance agreement is 1
        kappa = cohen_kappa_score(list(a), list(b), labels=list(categories),
                                  replace_undefined_by=np.nan)
    return _defined(kappa)


def fleiss_kappa(ratings: Sequence[Sequence[str]], categories: Sequence[str] = LABEL_VALUES
                 ) -> float | None:
    """Fleiss' kappa: ``ratings[i]`` holds the labels of every rater for item ``i``.

    Every item must have the same number (>= 2) of ratings. Returns None if chance agreement
    is 1 (one category used throughout).
    """
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    if not ratings:
        raise ValueError("need at least one item")
    m = len(ratings[0])
    if m < 2 or any(len(r) != m for r in ratings):
        raise ValueError("every item needs the same number (>= 2) of ratings")
    # statsmodels takes the (items, categories) table of how many raters chose each category.
    table = np.array([[list(r).count(c) for c in categories] for r in ratings])
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        kappa = statsmodels_fleiss(table, method="fleiss")
    return _defined(kappa)


def agreement_report(labels: Mapping[str, Mapping[int, str]]) -> dict[str, Any]:
    """Agreement between raters given ``{rater: {index: label}}``.

    Returns a JSON-ready dict: ``raters``, ``pairs`` (one entry per pair with ``n_common``,
    ``percent_agreement``, ``cohen_kappa``; the latter two None when the pair shares no
    item) and ``fleiss`` (``n_items`` labelled by every rater and ``kappa``) when there are
    more than two raters.
    """
    raters = sorted(labels)
    pairs = []
    for r1, r2 in combinations(raters, 2):
        common = sorted(set(labels[r1]) & set(labels[r2]))
        a = [labels[r1][i] for i in common]
        b = [labels[r2][i] for i in common]
        pairs.append({
            "raters": [r1, r2],
            "n_common": len(common),
            "percent_agreement": percent_agreement(a, b) if common else None,
            "cohen_kappa": cohen_kappa(a, b) if common else None,
        })
    report: dict[str, Any] = {"raters": raters, "pairs": pairs, "fleiss": None}
    if len(raters) > 2:
        shared = set.intersection(*(set(labels[r]) for r in raters))
        items = sorted(shared)
        report["fleiss"] = {
            "n_items": len(items),
            "kappa": fleiss_kappa([[labels[r][i] for r in raters] for i in items])
            if items else None,
        }
    return report
