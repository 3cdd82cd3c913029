"""What each filter offers: the (label, value) choices of the dropdowns and the Person tab's picker.

Cycles in calendar order, orgs, disciplines and levels in the config's order, rating managers and
the people in view alphabetical by label (a list to pick from, never a ranking); labels are names,
or pseudonyms in blind mode.
"""

from __future__ import annotations

from calib.apps.dashboard.filters import ALL, Filters
from calib.apps.dashboard.sources import Sources


def filter_options(sources: Sources) -> dict[str, list[tuple[str, str]]]:
    """(label, value) choices of each filter; managers are labelled by name (see `manager_options`)."""
    frame = sources.frame
    config = sources.config
    cycles = [str(c) for c in frame["cycle"].cat.categories] if hasattr(frame["cycle"], "cat") else []
    cycles = [c for c in cycles if (frame["cycle"].astype(str) == c).any()] or sorted(
        frame["cycle"].astype(str).unique()
    )

    def values(column: str, order: list[str] | None = None) -> list[tuple[str, str]]:
        if column not in frame.columns:
            return [(ALL, ALL)]
        present = set(frame[column].dropna().astype(str))
        ordered = [v for v in (order or sorted(present)) if v in present]
        return [(ALL, ALL)] + [(v, v) for v in ordered]

    return {
        "cycle": [(c, c) for c in cycles],
        "org": values("org"),
        "discipline": values("discipline", list(config.disciplines or []) or None),
        "level": values("level", list(config.levels)),
    }


def manager_options(sources: Sources, blind: bool) -> list[tuple[str, str]]:
    """(label, id) of every rating manager, alphabetical by label."""
    labels = sources.labels(blind)
    ids = sources.frame["reviewer_id"].dropna().astype(str).unique()
    return [(ALL, ALL)] + sorted(((labels.get(i, i), i) for i in ids), key=lambda p: (p[0].lower(), p[1]))


def person_options(sources: Sources, filters: Filters) -> list[tuple[str, str]]:
    """(label, id) of the people in view, alphabetical by label: a list to pick from, never a ranking."""
    labels = sources.labels(filters.blind)
    ids = sources.rows(filters)["employee_id"].astype(str).unique()
    return sorted(((labels.get(i, i), i) for i in ids), key=lambda p: (p[0].lower(), p[1]))
