"""The multiplicity corrections equal statsmodels' on random and hand cases."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from calib.analyses.multiple import benjamini_hochberg, holm


def test_hand_case():
    p = np.array([0.01, 0.04, 0.03, 0.20])
    assert holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.20])  # 4*.01, max(3*.03, .04), 2*.04 -> .09, .2
    assert benjamini_hochberg(p) == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20])


@pytest.mark.parametrize("seed", range(5))
def test_equal_to_statsmodels(seed):
    p = np.random.default_rng(seed).uniform(size=37) ** 3
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    assert benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1])
    assert holm([]).size == 0
