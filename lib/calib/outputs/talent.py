"""The talent mapping table: level alignment per person, for a manager and their thought partner.

One row per person in scope (a manager's direct reports, or everyone), sorted by employee_id and
never by a score. Columns: who they are, their rating history, criteria means, evidence coverage,
`level_alignment` with the reasons for the call, `misleveled_candidate` with its reason, and the
columns the manager fills in (`promotion_recommended` is copied from the reviews, never computed;
`coaching_plan` and `notes` stay empty unless the reviews input carries such columns).

**Level alignment** reads three signals against the person's current level:
- the final rating (calibrated where there is one) against the middle of the rating scale;
- the criteria scores: the manager scores each criterion against the level's description of it,
  so the middle of `score_range` (3 on 1-5) means "meets this level's description"; their mean;
- the evidence log of the cycle: enough examples to check the call.
Rules:
- **exceeding**: rating above the middle, criteria mean at least `SCORE_MARGIN` (1 point) above
  the middle (4 on 1-5: a full point above the bar on average, so one strong criterion does not
  carry it), and evidence that supports a call away from the middle: at least
  `calib.analyses.evidence.THIN_MIN_ITEMS` (5) items spanning `THIN_MIN_CATEGORIES` (2) of delivery,
  reliability and influence, the rule that flags thin evidence for top and bottom ratings.
- **below**: rating below the middle, criteria mean at least 1 point under it, the same evidence.
- **meeting**: everything else. It is the default: signals that disagree, a call resting on thin
  evidence, a missing review or missing scores all stay at meeting, and `level_alignment_basis`
  says which. Stable performance at the bar is meeting, a valid outcome: nothing here moves
  anyone toward the next level.

**Misleveled candidate**: the same call away from meeting in each of the last two cycles (this
one and the one before it in the config) with every criterion score beyond the bar by the margin
in both (all at least 4, or all at most 2, on 1-5): working consistently, across criteria and
cycles, at a different level's description. A strong half-year, or strength in some criteria, is
what "exceeding" is for and no sign of a wrong level. Exceeding twice suggests a conversation
about the next level; below twice, one about level and support, with a coaching plan first.
One cycle is never enough: a single strong or weak half-year is as often circumstance as level.
The level is today's (people has no level history), so a person promoted between the two cycles
needs the manager's judgement.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import pandas as pd

from calib.analyses.evidence import LIGHT_MIN_EXAMPLES, THIN_MIN_CATEGORIES, THIN_MIN_ITEMS, window_items
from calib.files import write_table
from calib.frame import EVIDENCE_CATEGORIES, Normalized
from calib.outputs.alignment.model import direct_reports, resolve_cycle

SCORE_MARGIN = 1.0  # criteria mean this far from the middle of score_range, on the rating's side
FILL_COLUMNS = ("coaching_plan", "notes")  # prefilled only from same-named review columns


def level_alignment(
    rating: str | None,
    labels: list[str],
    criteria_mean: float | None,
    score_range: tuple[float, float],
    items: int,
    categories: int,
) -> tuple[str, str]:
    """The call (below, meeting, exceeding) for one person and cycle, and the reasons for it.

    Parameters
    ----------
    rating
        The final rating label, or None when there is no review.
    labels
        The rating scale, lowest first; its middle label is the bar.
    criteria_mean
        The mean criteria score of the cycle (None or NaN when there are none).
    score_range
        The criteria scale; its middle means "meets the level's description".
    items, categories
        Evidence items in the cycle and how many of the three parts they cover.
    """
    if rating is None:
        return "meeting", "no review this cycle: meeting by default"
    middle = labels[(len(labels) - 1) // 2]
    step = labels.index(rating) - labels.index(middle)
    if criteria_mean is None or math.isnan(criteria_mean):
        return "meeting", f"{rating}, no criteria scores: meeting by default"
    bar = (score_range[0] + score_range[1]) / 2
    scores = f"criteria mean {criteria_mean:.2f}"
    if step > 0 and criteria_mean >= bar + SCORE_MARGIN:
        call = "exceeding"
    elif step < 0 and criteria_mean <= bar - SCORE_MARGIN:
        call = "below"
    elif step == 0 and abs(criteria_mean - bar) < SCORE_MARGIN:
        return "meeting", f"{rating} and {scores}: at the bar of the level"
    else:
        side = "above" if step > 0 else "below" if step < 0 else "at"
        return "meeting", (
            f"{rating} ({side} {middle}) but {scores} (bar {bar:g}, margin {SCORE_MARGIN:g}): "
            "the signals disagree, meeting by default"
        )
    evidence = f"{items} evidence items in {categories} of 3 parts"
    if items < THIN_MIN_ITEMS or categories < THIN_MIN_CATEGORIES:
        return "meeting", (
            f"{rating} and {scores} point to {call}, but {evidence} (needs {THIN_MIN_ITEMS} in "
            f"{THIN_MIN_CATEGORIES}): meeting until the examples support it"
        )
    return call, f"{rating}, {scores}, {evidence}"


def cycle_alignment(normalized: Normalized, cycle: str, ids: list[str]) -> pd.DataFrame:
    """Per person of `ids` (in that order): rating, criteria means, evidence counts and the call in `cycle`."""
    data, config = normalized.data, normalized.data.config
    window = resolve_cycle(config, cycle)
    frame = normalized.frame
    rows = frame[frame["cycle"] == cycle].drop_duplicates("employee_id").set_index("employee_id")
    out = pd.DataFrame({"employee_id": ids})
    ratings = rows["final_rating"].astype("object").reindex(ids)
    out["rating"] = [r if isinstance(r, str) else None for r in ratings]
    scores = _criteria_scores(data, cycle, ids)
    out["criteria_mean"] = scores.mean(axis=1).to_numpy() if scores.shape[1] else float("nan")
    for criterion in scores.columns:
        out[f"score_{_slug(criterion)}"] = scores[criterion].to_numpy()
    if data.has("evidence"):
        items = window_items(data["evidence"], pd.Series(ids), start=window.start, end=window.end)
    else:
        items = pd.DataFrame(columns=["employee_id", "category", "criterion"])
    out["evidence_items"] = out["employee_id"].map(items["employee_id"].value_counts()).fillna(0).astype("int64")
    for category in EVIDENCE_CATEGORIES:
        mine = items.loc[items["category"] == category, "employee_id"].value_counts()
        out[f"evidence_{category}"] = out["employee_id"].map(mine).fillna(0).astype("int64")
    out["categories_covered"] = (out[[f"evidence_{c}" for c in EVIDENCE_CATEGORIES]] > 0).sum(axis=1)
    out["light_criteria"] = _light(items, ids, list(scores.columns))
    calls = [
        level_alignment(r if isinstance(r, str) else None, config.rating_labels, m, config.score_range, n, k)
        for r, m, n, k in zip(
            out["rating"], out["criteria_mean"], out["evidence_items"], out["categories_covered"], strict=True
        )
    ]
    out["level_alignment"] = [c for c, _ in calls]
    out["level_alignment_basis"] = [b for _, b in calls]
    bar = sum(config.score_range) / 2
    every_above = scores.min(axis=1).to_numpy() >= bar + SCORE_MARGIN if scores.shape[1] else False
    every_below = scores.max(axis=1).to_numpy() <= bar - SCORE_MARGIN if scores.shape[1] else False
    out["every_criterion"] = ((out["level_alignment"] == "exceeding") & every_above) | (
        (out["level_alignment"] == "below") & every_below
    )
    return out


def talent_table(normalized: Normalized, *, cycle: str | None = None, manager_id: str | None = None) -> pd.DataFrame:
    """The talent mapping table (see the module docstring), sorted by employee_id.

    Parameters
    ----------
    normalized
        The normalized cycle.
    cycle
        The cycle (default: the config's); the misleveled rule also reads the one before it.
    manager_id
        Only this manager's direct reports (UsageError naming the id when unknown); None: everyone.
    """
    data, config = normalized.data, normalized.data.config
    window = resolve_cycle(config, cycle)
    people = data["people"]
    ids = direct_reports(normalized, manager_id) if manager_id else sorted(people["employee_id"])
    person = people.set_index("employee_id").reindex(ids)
    now = cycle_alignment(normalized, window.id, ids)
    order = [c.id for c in config.cycles]
    previous = order[order.index(window.id) - 1] if order.index(window.id) > 0 else None
    before = cycle_alignment(normalized, previous, ids) if previous else None

    table = pd.DataFrame({"employee_id": ids})
    for column in ("name", "manager_id", "team", "level"):
        table[column] = person[column].astype("object").to_numpy() if column in person.columns else None
    table["rating_history"] = _history(normalized, ids, order[: order.index(window.id) + 1])
    table["rating"] = now["rating"]
    score_columns = [c for c in now.columns if c.startswith("score_")]
    table["criteria_mean"] = now["criteria_mean"].round(2)
    for column in score_columns:
        table[column] = now[column]
    for column in ("evidence_items", "categories_covered", "light_criteria", "level_alignment"):
        table[column] = now[column]
    table["level_alignment_basis"] = now["level_alignment_basis"]
    table["previous_alignment"] = before["level_alignment"] if before is not None else None
    flagged, reasons = [], []
    for i, call in enumerate(now["level_alignment"]):
        same = (
            before is not None
            and call == before["level_alignment"].iloc[i]
            and bool(now["every_criterion"].iloc[i] and before["every_criterion"].iloc[i])
        )
        flagged.append(same)
        side = "at or above" if call == "exceeding" else "at or below"
        reasons.append(
            f"{call} {table['level'].iloc[i]} in {previous} and {window.id}, every criterion {side} "
            f"{sum(config.score_range) / 2 + (SCORE_MARGIN if call == 'exceeding' else -SCORE_MARGIN):g} in both "
            f"({before['level_alignment_basis'].iloc[i]} / {now['level_alignment_basis'].iloc[i]})"
            if same
            else ""
        )
    table["misleveled_candidate"] = flagged
    table["misleveled_reason"] = reasons
    review = _reviews(data, window.id, ids)
    table["promotion_recommended"] = review.get("promotion_recommended")
    if "potential" in review.columns:
        table["potential"] = review["potential"]
    for column in FILL_COLUMNS:
        table[column] = review[column].fillna("") if column in review.columns else ""
    return table.sort_values("employee_id", kind="stable").reset_index(drop=True)


def write_talent(table: pd.DataFrame, out_dir: Path, stem: str = "talent") -> list[Path]:
    """`stem.csv` and `stem.xlsx` in `out_dir`, neutralized against formula injection (calib.files)."""
    return write_table(table, Path(out_dir), stem, sheet="talent map")


def cli_talent(args: argparse.Namespace) -> int:
    """`calib talent CONFIG [--manager ID] [--cycle C] --out DIR`: the talent map as CSV and XLSX.

    Errors are calib.errors exceptions for the CLI to render.
    """
    from calib.delivery.sources import load_cycle
    from calib.frame import normalize
    from calib.inputs.config import load_config

    config = load_config(args.config)
    resolve_cycle(config, args.cycle)
    table = talent_table(normalize(load_cycle(config)), cycle=args.cycle, manager_id=args.manager)
    stem = f"talent-{re.sub(r'[^A-Za-z0-9._-]', '_', args.manager)}" if args.manager else "talent"
    paths = write_talent(table, Path(args.out), stem)
    print(f"Wrote the talent map of {len(table)} people to {paths[0]} and {paths[1]}")
    return 0


def _criteria_scores(data: object, cycle: str, ids: list[str]) -> pd.DataFrame:
    if not data.has("criteria_scores"):
        return pd.DataFrame(index=ids)
    table = data["criteria_scores"]
    rows = table[(table["cycle"] == cycle) & table["employee_id"].isin(ids)]
    order = list(dict.fromkeys(table["criterion"].dropna()))
    wide = rows.pivot_table(index="employee_id", columns="criterion", values="score", aggfunc="mean")
    return wide.reindex(index=ids, columns=[c for c in order if c in wide.columns])


def _light(items: pd.DataFrame, ids: list[str], criteria: list[str]) -> list[str]:
    tags = items["criterion"] if "criterion" in items.columns else pd.Series(None, index=items.index)
    key = tags.map(lambda v: " ".join(str(v).split()).casefold(), na_action="ignore")
    counts = {c: items.loc[key == c.casefold(), "employee_id"].value_counts() for c in criteria}
    return ["; ".join(c for c in criteria if counts[c].get(i, 0) < LIGHT_MIN_EXAMPLES) for i in ids]


def _history(normalized: Normalized, ids: list[str], cycles: list[str]) -> list[str]:
    frame = normalized.frame
    rows = frame[frame["cycle"].isin(cycles) & frame["employee_id"].isin(ids)]
    triples = zip(rows["cycle"], rows["employee_id"], rows["final_rating"], strict=True)
    lookup = {(str(c), e): str(r) for c, e, r in triples}
    return ["; ".join(f"{c}: {lookup[(c, i)]}" for c in cycles if (c, i) in lookup) for i in ids]


def _reviews(data: object, cycle: str, ids: list[str]) -> pd.DataFrame:
    reviews = data["reviews"]
    rows = reviews[reviews["cycle"] == cycle].drop_duplicates("employee_id").set_index("employee_id")
    return rows.reindex(ids).reset_index(drop=True)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).casefold()).strip("_")
