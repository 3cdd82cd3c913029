"""Altair charts for the report, the dashboard and the explorer.

Each function takes a result table and returns an `alt.Chart`; it never displays or saves it.
Titles say what to look at. Colours hold up on a projector and for colour-blind viewers: every
rating, DORA-level and flag colour has at least 3:1 contrast against the white background (WCAG
non-text contrast; ColorBrewer's pale RdYlBu middle had 1.03:1) and every two colours of a palette
stay apart (CIEDE2000 >= 15) under simulated protanopia, deuteranopia and tritanopia (Machado 2009;
tests/test_charts.py). Ratings run dark red -> orange -> grey (the middle) -> blue -> navy;
categories use the Okabe-Ito palette. Labels are never the only carrier of meaning: flagged marks
also differ in shape or fill. Names never appear here; callers pass display labels (names or pseudonyms).
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from calib.analyses.outcomes import ADVERSE_WHEN_SELECTED

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
RATING_PALETTES = {  # lowest first; a grey middle on odd scales (see the module docstring)
    3: ["#c2410c", "#808080", "#1d5fa8"],
    4: ["#a50f15", "#e6550d", "#3182bd", "#08306b"],
    5: ["#a50f15", "#e6550d", "#808080", "#3182bd", "#08306b"],
    6: ["#5a0a1e", "#a50f0f", "#d2784b", "#6987ff", "#2d5fa0", "#0f2d69"],
    7: ["#4a0014", "#b2182b", "#d2784b", "#878787", "#6987ff", "#2d5fa0", "#0f2d69"],
}
FLAG_COLOURS = {"flagged": "#D55E00", "not flagged": "#0072B2", "small team": "#767676"}
OUTCOME_NOUNS = {"top_rating": "a top rating", "bottom_rating": "the bottom rating",
                 "promotion_recommended": "a promotion recommendation"}  # fmt: skip
LEVEL_COLOURS = dict(zip(["low", "medium", "high", "elite"], RATING_PALETTES[4], strict=True))


def rating_colours(labels: list[str]) -> alt.Scale:
    """An ordered diverging colour scale for the rating labels, lowest (dark red) to highest (navy).

    Scales of 3 to 7 labels get a checked palette; longer ones fall back to vega's redyellowblue.
    """
    colours = RATING_PALETTES.get(len(labels))
    return (
        alt.Scale(domain=list(labels), range=colours)
        if colours is not None
        else alt.Scale(domain=list(labels), scheme="redyellowblue")
    )


def _display(values: pd.Series, names: Mapping[str, str] | None) -> pd.Series:
    return values.astype(str).map(lambda v: (names or {}).get(v, v))


def distribution_chart(
    dist: pd.DataFrame,
    *,
    dimension: str,
    stage: str,
    labels: list[str],
    names: Mapping[str, str] | None = None,
    guideline: Mapping[str, float] | None = None,
    title: str | None = None,
) -> alt.Chart:
    """Stacked, normalized bars of rating shares per group; suppressed groups say so.

    Parameters
    ----------
    dist
        The long table from calib.analyses.distributions.distributions (stage, dimension, group, rating,
        count, share, n, suppressed).
    dimension, stage
        Which breakdown and which stage ("submitted" or "calibrated") to draw.
    names
        Display labels for group ids (e.g. manager names or pseudonyms).
    guideline
        A guideline curve to draw as one more bar, labelled as such.
    """
    rows = dist[(dist["dimension"] == dimension) & (dist["stage"] == stage)].copy()
    rows["label"] = _display(rows["group"], names)
    rows["label"] = rows["label"] + rows["n"].map(lambda n: "" if pd.isna(n) else f" (n={int(n)})")
    shown = rows[~rows["suppressed"]]
    if guideline:
        shown = pd.concat(
            [shown, pd.DataFrame({"label": "guideline", "rating": list(guideline), "share": list(guideline.values())})],
            ignore_index=True,
        )
    hidden = (
        rows[rows["suppressed"]]
        .drop_duplicates("group")
        .assign(note=lambda d: "suppressed: fewer than the minimum group size")
    )
    order = list(dict.fromkeys(shown["label"].tolist() + hidden["label"].tolist()))
    y = alt.Y("label:N", title=None, sort=order)
    bars = (
        alt.Chart(shown)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", stack="normalize", title="share of people", axis=alt.Axis(format="%")),
            y=y,
            color=alt.Color("rating:N", scale=rating_colours(labels), sort=list(labels), title="rating"),
            order=alt.Order("rating_order:Q"),
            tooltip=["label:N", "rating:N", alt.Tooltip("share:Q", format=".0%"), "count:Q"],
        )
        .transform_calculate(rating_order=f"indexof({list(labels)!r}, datum.rating)")
    )
    layers = [bars]
    if len(hidden):
        layers.append(
            alt.Chart(hidden)
            .mark_text(align="left", dx=4, color="#555")
            .encode(x=alt.value(0), y=alt.Y("label:N", sort=order), text="note:N")
        )
    heading = title or f"Ratings by {dimension.replace('_', ' ')} ({stage}): look for groups whose mix stands apart"
    return alt.layer(*layers).properties(title=heading, width=560, height=alt.Step(22))


def caterpillar_chart(
    effects: pd.DataFrame, *, names: Mapping[str, str] | None = None, title: str | None = None
) -> alt.Chart:
    """Manager effects with 95% intervals, raw (filled) and shrunken (hollow), flagged in orange.

    A caterpillar plot sorts managers by their raw effect; read the intervals, not the order.
    """
    rows = effects.copy()
    rows["label"] = _display(rows["manager_id"], names) + rows["n"].map(lambda n: f" (n={int(n)})")
    rows["status"] = rows.apply(
        lambda r: "small team" if r["small"] else ("flagged" if r["flagged"] else "not flagged"), axis=1
    )
    order = rows.sort_values("raw_effect")["label"].tolist()
    colour = alt.Color(
        "status:N", scale=alt.Scale(domain=list(FLAG_COLOURS), range=list(FLAG_COLOURS.values())), title=None
    )
    y = alt.Y("label:N", sort=order, title=None)
    base = alt.Chart(rows)
    rule = base.mark_rule().encode(
        x=alt.X("lower:Q", title="rating points vs the average manager"), x2="upper:Q", y=y, color=colour
    )
    raw = base.mark_point(filled=True, size=60).encode(
        x="raw_effect:Q",
        y=y,
        color=colour,
        shape=alt.Shape("status:N", legend=None),
        tooltip=[
            "label:N",
            alt.Tooltip("raw_effect:Q", format="+.2f"),
            alt.Tooltip("lower:Q", format="+.2f"),
            alt.Tooltip("upper:Q", format="+.2f"),
            alt.Tooltip("shrunken_effect:Q", format="+.2f"),
            "n:Q",
        ],
    )
    shrunk = base.mark_point(filled=False, size=60, color="#000").encode(x="shrunken_effect:Q", y=y)
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 4], color="#555").encode(x="x:Q")
    heading = title or "Who rates leniently or severely? Intervals crossing 0 show no clear effect (hollow = shrunken)"
    return alt.layer(zero, rule, raw, shrunk).properties(title=heading, width=560, height=alt.Step(16))


def interval_chart(
    table: pd.DataFrame,
    *,
    label: str,
    estimate: str,
    lower: str,
    upper: str,
    reference: float = 0.0,
    axis_title: str,
    title: str,
    flagged: str | None = None,
    names: Mapping[str, str] | None = None,
) -> alt.Chart:
    """A dot-and-interval plot against a reference line (seam, recency, team context, drift)."""
    rows = table.copy()
    rows["label"] = _display(rows[label], names)
    rows["status"] = rows[flagged].map({True: "flagged", False: "not flagged"}) if flagged else "not flagged"
    colour = alt.Color(
        "status:N",
        scale=alt.Scale(
            domain=["flagged", "not flagged"], range=[FLAG_COLOURS["flagged"], FLAG_COLOURS["not flagged"]]
        ),
        title=None,
    )
    y = alt.Y("label:N", title=None, sort=rows["label"].tolist())
    base = alt.Chart(rows)
    ref = alt.Chart(pd.DataFrame({"x": [reference]})).mark_rule(strokeDash=[4, 4], color="#555").encode(x="x:Q")
    rule = base.mark_rule().encode(x=alt.X(f"{lower}:Q", title=axis_title), x2=f"{upper}:Q", y=y, color=colour)
    point = base.mark_point(filled=True, size=70).encode(
        x=f"{estimate}:Q",
        y=y,
        color=colour,
        shape=alt.Shape("status:N", legend=None),
        tooltip=[
            "label:N",
            alt.Tooltip(f"{estimate}:Q", format=".2f"),
            alt.Tooltip(f"{lower}:Q", format=".2f"),
            alt.Tooltip(f"{upper}:Q", format=".2f"),
        ],
    )
    return alt.layer(ref, rule, point).properties(title=title, width=560, height=alt.Step(22))


def selection_rate_chart(
    audit: pd.DataFrame, *, attribute: str, outcome: str, title: str | alt.Title | None = None
) -> alt.Chart:
    """Selection rates by group for one outcome, the flagged groups named by direction.

    For a favourable outcome (a top rating, a promotion) the flagged groups get it less often; for
    the bottom rating they get it more often: the legend says which. Suppressed groups are shown as
    suppressed. A `size` column (blind mode's bands) replaces the count in the labels.
    """
    adverse = outcome in ADVERSE_WHEN_SELECTED
    rows = audit[(audit["attribute"] == attribute) & (audit["outcome"] == outcome)].copy()
    rows["shown_rate"] = rows["rate"].where(~rows["suppressed"])

    def label(r: pd.Series) -> str:
        if r["suppressed"]:
            return f"{r['group']} (suppressed)"
        size = r.get("size")
        return f"{r['group']} ({size})" if isinstance(size, str) else f"{r['group']} (n={int(r['n'])})"

    rows["label"] = rows.apply(label, axis=1)
    flagged = "gets it more often (beyond 4/5)" if adverse else "gets it less often (under 4/5)"
    rows["status"] = rows["four_fifths_flag"].map({True: flagged, False: "within four-fifths"}).fillna("not compared")
    colour = alt.Color(
        "status:N",
        scale=alt.Scale(
            domain=[flagged, "within four-fifths", "not compared"],
            range=[FLAG_COLOURS["flagged"], FLAG_COLOURS["not flagged"], FLAG_COLOURS["small team"]],
        ),
        title=None,
    )
    bars = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X(
                "shown_rate:Q", title=f"share with outcome: {outcome.replace('_', ' ')}", axis=alt.Axis(format="%")
            ),
            y=alt.Y("label:N", title=None),
            color=colour,
            tooltip=["label:N", alt.Tooltip("shown_rate:Q", format=".0%"), alt.Tooltip("impact_ratio:Q", format=".2f")],
        )
    )
    what = outcome.replace("_", " ")
    noun = OUTCOME_NOUNS.get(outcome, what)
    heading = title or alt.Title(
        f"{what.capitalize()} by {attribute}: orange groups get it {'more' if adverse else 'less'} often",
        subtitle=(
            f"the group that gets {noun} least often has under four-fifths of their rate"
            if adverse
            else f"under four-fifths of the rate of the group that gets {noun} most often"
        ),
    )
    return bars.properties(title=heading, width=480, height=alt.Step(26))


def transition_chart(transitions: pd.DataFrame, *, labels: list[str], title: str | None = None) -> alt.Chart:
    """A previous-by-current rating heatmap with counts; the diagonal is 'unchanged'."""
    rows = transitions.copy()
    base = alt.Chart(rows).encode(
        x=alt.X("current:N", sort=list(labels), title="this cycle"),
        y=alt.Y("previous:N", sort=list(reversed(labels)), title="previous cycle"),
    )
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), title="people"))
    text = base.mark_text(fontSize=14).encode(
        text="count:Q", color=alt.condition("datum.count > 20", alt.value("white"), alt.value("black"))
    )
    return alt.layer(heat, text).properties(
        title=title or "How ratings moved since the last cycle: off the diagonal moved", width=360, height=300
    )


def delivery_levels_chart(team_dora: pd.DataFrame, *, period: str, title: str | None = None) -> alt.Chart:
    """How many teams reach each DORA level, per metric, in one period."""
    rows = team_dora[team_dora["period"] == period]
    columns = {
        "deployment_frequency_level": "deployment frequency",
        "lead_time_level": "lead time",
        "change_failure_rate_level": "change failure rate",
        "time_to_restore_level": "time to restore",
        "delivery_level": "overall",
    }
    long = rows.melt(value_vars=list(columns), var_name="metric", value_name="level").dropna()
    long["metric"] = long["metric"].map(columns)
    long["level"] = long["level"].astype(str)
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            # whole teams, and never two labels on top of each other ("2728")
            x=alt.X("count():Q", title="teams", axis=alt.Axis(tickMinStep=1, format="d", labelOverlap="greedy")),
            y=alt.Y("metric:N", title=None, sort=list(columns.values())),
            color=alt.Color(
                "level:N",
                scale=alt.Scale(domain=list(LEVEL_COLOURS), range=list(LEVEL_COLOURS.values())),
                title="DORA level",
            ),
            order=alt.Order("level_rank:Q"),
            tooltip=["metric:N", "level:N", "count():Q"],
        )
        .transform_calculate(level_rank="indexof(['low', 'medium', 'high', 'elite'], datum.level)")
        .properties(
            title=title or f"Team delivery in {period}: team context for every review, never a personal score",
            width=480,
            height=alt.Step(26),
        )
    )


def team_context_chart(
    context: pd.DataFrame, *, names: Mapping[str, str] | None = None, title: str | None = None
) -> alt.Chart:
    """Each team's rating difference from the rest of the org (with interval), grouped by delivery level."""
    rows = context[~context["small"]].copy() if "small" in context.columns else context.copy()
    rows["delivery"] = rows["delivery_level"].astype("object").fillna("no data").astype(str)
    lower, upper = ("difference_lower", "difference_upper") if "difference_lower" in rows else ("lower", "upper")
    rank = {level: i for i, level in enumerate(["elite", "high", "medium", "low", "no data"])}
    rows = rows.assign(_rank=rows["delivery"].map(rank).fillna(len(rank))).sort_values(["_rank", "team"])
    return interval_chart(
        rows,
        label="team",
        estimate="difference",
        lower=lower,
        upper=upper,
        flagged="mismatch",
        names=names,
        axis_title="mean rating minus the rest of the org (points)",
        title=title or "Do team ratings match team results? Orange: strong teams rated low or weak teams rated high",
    )


def evidence_timeline_chart(items: pd.DataFrame, *, start: object, end: object, title: str | None = None) -> alt.Chart:
    """One person's (or team's) evidence over the cycle, by category; the last fifth shaded."""
    rows = items.copy()
    rows["date"] = pd.to_datetime(rows["date"])
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    late = start + (end - start) * 0.8
    shade = alt.Chart(pd.DataFrame({"a": [late], "b": [end]})).mark_rect(color="#eeeeee").encode(x="a:T", x2="b:T")
    dots = (
        alt.Chart(rows)
        .mark_circle(size=90, opacity=0.85)
        .encode(
            x=alt.X("date:T", title=None, scale=alt.Scale(domain=[start.isoformat(), end.isoformat()])),
            y=alt.Y("category:N", title=None, scale=alt.Scale(domain=["delivery", "reliability", "influence"])),
            color=alt.Color(
                "category:N",
                scale=alt.Scale(domain=["delivery", "reliability", "influence"], range=OKABE_ITO[:3]),
                legend=None,
            ),
            tooltip=["date:T", "category:N", "kind:N", "title:N"],
        )
    )
    return alt.layer(shade, dots).properties(
        title=title or "Evidence across the cycle: a log kept year-round beats memory (grey: the last fifth)",
        width=560,
        height=120,
    )
