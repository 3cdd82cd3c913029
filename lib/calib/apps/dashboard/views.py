"""The dashboard's data side: the tabs, the pure view behind each, and the names the widgets use.

Pure functions turn the loaded `Sources` and the current `Filters` into a `View` for each tab (an
altair chart or None, and HTML in which every user-supplied string is escaped); they are unit-tested
and timed without a browser (calib.apps.dashboard.widgets holds the widgets that show them). Each
tab's view lives in its own module; this one registers them and re-exports what callers use.

Nothing here recomputes an analysis: manager effects, seam, team context, bias audit and findings
are read from the analysis folder. What follows the filters beyond row selection is descriptive
(rating counts and shares with the same small-group suppression as `calib.analyses.distributions`).
Blind mode swaps names and employee ids for stable pseudonyms everywhere, hides protected
attributes and the audit's group labels. Per-person telemetry is shown only as context, only for
metrics the metric policy allows, and never sorted.
"""

from __future__ import annotations

from collections.abc import Callable

from calib.apps.dashboard.audit import audit
from calib.apps.dashboard.disciplines import disciplines
from calib.apps.dashboard.filters import ALL, Filters, select
from calib.apps.dashboard.html import PROJECTOR_CSS, esc, finding_text, link, people_in
from calib.apps.dashboard.layout import View
from calib.apps.dashboard.managers import managers, people_table
from calib.apps.dashboard.options import filter_options, manager_options, person_options
from calib.apps.dashboard.overview import overview
from calib.apps.dashboard.person import person
from calib.apps.dashboard.sources import Sources, load_sources, make_sources
from calib.apps.dashboard.team_context import team_context

__all__ = [
    "ALL",
    "PROJECTOR_CSS",
    "TABS",
    "VIEWS",
    "Filters",
    "Sources",
    "View",
    "audit",
    "disciplines",
    "esc",
    "filter_options",
    "finding_text",
    "link",
    "load_sources",
    "make_sources",
    "manager_options",
    "managers",
    "overview",
    "people_in",
    "people_table",
    "person",
    "person_options",
    "select",
    "team_context",
]

TABS = ("Overview", "Managers", "Disciplines", "Team context", "Person", "Audit")

# The Person tab is `person(sources, filters, employee_id)`: it also needs the person chosen.
VIEWS: dict[str, Callable[[Sources, Filters], View]] = {
    "Overview": overview,
    "Managers": managers,
    "Disciplines": disciplines,
    "Team context": team_context,
    "Audit": audit,
}
