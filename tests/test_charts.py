"""Charts: the spec carries what the reader must see; every chart renders offline to SVG."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc

from calib.analyses.distributions import rating_distribution
from calib.outputs import charts

LABELS = ["Low", "Mid", "High"]


def svg(chart) -> str:
    return vlc.vegalite_to_svg(chart.to_json())


def data_values(chart) -> list[dict]:
    spec = json.loads(chart.to_json())
    return [row for dataset in spec.get("datasets", {}).values() for row in dataset]


def test_distribution_chart_never_carries_suppressed_counts():
    frame = pd.DataFrame(
        {"team": ["a"] * 3 + ["b"] * 6 + ["c"] * 9, "final_rating": ["Low"] * 3 + ["Mid"] * 6 + ["High"] * 9}
    )
    frame["final_rating"] = frame["final_rating"].astype(pd.CategoricalDtype(LABELS, ordered=True))
    dist = rating_distribution(frame, by="team", labels=LABELS, min_group_size=5).assign(stage="calibrated")
    chart = charts.distribution_chart(
        dist, dimension="team", stage="calibrated", labels=LABELS, guideline={"Low": 0.2, "Mid": 0.6, "High": 0.2}
    )
    rows = data_values(chart)
    shares = [r for r in rows if r.get("share") is not None]
    assert {r["label"] for r in shares} == {"c (n=9)", "guideline"}
    notes = [r for r in rows if r.get("note")]
    assert {r["group"] for r in notes} == {"a", "b"} and all(r.get("count") is None for r in notes)
    assert "<svg" in svg(chart)


def test_caterpillar_marks_flagged_and_small_managers():
    effects = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3"],
            "n": [10, 3, 8],
            "raw_effect": [1.0, 0.9, -0.1],
            "lower": [0.6, -0.5, -0.5],
            "upper": [1.4, 2.3, 0.3],
            "shrunken_effect": [0.8, 0.3, -0.05],
            "flagged": [True, False, False],
            "small": [False, True, False],
        }
    )
    chart = charts.caterpillar_chart(effects, names={"M1": "Pseudonym 1"})
    rows = data_values(chart)
    status = {r["label"]: r["status"] for r in rows if "status" in r}
    assert status == {"Pseudonym 1 (n=10)": "flagged", "M2 (n=3)": "small team", "M3 (n=8)": "not flagged"}
    assert "<svg" in svg(chart)


def test_rating_colours_are_the_checked_diverging_scale():
    scale = charts.rating_colours(["a", "b", "c", "d", "e"]).to_dict()
    assert scale["range"] == charts.RATING_PALETTES[5] and scale["domain"] == ["a", "b", "c", "d", "e"]


# -- the palettes on a projector and for colour-blind viewers ---------------------------------------
WHITE = "#ffffff"
PALETTES = {
    **{f"ratings of {n}": colours for n, colours in charts.RATING_PALETTES.items()},
    "DORA levels": list(charts.LEVEL_COLOURS.values()),
    "flags": list(charts.FLAG_COLOURS.values()),
}
DEFICIENCIES = {"protanopia": "Protanomaly", "deuteranopia": "Deuteranomaly", "tritanopia": "Tritanomaly"}
MIN_DELTA_E = 15  # CIEDE2000 between any two colours of a palette, as each viewer sees them


def colour_science():
    """colour-science, imported without what it leaves behind: without matplotlib it puts MagicMocks in
    sys.modules under matplotlib's names, which later imports take for matplotlib (pyspark does)."""
    import sys
    from unittest.mock import MagicMock

    import colour

    for name in [n for n, module in sys.modules.items() if isinstance(module, MagicMock)]:
        del sys.modules[name]
    return colour


