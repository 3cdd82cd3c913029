"""The 9-box tab: performance (the session's current rating) by potential, as the room has it now (pure).

What the board shows (`board_data`): every person in view and in the session as a card (name, or
pseudonym in blind mode, and the current rating) in their box, the people without a potential in a
tray beside the grid, and each box's count and small mark. The board itself, a widget the facilitator
drags cards on, is calib.apps.dashboard.board; a move is a change like any other, with a reason.

**Performance groups** map the rating scale to low / mid / high by position: the middle label
(the middle two on an even scale) is "mid", the labels below it "low", above it "high". On the
five-point scale Does not meet, Partially meets | Meets | Exceeds, Far exceeds. **Potential** is
the session's potential on `sessions.potential_scale` (low, medium, high by default; a longer scale
is cut in thirds by position the same way). People without a potential are counted beside the grid.
A box with fewer people than `min_group_size` is marked "small": read it as a handful of
individuals, not a pattern. The grid is a conversation aid: it never recommends a box.
"""

from __future__ import annotations

import pandas as pd

from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.layout import View
from calib.apps.dashboard.sources import Sources

GROUPS = ("low", "mid", "high")
POTENTIAL_ROWS = ("high", "medium", "low")  # top row first, as 9-boxes are drawn
SHOWN_PER_BOX = 12  # cards a closed box shows; "Show all" opens it


def performance_groups(labels: list[str]) -> dict[str, str]:
    """Rating label -> low / mid / high, by position on the scale (see module docstring)."""
    n = len(labels)
    middle = {n // 2} if n % 2 else {n // 2 - 1, n // 2}
    return {label: "mid" if i in middle else ("low" if i < min(middle) else "high") for i, label in enumerate(labels)}


def potential_groups(scale: list[str]) -> dict[str, str]:
    """Potential label -> low / medium / high: thirds of the scale by position."""
    n = len(scale)
    return {label: POTENTIAL_ROWS[::-1][min(2, i * 3 // n)] for i, label in enumerate(scale)}


def ninebox_table(sources: Sources, filters: Filters, table: pd.DataFrame) -> pd.DataFrame:
    """One row per person in view and in the session: employee_id, label, performance, potential."""
    rows = sources.rows(filters)
    people = table[table["employee_id"].astype(str).isin(set(rows["employee_id"].astype(str)))]
    labels = sources.labels(filters.blind)
    perf = performance_groups(list(sources.config.rating_labels))
    scale = list(getattr(getattr(sources.config, "sessions", None), "potential_scale", ["low", "medium", "high"]))
    pot = potential_groups(scale)
    return pd.DataFrame(
        {
            "employee_id": people["employee_id"].astype(str),
            "label": people["employee_id"].astype(str).map(lambda i: labels.get(i, i)),
            "performance": people["rating"].astype(str).map(perf),
            "potential": people["potential"].map(lambda v: pot.get(str(v)) if isinstance(v, str) else None),
        }
    ).sort_values("label", ignore_index=True)


def board_data(sources: Sources, filters: Filters, table: pd.DataFrame) -> tuple[dict, dict[str, str]]:
    """What the board draws, and its card keys -> employee ids (the ids never reach the page).

    A card's key is the person's pseudonym: stable across redraws, naming no one. The board data
    holds the columns (performance groups with their ratings, lowest first), the rows (potential
    groups with their values, top first), the cards, the minimum group size and the intro line.
    """
    boxes = ninebox_table(sources, filters, table)
    labels = list(sources.config.rating_labels)
    scale = list(getattr(getattr(sources.config, "sessions", None), "potential_scale", ["low", "medium", "high"]))
    perf, pot = performance_groups(labels), potential_groups(scale)
    keys = sources.labels(True)
    current = table.set_index(table["employee_id"].astype(str))
    cards = []
    for r in boxes.itertuples():
        potential = current.at[r.employee_id, "potential"]
        cards.append(
            {
                "key": keys.get(r.employee_id, r.employee_id),
                "label": r.label,
                "rating": str(current.at[r.employee_id, "rating"]),
                "potential": potential if isinstance(potential, str) else None,
                "column": r.performance if isinstance(r.performance, str) else None,
                "row": r.potential if isinstance(r.potential, str) else None,
            }
        )
    data = {
        "columns": [
            {"group": g, "title": f"performance: {g}", "values": [x for x in labels if perf[x] == g]} for g in GROUPS
        ],
        "rows": [
            {"group": g, "title": f"potential: {g}", "values": [x for x in scale if pot[x] == g]}
            for g in POTENTIAL_ROWS
        ],
        "ratings": labels,
        "potentials": scale,
        "cards": cards,
        "small": int(sources.config.min_group_size),
        "shown": SHOWN_PER_BOX,
    }
    return data, {card["key"]: employee_id for card, employee_id in zip(cards, boxes["employee_id"], strict=True)}


def ninebox(sources: Sources, filters: Filters, table: pd.DataFrame) -> View:
    """The text around the board: what the axes mean, how to move someone, who has no potential yet."""
    boxes = ninebox_table(sources, filters, table)
    if boxes.empty:
        return View('<p class="calib-note">No one in view is in this session.</p>')
    if boxes["potential"].isna().all():
        return View('<p class="calib-note">The reviews carry no potential: there is no 9-box to draw.</p>')
    text = (
        "<p>Performance is the session's current rating, grouped low / mid / high by position on the scale; "
        "potential as recorded. Drag a card to another box, or select it (Enter) to choose a rating and potential: "
        "a move is a change like any other, recorded only with a reason. Dashed boxes hold fewer people than the "
        "minimum group size: read them as individuals, not a pattern.</p>"
    )
    return View(text)
