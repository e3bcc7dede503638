"""Agreement values checked by hand (the arithmetic is in each test's comment)."""

from __future__ import annotations

import pytest

from vlm_reward.labelling.agreement import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    percent_agreement,
)

S, F, U = "success", "failure", "unsure"


def test_cohen_kappa_by_hand():
    a = [S, S, S, S, S, F, F, F, U, U]
    b = [S, S, S, F, F, F, F, U, U, S]
    # agree on items 0,1,2,5,6,8 -> po = 0.6
    # A: S .5 F .3 U .2 ; B: S .4 F .4 U .2 -> pe = .20 + .12 + .04 = .36
    # kappa = (.6 - .36) / (1 - .36) = .375
    assert percent_agreement(a, b) == pytest.approx(0.6)
    assert cohen_kappa(a, b) == pytest.approx(0.375)


def test_cohen_kappa_perfect_and_chance_level():
    assert cohen_kappa([S, F, S, F], [S, F, S, F]) == pytest.approx(1.0)
    # po = .5, both raters 50/50 -> pe = .5 -> kappa 0
    assert cohen_kappa([S, S, F, F], [S, F, S, F]) == pytest.approx(0.0)
    # only one category used by both: chance agreement is 1, kappa undefined
    assert cohen_kappa([S, S], [S, S]) is None


def test_fleiss_kappa_by_hand():
    ratings = [[S, S, S], [S, S, F], [F, F, F], [S, F, U]]
    # P_i = 1, 1/3, 1, 0 -> P_bar = 7/12
    # p_S = 6/12, p_F = 5/12, p_U = 1/12 -> Pe = (36 + 25 + 1) / 144 = 31/72
    # kappa = (7/12 - 31/72) / (1 - 31/72) = 11/41
    assert fleiss_kappa(ratings) == pytest.approx(11 / 41)


def test_fleiss_kappa_needs_equal_counts():
    with pytest.raises(ValueError):
        fleiss_kappa([[S, S], [S]])


def test_report_pairs_and_fleiss_over_items_every_rater_labelled():
    labels = {
        "ann": {1: S, 2: S, 3: F, 4: S},
        "bob": {1: S, 2: S, 3: F, 4: F},
        "cy": {1: S, 2: F, 3: F, 4: U, 9: S},  # item 9: cy only, ignored everywhere
    }
    report = agreement_report(labels)
    assert report["raters"] == ["ann", "bob", "cy"]
    ann_bob = report["pairs"][0]
    assert ann_bob["raters"] == ["ann", "bob"] and ann_bob["n_common"] == 4
    # ann S3 F1, bob S2 F2: po = 3/4, pe = .75*.5 + .25*.5 = .5 -> kappa = .5
    assert ann_bob["percent_agreement"] == pytest.approx(0.75)
    assert ann_bob["cohen_kappa"] == pytest.approx(0.5)
    # the Fleiss example above, item by item
    assert report["fleiss"] == {"n_items": 4, "kappa": pytest.approx(11 / 41)}


def test_report_with_two_raters_has_no_fleiss_and_disjoint_pairs_have_no_values():
    report = agreement_report({"ann": {1: S}, "bob": {2: F}})
    assert report["fleiss"] is None
    assert report["pairs"][0] == {"raters": ["ann", "bob"], "n_common": 0,
                                  "percent_agreement": None, "cohen_kappa": None}