def linear_rgb(colour_hex: str) -> np.ndarray:
    colour = colour_science()
    rgb = np.array([int(colour_hex[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return colour.models.eotf_sRGB(rgb)


def contrast(a: str, b: str = WHITE) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (relative luminance from linear RGB)."""
    lum = sorted(float(linear_rgb(c) @ [0.2126, 0.7152, 0.0722]) for c in (a, b))
    return (lum[1] + 0.05) / (lum[0] + 0.05)


def seen(colour_hex: str, deficiency: str | None) -> np.ndarray:
    """CIELAB of a colour as a viewer with a full dichromacy sees it (Machado, Oliveira and Fernandes 2009)."""
    colour = colour_science()
    rgb = linear_rgb(colour_hex)
    if deficiency is not None:
        rgb = np.clip(colour.blindness.matrix_cvd_Machado2009(deficiency, 1.0) @ rgb, 0, 1)
    xyz = colour.RGB_to_XYZ(rgb, colour.RGB_COLOURSPACES["sRGB"], apply_cctf_decoding=False)
    return colour.XYZ_to_Lab(xyz)


def test_contrast_is_computed_as_wcag_defines_it():
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#767676") == pytest.approx(4.54, abs=0.01)  # the lightest grey WCAG AA passes on white
    assert contrast("#ffffbf") < 1.1  # RdYlBu's middle, the pale "Meets" that vanished on a projector


@pytest.mark.parametrize("name", PALETTES)
def test_every_palette_colour_stands_out_from_the_white_background(name):
    low = {c: round(contrast(c), 2) for c in PALETTES[name] if contrast(c) < 3}
    assert not low, f"{name}: under 3:1 against white: {low}"


@pytest.mark.parametrize("viewer", [None, *DEFICIENCIES])
@pytest.mark.parametrize("name", PALETTES)
def test_every_two_colours_stay_apart_for_colour_blind_viewers(name, viewer):
    colour = colour_science()

    labs = [seen(c, DEFICIENCIES.get(viewer)) for c in PALETTES[name]]
    closest = min(
        (float(colour.delta_E(labs[i], labs[j], method="CIE 2000")), PALETTES[name][i], PALETTES[name][j])
        for i in range(len(labs))
        for j in range(i + 1, len(labs))
    )
    assert closest[0] >= MIN_DELTA_E, f"{name}, {viewer or 'normal vision'}: {closest}"


def test_the_simulation_tells_apart_what_a_dichromat_confuses():
    colour = colour_science()

    red, green = seen("#d62728", "Deuteranomaly"), seen("#2ca02c", "Deuteranomaly")  # a classic red/green pair
    assert float(colour.delta_E(red, green, method="CIE 2000")) < MIN_DELTA_E


def test_other_charts_render(tmp_path):
    audit = pd.DataFrame(
        {
            "attribute": "gender",
            "outcome": "top_rating",
            "group": ["man", "woman", "x"],
            "n": [100, 90, 3],
            "rate": [0.4, 0.2, np.nan],
            "four_fifths_flag": [False, True, None],
            "impact_ratio": [1.0, 0.5, np.nan],
            "suppressed": [False, False, True],
        }
    )
    transitions = pd.DataFrame(
        {"previous": ["Low", "Mid", "Mid"], "current": ["Mid", "Mid", "High"], "count": [2, 30, 5]}
    )
    dora = pd.DataFrame(
        {
            "period": "H1",
            "deployment_frequency_level": ["elite", "low"],
            "lead_time_level": ["high", None],
            "change_failure_rate_level": ["elite", "medium"],
            "time_to_restore_level": ["high", "low"],
            "delivery_level": ["elite", "low"],
        }
    )
    context = pd.DataFrame(
        {
            "team": ["a", "b", "c"],
            "difference": [-0.8, 0.1, 0.0],
            "difference_lower": [-1.3, -0.3, -0.4],
            "difference_upper": [-0.3, 0.5, 0.4],
            "mismatch": [True, False, False],
            "small": [False, False, False],
            "delivery_level": ["elite", "medium", None],
        }
    )
    items = pd.DataFrame(
        {
            "date": ["2026-01-10", "2026-06-20"],
            "category": ["delivery", "reliability"],
            "kind": ["pr", "incident"],
            "title": ["<script>alert(1)</script>", "x"],
        }
    )
    made = [
        charts.selection_rate_chart(audit, attribute="gender", outcome="top_rating"),
        charts.transition_chart(transitions, labels=LABELS),
        charts.delivery_levels_chart(dora, period="H1"),
        charts.team_context_chart(context),
        charts.evidence_timeline_chart(items, start="2026-01-01", end="2026-06-30"),
    ]
    for chart in made:
        assert "<svg" in svg(chart)
    team_rows = {r["label"]: r for r in data_values(made[3]) if "difference_lower" in r}
    assert team_rows["a"]["difference_lower"] == -1.3 and team_rows["c"]["delivery"] == "no data"
    suppressed = [r for r in data_values(made[0]) if r["group"] == "x"][0]
    assert suppressed["shown_rate"] is None and suppressed["label"] == "x (suppressed)"
    assert "<script>" not in svg(made[-1])  # tooltips are not in a static SVG; titles are escaped


@pytest.mark.parametrize("n", [3, 5, 7])
def test_scales_of_several_lengths(n):
    labels = [f"r{i}" for i in range(n)]
    assert len(charts.rating_colours(labels).to_dict()["range"]) == n
