"""Human evaluation: a local web app to label agent behaviour, and what to do with the labels.

* :func:`open_source` sees a dataset folder (frames or ``--clips`` episodes) or a run folder
  (``videos/*.mp4``) as a numbered list of items.
* :class:`LabelStore` keeps every answer in ``labels.sqlite`` next to the data, durably. It,
  the labels CSV and the voting rule are the dataset contract and live in
  :mod:`vlm_reward.evaluation.labels`, which ``vlm-reward eval`` reads too.
* :func:`agreement_report` computes percent agreement and Cohen's / Fleiss' kappa.
* :func:`human_success_rate` gives the success rate by human verdict, to report next to
  automatic metrics.
* :func:`create_app` / :func:`serve` run the FastAPI page (extra ``web``).

Only the store, agreement and summary are imported eagerly; the web parts need FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlm_reward.evaluation.labels import LabelRow, LabelStore
from vlm_reward.labelling.agreement import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    percent_agreement,
)
from vlm_reward.labelling.items import Item, ItemSource, open_source
from vlm_reward.labelling.summary import human_success_rate, read_labels

__all__ = [
    "Item",
    "ItemSource",
    "LabelRow",
    "LabelStore",
    "agreement_report",
    "cohen_kappa",
    "create_app",
    "fleiss_kappa",
    "human_success_rate",
    "open_source",
    "percent_agreement",
    "read_labels",
    "serve",
]

if TYPE_CHECKING:
    from vlm_reward.labelling.app import create_app
    from vlm_reward.labelling.server import serve


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from vlm_reward.labelling.app import create_app

        return create_app
    if name == "serve":
        from vlm_reward.labelling.server import serve

        return serve
    raise AttributeError(f"module 'vlm_reward.labelling' has no attribute {name!r}")
