"""Findings open with a plain sentence, the statistics after it: the words, and every finding on the sample."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT

from calib.analyses.wording import chance, how_often, p_value, steps


@pytest.mark.parametrize(
    ("points", "words"),
    [
        (1.04, "about one step"),
        (-0.9, "about one step"),
        (0.7, "about half a step"),
        (0.3, "about half a step"),
        (0.2, "less than a quarter of a step"),
        (1.4, "about one and a half steps"),
        (2.1, "about two steps"),
        (2.6, "about 2.5 steps"),
    ],
)
def test_points_are_said_as_steps_of_the_scale(points, words):
    assert steps(points) == words


@pytest.mark.parametrize(
    ("rate", "reference", "words"),
    [
        (0.23, 0.43, "about half as often"),
        (0.10, 0.15, "about two-thirds as often"),
        (0.33, 0.43, "about three-quarters as often"),
        (0.05, 0.50, "less than a fifth as often"),
        (0.0, 0.15, "never"),
        (0.20, 0.10, "about twice as often"),
        (0.061, 0.024, "about 2.5 times as often"),
        (0.30, 0.10, "about three times as often"),
        (0.15, 0.10, "about one and a half times as often"),
        (0.11, 0.10, "a little more often"),
        (0.90, 0.05, "more than ten times as often"),
    ],
)
def test_a_ratio_of_rates_is_said_as_how_often(rate, reference, words):
    assert how_often(rate, reference) == words


def test_p_values_read_once_and_plainly():
    assert p_value(4.36e-09) == "p < 0.001"
    assert p_value(0.0069) == "p = 0.0069"
    assert p_value(0.2213) == "p = 0.22"
    assert p_value(3e-7, "q") == "q < 0.001"
    assert p_value(float("nan")) == "p not computed"
    assert chance(True) == "unlikely to be chance" and chance(False) == "could be chance"


STATISTICS = re.compile(r"\bp [=<]|\bq [=<]|95% interval|impact ratio|chi-square|ICC", re.IGNORECASE)
PLAIN_FIRST = {  # kinds whose explanation carries statistics -> the plain words its first sentence must hold
    "rater_leniency": "than comparable managers",
    "rater_severity": "than comparable managers",
    "forced_distribution": "follow the guideline curve almost exactly",
    "org_forced_distribution": "spread almost the same way",
    "central_tendency": "gives nearly everyone the middle rating",
    "discipline_gap": "At the same level",
    "adverse_impact": "People recorded as",
    "recency_bias": "at the end of the cycle",
    "team_context_mismatch": "than the rest of the org although its results are",
    "rating_drift": "more than everyone else's since",
}


def test_every_finding_on_the_sample_opens_with_a_plain_sentence(sample_analysis):
    document = json.loads((sample_analysis / "findings.json").read_text(encoding="utf-8"))
    kinds = set()
    for finding in document["findings"]:
        text = finding["explanation"]
        first = re.split(r"(?<=[.;:])\s", text, maxsplit=1)[0]
        assert not STATISTICS.search(first), f"statistics before the plain words: {text}"
        assert "p = p =" not in text and "e-0" not in text, text  # "Holm-adjusted p = p = 0.22", "4.36e-09"
        if finding["kind"] in PLAIN_FIRST:
            assert PLAIN_FIRST[finding["kind"]] in first, text
            if STATISTICS.search(text):
                kinds.add(finding["kind"])
    assert kinds >= {"rater_leniency", "forced_distribution", "adverse_impact", "recency_bias", "central_tendency"}


@pytest.fixture(scope="module")
def sample_analysis(tmp_path_factory):
    from calib.apps import serve

    sample = ROOT / "data_samples" / "cycle.yml"
    return serve.ensure_analysis(sample, tmp_path_factory.mktemp("cache"), log=lambda *_: None)
