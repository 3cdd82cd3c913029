"""The dashboard's data side: loading, filters, escaping and one pure view per tab.

Pure functions turn the loaded `Sources` and the current `Filters` into a `View` for each tab (an
altair chart or None, and HTML in which every user-supplied string is escaped); they are unit-tested
and timed without a browser (calib.apps.dashboard.widgets holds the widgets that show them).

Nothing here recomputes an analysis: manager effects, seam, team context, bias audit and findings
are read from the analysis folder. What follows the filters beyond row selection is descriptive
(rating counts and shares with the same small-group suppression as `calib.analyses.distributions`).
Blind mode swaps names and employee ids for stable pseudonyms everywhere, hides protected
attributes and the audit's group labels. Per-person telemetry is shown only as context, only for
metrics the metric policy allows, and never sorted.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# jsonschema imports rfc3987-syntax for its optional IRI format check, which builds a parser at
# import time (about 2 s of every kernel's start); altair never checks IRIs, so skip it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import altair as alt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from calib.analyses.distributions import rating_distribution  # noqa: E402
from calib.outputs import charts  # noqa: E402
from calib.privacy import HIDDEN, PROTECTED_FINDINGS, Redaction, pseudonyms, redaction  # noqa: E402

ALL = "(all)"
TABS = ("Overview", "Managers", "Disciplines", "Team context", "Person", "Audit")
WIDE = 1150  # chart width in pixels: a 1920x1080 projector with the legend beside it
MAX_ROWS = 50  # managers or teams in one chart or table; more would be illegible from the back
SEVERITY_MARK = {"alert": "▲ alert", "warning": "● warning", "info": "○ info"}  # shape + word, not colour alone
TEAM_METRICS = {  # team context columns (calib.frame / team_dora) -> the metric policy's names
    "deploy_days_per_week": "deployment_frequency",
    "lead_time_hours": "lead_time",
    "change_failure_rate": "change_failure_rate",
    "time_to_restore_hours": "time_to_restore",
    "slo_met_share": "slo_attainment",
}
SNAPSHOT_FRAMES = ("frame", "people", "evidence", "criteria_scores", "peer_feedback", "telemetry", "teams")

PROJECTOR_CSS = """
<style>
:root {
  --jp-widgets-font-size: 22px; --jp-widgets-inline-height: 44px; --jp-widgets-inline-width: 340px;
  --jp-widgets-inline-label-width: 130px; --jp-widgets-horizontal-tab-height: 52px;
  --jp-widgets-horizontal-tab-width: 230px; --jp-ui-font-size1: 22px; --jp-content-font-size1: 22px;
  --jp-ui-font-color1: #000; --jp-content-font-color1: #000; --jp-widgets-label-color: #000;
  --jp-widgets-input-color: #000; --jp-widgets-input-border-color: #333;
}
body, .jp-Notebook { background: #fff; color: #000; }
#rendered_cells, .jp-Cell { padding-left: 8px; padding-right: 8px; }
.jp-RenderedMarkdown h1 { font-size: 34px; margin: 4px 0; }
.calib-dashboard { font-size: 22px; line-height: 1.35; color: #000; max-width: 1880px; }
.calib-dashboard .widget-label, .calib-dashboard select, .calib-dashboard button,
.calib-dashboard .widget-html-content { font-size: 22px; color: #000; }
.calib-dashboard .widget-html-content { line-height: 1.35; }
.calib-dashboard .lm-TabBar-tab { font-size: 24px; font-weight: 600; color: #000; line-height: 48px; }
.calib-dashboard .lm-TabBar-tab.lm-mod-current { border-top: 6px solid #0072B2; }
.calib-dashboard .calib-filters { flex-wrap: wrap; gap: 6px 18px; align-items: center; }
.calib-dashboard .calib-filters select { border: 2px solid #333; }
.calib-dashboard button.calib-blind { font-weight: 700; border: 3px solid #000; min-width: 240px; height: 44px; }
.calib-dashboard button.calib-blind.mod-active { background: #000; color: #fff; }
.calib-dashboard h2 { font-size: 30px; margin: 14px 0 6px; }
.calib-dashboard h3 { font-size: 25px; margin: 16px 0 4px; }
.calib-dashboard p { margin: 6px 0; }
.calib-dashboard .calib-header { font-size: 26px; font-weight: 600; }
.calib-dashboard .calib-note { color: #222; font-style: italic; }
.calib-dashboard table { border-collapse: collapse; margin: 6px 0 12px; }
.calib-dashboard th, .calib-dashboard td { padding: 5px 14px; border-bottom: 1px solid #777; text-align: left;
  vertical-align: top; font-size: 21px; }
.calib-dashboard th { border-bottom: 3px solid #000; }
.calib-dashboard a { color: #004f80; text-decoration: underline; }
.calib-dashboard .calib-cards { display: flex; gap: 24px; flex-wrap: wrap; margin: 8px 0; }
.calib-dashboard .calib-card { border: 3px solid #000; padding: 8px 18px; min-width: 220px; }
.calib-dashboard .calib-card b { display: block; font-size: 40px; }
.calib-dashboard .calib-alert { color: #8a3300; font-weight: 700; }
.calib-dashboard .calib-warning { color: #6b4a00; font-weight: 700; }
.calib-dashboard .calib-info { color: #003e66; }
.calib-dashboard .calib-findings li { margin: 6px 0; }
.calib-error { border: 4px solid #D55E00; background: #fff4ea; padding: 12px 18px; font-size: 22px; color: #000; }
</style>
"""


# -- loading -------------------------------------------------------------------------------------
@dataclass
class Sources:
    """Everything the dashboard shows: the config, the analysis results, the frames behind them."""

    config: object  # calib.inputs.config.CycleConfig
    results: object  # calib.analyses.results.Results
    frame: pd.DataFrame  # the calibration frame, every cycle
    people: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # evidence, criteria_scores, ...
    names: dict[str, str] = field(default_factory=dict)  # employee id -> name
    pseudonyms: dict[str, str] = field(default_factory=dict)  # employee id -> stable pseudonym
    _index: dict | None = None
    _known: set[str] | None = None
    _memo: dict = field(default_factory=dict)

    def memo(self, key: tuple, make: Callable[[], object]) -> object:
        """A value that depends only on `key` (e.g. a chart the filters do not change), made once."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def rows(self, filters: Filters, *, ignore: tuple[str, ...] = ()) -> pd.DataFrame:
        """The rows of the frame in view: `select`, on integer codes computed once (fast at 10k people)."""
        if self._index is None:
            self._index = {}
            for column in ("cycle", *FILTER_COLUMNS.values()):
                if column in self.frame.columns:
                    codes, uniques = pd.factorize(self.frame[column].astype(str))
                    self._index[column] = (codes, {str(v): i for i, v in enumerate(uniques)})
        mask = self._mask("cycle", filters.cycle)
        for name, column in FILTER_COLUMNS.items():
            value = getattr(filters, name)
            if value != ALL and name not in ignore and column in self._index:
                mask &= self._mask(column, value)
        return self.frame[mask]

    def _mask(self, column: str, value: str) -> np.ndarray:
        codes, lookup = self._index[column]
        code = lookup.get(str(value))
        return codes == code if code is not None else np.zeros(len(codes), dtype=bool)

    def known_subjects(self) -> set[str]:
        """Every employee id and team: finding subjects that name someone or something in particular."""
        if self._known is None:
            self._known = set(self.names) | set(self.frame["team"].dropna().astype(str).unique())
        return self._known

    def table(self, name: str) -> pd.DataFrame | None:
        """An optional input (None when the cycle has none)."""
        return self.tables.get(name)

    def redaction(self, blind: bool) -> Redaction:
        """How people are shown (`calib.privacy`): names, or pseudonyms everywhere in blind mode."""
        key = ("redaction", blind)
        return self.memo(key, lambda: redaction(self.people, blind=blind))  # type: ignore[return-value]

    def labels(self, blind: bool) -> dict[str, str]:
        """Display labels of people: names, or pseudonyms in blind mode."""
        return self.redaction(blind).labels

    def scrub(self, text: str) -> str:
        """Free text with every id, name, handle and e-mail replaced (blind mode)."""
        return str(self.redaction(True)(text))


def load_sources(config: str | Path, results: str | Path = "", cache: str | Path = "") -> Sources:
    """Load the config and the analysis folder (analysing now, cached, when `results` is empty).

    The normalized frames come from the analysis folder's snapshot/ (written by `calib serve`), or,
    for a folder written by `calib analyze`, from the inputs.
    """
    from calib.analyses.results import load_results
    from calib.apps.serve import CACHE_ROOT, ensure_analysis
    from calib.inputs.config import load_config

    if not results:
        results = ensure_analysis(config, cache or CACHE_ROOT, log=lambda *_: None)
    loaded = load_config(config)
    found = load_results(results)
    snapshot = Path(results) / "snapshot"
    if (snapshot / "done").is_file():
        frames = {p.stem: pd.read_parquet(p) for p in snapshot.glob("*.parquet") if p.stem in SNAPSHOT_FRAMES}
    else:
        from calib.frame import normalize
        from calib.inputs.validate import load_cycle

        normalized = normalize(load_cycle(loaded))
        frames = {name: normalized.data[name] for name in SNAPSHOT_FRAMES[1:] if normalized.data.has(name)}
        frames["frame"] = normalized.frame
    return make_sources(loaded, found, frames)


def make_sources(config, results, frames: dict[str, pd.DataFrame]) -> Sources:
    """Sources from loaded frames (`frame` and `people` required)."""
    people = frames["people"]
    ids = people["employee_id"].astype(str)
    names = dict(zip(ids, people["name"].astype(str), strict=True)) if "name" in people.columns else {}
    extra = {k: v for k, v in frames.items() if k not in ("frame", "people")}
    return Sources(config, results, frames["frame"], people, extra, names, pseudonyms(ids))


# -- filters -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """What the room is looking at; ALL means no restriction."""

    cycle: str
    org: str = ALL
    discipline: str = ALL
    level: str = ALL
    manager: str = ALL  # the rating manager's employee id (reviews.reviewer_id)
    blind: bool = False


FILTER_COLUMNS = {"org": "org", "discipline": "discipline", "level": "level", "manager": "reviewer_id"}


def select(frame: pd.DataFrame, filters: Filters, *, ignore: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of the calibration frame in view (`ignore` names filters to leave out)."""
    mask = np.asarray(frame["cycle"].astype(str) == filters.cycle, dtype=bool)
    for name, column in FILTER_COLUMNS.items():
        value = getattr(filters, name)
        if value != ALL and name not in ignore and column in frame.columns:
            mask = mask & np.asarray(frame[column].astype(str).eq(value).fillna(False), dtype=bool)
    return frame[mask]


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


# -- HTML ----------------------------------------------------------------------------------------
class Safe(str):
    """HTML already escaped (built here from escaped parts)."""


def esc(value: object) -> Safe:
    """Escape any value for HTML text or an attribute."""
    return Safe(html.escape(str(value), quote=True))


def link(text: object, url: object, *, blind: bool = False, redact: Callable[[str], str] = str) -> Safe:
    """A link only for http(s) URLs; anything else is shown as plain text.

    In blind mode a URL that names a person (its redaction differs) is not linked at all.
    """
    target = str(url).strip() if isinstance(url, str) else ""
    if blind and target and redact(target) != target:
        return esc(text)
    if re.match(r"(?i)^https?://", target):
        return Safe(f'<a href="{esc(target)}" target="_blank" rel="noopener noreferrer">{esc(text)}</a>')
    return esc(text)


def _cell(value: object, digits: int = 2) -> Safe:
    if isinstance(value, Safe):
        return value
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return Safe("–")
    if isinstance(value, float | np.floating):
        return esc(f"{value:.{digits}f}")
    return esc(value)


def html_table(headers: list[str], rows: list[list[object]], *, cls: str = "") -> Safe:
    """A table; cells are escaped unless `Safe`."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return Safe(f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def _pct(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.0%}"


# -- views ---------------------------------------------------------------------------------------
@dataclass
class View:
    """One tab's content: HTML above the chart, the chart (or None), HTML below it."""

    html: str
    chart: alt.TopLevelMixin | None = None
    intro: str = ""


def projector(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Large type and high contrast for a room: read from the back at 1920x1080 (one configure call)."""
    return chart.configure(
        font="Helvetica, Arial, sans-serif",
        padding=8,
        axis={
            "labelFontSize": 19,
            "titleFontSize": 20,
            "labelColor": "#000",
            "titleColor": "#000",
            "labelLimit": 460,
            "domainColor": "#000",
            "tickColor": "#000",
            "gridColor": "#d0d0d0",
        },
        title={"fontSize": 25, "color": "#000", "anchor": "start", "limit": WIDE + 400, "offset": 12},
        legend={"labelFontSize": 19, "titleFontSize": 19, "symbolSize": 260, "labelLimit": 400, "labelColor": "#000"},
        text={"fontSize": 18, "color": "#000"},
        rule={"strokeWidth": 4},
        view={"strokeWidth": 0},
        concat={"spacing": 40},
    )


def bolder(chart: alt.TopLevelMixin, size: int = 220) -> alt.TopLevelMixin:
    """Points big enough to see from the back of a room (the charts module sizes them for a laptop)."""
    for layer in getattr(chart, "layer", None) or []:
        mark = layer.mark
        if isinstance(mark, alt.MarkDef) and mark.type in {"point", "circle"}:
            mark.size = size
            mark.strokeWidth = 3
    return chart


def stack(*parts: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Charts one above the other, each with its own colours and legend, in projector style."""
    if len(parts) == 1:
        return projector(parts[0])
    return projector(alt.vconcat(*parts).resolve_scale(color="independent", shape="independent"))


def isin(values: pd.Series, wanted: set[str]) -> np.ndarray:
    """`values.isin(wanted)` as text, fast for large sets (pandas converts each wanted value to Arrow)."""
    return np.fromiter((v in wanted for v in values.astype(str).tolist()), dtype=bool, count=len(values))


def people_in(rows: pd.DataFrame) -> str:
    return f"{len(rows):,} {'person' if len(rows) == 1 else 'people'}"


def _stage_distribution(rows: pd.DataFrame, sources: Sources, *, group: str | None = None) -> pd.DataFrame:
    """Submitted and calibrated shares of `rows` as one long table (suppressed below min_group_size)."""
    config = sources.config
    stages = [
        (f"{group}: {stage}" if group else stage, column)
        for stage, column in (("submitted", "rating"), ("after calibration", "final_rating"))
        if column in rows.columns and rows[column].notna().any()
    ]
    if not stages:
        return pd.DataFrame()
    stacked = pd.DataFrame(
        {
            "_stage": np.repeat([label for label, _ in stages], len(rows)),
            "_rating": np.concatenate([rows[column].astype(str).to_numpy() for _, column in stages]),
        }
    )
    stacked = stacked[stacked["_rating"] != "nan"]
    dist = rating_distribution(
        stacked, by="_stage", labels=config.rating_labels, min_group_size=config.min_group_size, column="_rating"
    )
    order = {label: i for i, (label, _) in enumerate(stages)}
    dist = dist.sort_values("group", key=lambda g: g.map(order), kind="stable", ignore_index=True)
    return dist.assign(stage="all")


def _distribution(rows: pd.DataFrame, sources: Sources, *, by: str) -> pd.DataFrame:
    config = sources.config
    return rating_distribution(
        rows, by=by, labels=config.rating_labels, min_group_size=config.min_group_size, column="final_rating"
    ).assign(stage="calibrated")


def analysed_note(sources: Sources, filters: Filters, what: str) -> str:
    """A note when the cycle in view is not the one the analysis covers (analyses are of one cycle)."""
    analysed = sources.results.document.get("cycle")
    if not analysed or analysed == filters.cycle:
        return ""
    return f'<p class="calib-note">{esc(what)} come from the analysis of {esc(analysed)}.</p>'


def findings_in_view(sources: Sources, rows: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Findings about the managers, teams and people in view, and org-wide findings."""
    findings = sources.results.findings
    if findings.empty or all(getattr(filters, name) == ALL for name in FILTER_COLUMNS):
        return findings
    in_view: set[str] = set()
    for column in ("employee_id", "reviewer_id", "team"):
        if column in rows.columns:
            in_view |= set(rows[column].dropna().astype(str).unique())
    known = sources.known_subjects()
    keep = [s in in_view or s not in known for s in findings["subject"].astype(str)]
    return findings[keep]


def finding_text(finding: Mapping, text: Callable[[str], object], blind: bool) -> str:
    """A finding's explanation as the surface shows it (`text`: a `calib.privacy.Redaction`);
    audit group labels hidden in blind mode."""
    if blind and finding["kind"] in PROTECTED_FINDINGS:
        attribute = str(finding["subject"]).split("=")[0]
        return f"A gap in outcomes by {attribute} (group labels {HIDDEN}; see the Audit tab)."
    return str(text(str(finding["explanation"])))


def findings_html(findings: pd.DataFrame, text: Callable[[str], object], blind: bool, *, limit: int = 8) -> Safe:
    """A list of findings, most severe first, with a mark that does not rely on colour."""
    if findings.empty:
        return Safe('<p class="calib-note">No findings about this selection.</p>')
    shown = findings.head(limit)
    items = "".join(
        f'<li><span class="calib-{esc(f["severity"])}">{esc(SEVERITY_MARK.get(f["severity"], f["severity"]))}</span> '
        f"{esc(finding_text(f, text, blind))}</li>"
        for f in shown.to_dict("records")
    )
    more = len(findings) - len(shown)
    tail = f'<p class="calib-note">and {more} more (info findings are recorded, could be chance).</p>' if more else ""
    return Safe(f'<ul class="calib-findings">{items}</ul>{tail}')


def overview(sources: Sources, filters: Filters) -> View:
    """How ratings are spread in view, against the guideline, and the headline findings."""
    config = sources.config
    rows = sources.rows(filters)
    if rows.empty:
        return View('<p class="calib-note">No one matches these filters.</p>')
    top, bottom = config.rating_labels[-2:], config.rating_labels[:1]
    final = rows["final_rating"].astype(str)
    findings = findings_in_view(sources, rows, filters)
    severe = findings[findings["severity"].isin(["alert", "warning"])] if not findings.empty else findings
    small = len(rows) < config.min_group_size
    cards = [
        ("people in view", f"{len(rows):,}"),
        (f"top ({' / '.join(top)})", "suppressed" if small else _pct(final.isin(top).mean())),
        (f"bottom ({' / '.join(bottom)})", "suppressed" if small else _pct(final.isin(bottom).mean())),
        (
            "alerts · warnings",
            f"{int((severe['severity'] == 'alert').sum()) if len(severe) else 0} · "
            f"{int((severe['severity'] == 'warning').sum()) if len(severe) else 0}",
        ),
    ]
    card_html = "".join(f'<div class="calib-card"><b>{esc(v)}</b>{esc(k)}</div>' for k, v in cards)
    note = analysed_note(sources, filters, "Findings")
    body = f"<h3>Headline findings</h3>{note}{findings_html(severe, sources.redaction(filters.blind), filters.blind)}"
    mix = charts.distribution_chart(
        _stage_distribution(rows, sources),
        dimension="_stage",
        stage="all",
        labels=config.rating_labels,
        guideline=config.guideline_curve,
        title="Ratings in view, before and after calibration"
        + (", against the guideline" if config.guideline_curve else ""),
    ).properties(width=WIDE, height=alt.Step(44))
    return View(body, projector(mix), intro=f'<div class="calib-cards">{card_html}</div>')


def _limit(rows: pd.DataFrame, *, key: str, flag: str, size: str, keep: str = ALL) -> tuple[pd.DataFrame, str]:
    """At most MAX_ROWS rows: the kept one, every flagged one, then the largest |size|."""
    if len(rows) <= MAX_ROWS:
        return rows, ""
    priority = rows[key].astype(str).eq(keep).astype(int) * 2 + rows[flag].fillna(False).astype(bool).astype(int)
    order = rows.assign(_p=priority, _s=rows[size].abs()).sort_values(["_p", "_s"], ascending=False)
    note = (
        f"Showing {MAX_ROWS} of {len(rows):,}: every flagged one and the largest effects; "
        "narrow the filters to see the others."
    )
    return rows.loc[order.index[:MAX_ROWS]], note


def managers(sources: Sources, filters: Filters) -> View:
    """Manager effects with intervals; the selected manager's findings, people and distribution first."""
    labels = sources.labels(filters.blind)
    pool = sources.rows(filters, ignore=("manager",))
    effects = sources.results.table("manager_effects")
    if pool.empty or effects.empty:
        return View('<p class="calib-note">No managers match these filters.</p>')
    rows = effects[isin(effects["manager_id"], set(pool["reviewer_id"].dropna().astype(str).unique()))]
    rows, note = _limit(rows, key="manager_id", flag="flagged", size="raw_effect", keep=filters.manager)
    shown = dict(labels)
    intro, parts = "", []
    if filters.manager != ALL:
        shown[filters.manager] = "▶ " + labels.get(filters.manager, filters.manager)
        intro, parts = _manager_detail(sources, filters, pool, labels)
    else:
        intro = '<p class="calib-note">Choose a manager in the Manager filter to see their people and distribution.</p>'
    if not rows.empty:
        # Only what the chart draws, ids already swapped for labels: the spec reaches the browser whole.
        drawn = rows[["manager_id", "n", "raw_effect", "lower", "upper", "shrunken_effect", "flagged", "small"]]
        drawn = drawn.assign(manager_id=drawn["manager_id"].astype(str).map(lambda i: shown.get(i, i)))
        parts.append(
            bolder(
                charts.caterpillar_chart(
                    drawn, title="Who rates leniently or severely? Intervals crossing 0: no clear effect"
                )
            ).properties(width=WIDE - 250, height=alt.Step(30))
        )
    body = (
        "<p>Each manager's ratings against the average manager's for people of the same level, discipline and "
        "peer standing, estimated on all their ratings (the filters choose who is shown). Filled: estimate; "
        "hollow: shrunken estimate; orange: flagged after the multiplicity correction.</p>"
    ) + (f'<p class="calib-note">{esc(note)}</p>' if note else "")
    return View(
        body, stack(*parts) if parts else None, intro=analysed_note(sources, filters, "Manager effects") + intro
    )


def _manager_detail(
    sources: Sources, filters: Filters, pool: pd.DataFrame, labels: Mapping[str, str]
) -> tuple[str, list[alt.TopLevelMixin]]:
    """The selected manager's findings and people (HTML) and their ratings against everyone else (chart)."""
    mine = pool[pool["reviewer_id"].astype(str) == filters.manager]
    rest = pool[pool["reviewer_id"].astype(str) != filters.manager]
    who = labels.get(filters.manager, filters.manager)
    findings = sources.results.findings
    if not findings.empty:
        findings = findings[findings["subject"].astype(str) == filters.manager]
    html = (
        f"<h2>{esc(who)}</h2><h3>Findings</h3>{findings_html(findings, sources.redaction(filters.blind), filters.blind)}"
        f"<h3>{esc(who)}'s people in view ({len(mine)})</h3>{people_table(mine, labels)}"
    )
    dist = pd.concat(
        [_stage_distribution(mine, sources, group=who), _stage_distribution(rest, sources, group="everyone else")],
        ignore_index=True,
    )
    if dist.empty:
        return html, []
    chart = charts.distribution_chart(
        dist,
        dimension="_stage",
        stage="all",
        labels=sources.config.rating_labels,
        guideline=sources.config.guideline_curve,
        title=f"{who}'s ratings against everyone else in view",
    ).properties(width=WIDE, height=alt.Step(40))
    return html, [chart]


def people_table(rows: pd.DataFrame, labels: Mapping[str, str]) -> Safe:
    """People alphabetically by label (never ranked): level, discipline, team, ratings, evidence counts."""
    ordered = rows.assign(_label=rows["employee_id"].astype(str).map(lambda i: labels.get(i, i))).sort_values("_label")
    body = [
        [
            r["_label"],
            r.get("level"),
            r.get("discipline"),
            r.get("team"),
            r.get("rating"),
            r.get("final_rating"),
            _evidence_counts(r, ""),
        ]
        for r in ordered.to_dict("records")
    ]
    headers = ["person", "level", "discipline", "team", "submitted", "calibrated", "evidence D / R / I"]
    return html_table(headers, body)


def disciplines(sources: Sources, filters: Filters) -> View:
    """One standard across disciplines? Effects at equal level, and side-by-side pairs."""
    labels = sources.labels(filters.blind)
    rows = sources.rows(filters)
    if rows.empty:
        return View('<p class="calib-note">No one matches these filters.</p>')
    present = set(rows["discipline"].dropna().astype(str))
    parts: list[alt.TopLevelMixin] = []
    seam = sources.memo(("seam", frozenset(present)), lambda: _seam_chart(sources, present))
    if seam is not None:
        parts.append(seam)
    parts.append(
        charts.distribution_chart(
            _distribution(rows, sources, by="discipline"),
            dimension="discipline",
            stage="calibrated",
            labels=sources.config.rating_labels,
            title="Ratings by discipline in view, after calibration",
        ).properties(width=WIDE, height=alt.Step(36))
    )
    pairs = sources.results.table("seam_pairs")
    ids = set(rows["employee_id"].astype(str).unique())
    body = analysed_note(sources, filters, "Discipline effects and seam pairs") + (
        "<h3>Seam pairs</h3><p>Same level, same rating, one from each side of the seam: compare their evidence.</p>"
    )
    if pairs.empty:
        body += '<p class="calib-note">No seam pairs in this analysis.</p>'
    else:
        mine = pairs[isin(pairs["employee_id"], ids) | isin(pairs["reference_employee_id"], ids)]
        table_rows = [
            [
                p["rating"],
                p["level"],
                f"{p['discipline']}: {labels.get(str(p['employee_id']), p['employee_id'])}",
                _evidence_counts(p, ""),
                f"{p['reference_discipline']}: "
                f"{labels.get(str(p['reference_employee_id']), p['reference_employee_id'])}",
                _evidence_counts(p, "reference_"),
            ]
            for p in mine.head(MAX_ROWS // 2).to_dict("records")
        ]
        more = (
            f'<p class="calib-note">and {len(mine) - len(table_rows)} more pairs.</p>'
            if len(mine) > len(table_rows)
            else ""
        )
        headers = ["rating", "level", "person", "evidence D / R / I", "paired with", "evidence D / R / I"]
        body += (
            html_table(headers, table_rows) if table_rows else '<p class="calib-note">No pairs in view.</p>'
        ) + more
    return View(body, stack(*parts))


def _seam_chart(sources: Sources, present: set[str]) -> alt.TopLevelMixin | None:
    """Discipline effects at equal level (as analysed) for the disciplines in view."""
    effects = sources.results.table("discipline_effects")
    if effects.empty:
        return None
    shown = effects[effects["discipline"].astype(str).isin(present) | effects["reference"].astype(str).isin(present)]
    if shown.empty:
        return None
    shown = shown[["difference", "lower", "upper", "flagged"]].assign(
        label=shown["discipline"].astype(str) + " vs " + shown["reference"].astype(str)
    )
    return bolder(
        charts.interval_chart(
            shown,
            label="label",
            estimate="difference",
            lower="lower",
            upper="upper",
            flagged="flagged",
            axis_title="rating points vs the reference discipline, at equal level",
            title="Do disciplines get the same standard? Intervals crossing 0: no clear gap",
        )
    ).properties(width=WIDE - 250, height=alt.Step(44))


def _evidence_counts(row: Mapping, prefix: str) -> str:
    return " / ".join(str(_int(row.get(f"{prefix}evidence_{c}_n"))) for c in ("delivery", "reliability", "influence"))


def _int(value: object) -> object:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"


def allowed_team_metrics(policy) -> list[str]:
    """Team context columns whose metric the policy does not forbid."""
    return [column for column, metric in TEAM_METRICS.items() if policy.kind(metric) != "forbidden"]


def team_context(sources: Sources, filters: Filters) -> View:
    """Each team's ratings against its delivery and SLO results (team context, never a personal score)."""
    rows = sources.rows(filters)
    if rows.empty:
        return View('<p class="calib-note">No one matches these filters.</p>')
    teams = set(rows["team"].dropna().astype(str).unique())
    context = sources.results.table("team_context")
    parts: list[alt.TopLevelMixin] = []
    body = (
        "<p>Team delivery (DORA) and SLO results describe a team, never one person: a question for the room "
        "when a strong team is rated low or a struggling team high.</p>"
    )
    if not context.empty:
        mine = context[(context["cycle"].astype(str) == filters.cycle) & isin(context["team"], teams)]
        mine = mine.rename(columns={"difference_lower": "lower", "difference_upper": "upper"})
        mine, note = _limit(mine, key="team", flag="mismatch", size="difference")
        if note:
            body += f'<p class="calib-note">{esc(note)}</p>'
        if not mine.empty and not mine["small"].fillna(False).astype(bool).all():
            drawn = mine[["team", "delivery_level", "difference", "lower", "upper", "mismatch", "small"]]
            parts.append(
                bolder(
                    charts.team_context_chart(
                        drawn,
                        names=team_labels(mine, sources.config.metric_policy),
                        title="Do team ratings match team results? Orange: worth a question",
                    )
                ).properties(width=WIDE - 250, height=alt.Step(30))
            )
        body += _team_table(mine, sources)
    dora = sources.results.table("team_dora")
    if not dora.empty:
        dora = dora[(dora["period"].astype(str) == filters.cycle) & isin(dora["team"], teams)]
        policy = sources.config.metric_policy
        for level_column, metric in (
            ("deployment_frequency_level", "deployment_frequency"),
            ("lead_time_level", "lead_time"),
            ("change_failure_rate_level", "change_failure_rate"),
            ("time_to_restore_level", "time_to_restore"),
        ):
            if policy.kind(metric) == "forbidden" and level_column in dora.columns:
                dora = dora.assign(**{level_column: None})
        if not dora.empty:
            levels = [
                "deployment_frequency_level",
                "lead_time_level",
                "change_failure_rate_level",
                "time_to_restore_level",
                "delivery_level",
            ]
            parts.append(
                charts.delivery_levels_chart(
                    dora[["period", *levels]],
                    period=filters.cycle,
                    title=f"Delivery of the teams in view, {filters.cycle}",
                ).properties(width=WIDE - 250, height=alt.Step(40))
            )
    return View(body, stack(*parts) if parts else None)


def team_labels(context: pd.DataFrame, policy) -> dict[str, str]:
    """Team labels that carry the team's delivery level and SLO record beside its name."""
    out = {}
    slos = "slo_met_share" in allowed_team_metrics(policy)
    for r in context.to_dict("records"):
        level = r.get("delivery_level") if isinstance(r.get("delivery_level"), str) else "no delivery data"
        slo = f", SLOs met {_pct(r['slo_met_share'])}" if slos and pd.notna(r.get("slo_met_share")) else ""
        out[str(r["team"])] = f"{r['team']} ({level}{slo})"
    return out


def _team_table(context: pd.DataFrame, sources: Sources) -> Safe:
    if context.empty:
        return Safe('<p class="calib-note">No team context for this cycle.</p>')
    allowed = allowed_team_metrics(sources.config.metric_policy)
    metric_headers = {
        "deploy_days_per_week": "deploy days / week",
        "lead_time_hours": "lead time (h)",
        "change_failure_rate": "change failure",
        "time_to_restore_hours": "restore (h)",
        "slo_met_share": "SLOs met",
    }
    columns = [c for c in metric_headers if c in allowed and c in context.columns]
    headers = ["team", "people", "delivery", *(metric_headers[c] for c in columns), "mean rating", "vs rest", "flag"]
    rows = []
    for r in context.sort_values(["team"]).to_dict("records"):
        values = [_pct(r[c]) if c in ("change_failure_rate", "slo_met_share") else r[c] for c in columns]
        flag = "▲ mismatch" if r.get("mismatch") is True else ("small team" if r.get("small") is True else "")
        rows.append(
            [
                r["team"],
                _int(r["n"]),
                r.get("delivery_level"),
                *values,
                r.get("mean_rating"),
                f"{r['difference']:+.2f}" if pd.notna(r.get("difference")) else "–",
                flag,
            ]
        )
    return html_table(headers, rows)


def person_options(sources: Sources, filters: Filters) -> list[tuple[str, str]]:
    """(label, id) of the people in view, alphabetical by label: a list to pick from, never a ranking."""
    labels = sources.labels(filters.blind)
    ids = sources.rows(filters)["employee_id"].astype(str).unique()
    return sorted(((labels.get(i, i), i) for i in ids), key=lambda p: (p[0].lower(), p[1]))


def person(sources: Sources, filters: Filters, employee_id: str | None) -> View:
    """One person's evidence packet: evidence with dates and links, criteria, peers, team and telemetry context."""
    config = sources.config
    labels = sources.labels(filters.blind)
    rows = sources.rows(filters)
    if not employee_id or employee_id not in set(rows["employee_id"].astype(str)):
        return View('<p class="calib-note">Choose a person above (the list follows the filters).</p>')
    me = rows[rows["employee_id"].astype(str) == employee_id].iloc[0]
    who = labels.get(employee_id, employee_id)
    text = sources.scrub if filters.blind else str
    window = next(c for c in config.cycles if c.id == filters.cycle)
    manager = labels.get(str(me.get("reviewer_id")), str(me.get("reviewer_id")))
    team = str(me.get("team"))
    org = me.get("org")
    intro = (
        f"<h2>{esc(who)}</h2>"
        f"<p>{esc(me.get('level'))} · {esc(me.get('discipline'))} · team {esc(team)}"
        f"{' (' + esc(org) + ')' if isinstance(org, str) else ''} · rated by {esc(manager)}</p>"
        f"<p><b>{esc(filters.cycle)}</b>: submitted <b>{esc(me.get('rating'))}</b>, "
        f"after calibration <b>{esc(me.get('final_rating'))}</b></p>"
    )
    mine = sources.results.findings
    if not mine.empty:
        mine = mine[mine["subject"].astype(str) == employee_id]
        if len(mine):
            intro += "<h3>Findings</h3>" + findings_html(mine, sources.redaction(filters.blind), filters.blind)
    chart = None
    evidence = sources.table("evidence")
    body = "<h3>Evidence</h3>"
    if evidence is None:
        body += '<p class="calib-note">No evidence input in this cycle.</p>'
    else:
        items = evidence[
            (evidence["employee_id"].astype(str) == employee_id)
            & (evidence["date"] >= pd.Timestamp(window.start))
            & (evidence["date"] <= pd.Timestamp(window.end))
        ].sort_values("date")
        counts = items["category"].value_counts()
        intro += (
            "<p>Evidence this cycle: "
            + " · ".join(f"{c} {int(counts.get(c, 0))}" for c in ("delivery", "reliability", "influence"))
            + "</p>"
        )
        if len(items):
            table_rows = [
                [
                    pd.Timestamp(i["date"]).date().isoformat(),
                    i.get("category"),
                    i.get("kind"),
                    link(text(str(i.get("title"))), i.get("url"), blind=filters.blind, redact=text),
                    i.get("criterion") if pd.notna(i.get("criterion")) else "",
                ]
                for i in items.to_dict("records")
            ]
            body += html_table(["date", "category", "kind", "item", "criterion"], table_rows)
            timeline = items[["date", "category", "kind"]].assign(title=items["title"].astype(str).map(text))
            chart = projector(
                bolder(
                    charts.evidence_timeline_chart(
                        timeline,
                        start=window.start,
                        end=window.end,
                        title="Evidence across the cycle (grey: the last fifth)",
                    )
                ).properties(width=WIDE, height=170)
            )
    body += _criteria_html(sources, filters, employee_id)
    body += _peer_html(sources, filters, employee_id, text)
    body += _team_context_html(sources, filters, team)
    body += telemetry_html(sources, filters, employee_id)
    return View(body, chart, intro=intro)


def _criteria_html(sources: Sources, filters: Filters, employee_id: str) -> str:
    scores = sources.table("criteria_scores")
    if scores is None:
        return ""
    mine = scores[(scores["employee_id"].astype(str) == employee_id) & (scores["cycle"].astype(str) == filters.cycle)]
    if mine.empty:
        return '<h3>Criteria scores</h3><p class="calib-note">None recorded.</p>'
    rows = [[r["criterion"], f"{r['score']:g}"] for r in mine.sort_values("criterion").to_dict("records")]
    return "<h3>Criteria scores</h3>" + html_table(["criterion", "score"], rows)


def _peer_html(sources: Sources, filters: Filters, employee_id: str, text: Callable[[str], str]) -> str:
    peers = sources.table("peer_feedback")
    if peers is None:
        return ""
    mine = peers[(peers["reviewee_id"].astype(str) == employee_id) & (peers["cycle"].astype(str) == filters.cycle)]
    if mine.empty:
        return '<h3>Peer feedback</h3><p class="calib-note">None recorded.</p>'
    summary = mine.groupby("relationship", sort=True)["score"].agg(["size", "mean"]).reset_index()
    rows = [[r["relationship"], int(r["size"]), f"{r['mean']:.1f}"] for r in summary.to_dict("records")]
    comments = mine["comment"].dropna().astype(str)
    quoted = "".join(f"<li>{esc(text(c))}</li>" for c in comments.drop_duplicates().head(8))
    return (
        f"<h3>Peer feedback ({len(mine)}; scores {sources.config.score_range[0]:g}–"
        f"{sources.config.score_range[1]:g}; writers not shown)</h3>"
        + html_table(["relationship", "responses", "mean score"], rows)
        + (f"<ul>{quoted}</ul>" if quoted else "")
    )


def _team_context_html(sources: Sources, filters: Filters, team: str) -> str:
    context = sources.results.table("team_context")
    head = f"<h3>Team context: {esc(team)} (the team's results, never this person's score)</h3>"
    if context.empty:
        return head + '<p class="calib-note">No team context.</p>'
    mine = context[(context["team"].astype(str) == team) & (context["cycle"].astype(str) == filters.cycle)]
    if mine.empty:
        dora = sources.results.table("team_dora")
        mine = (
            dora[(dora["team"].astype(str) == team) & (dora["period"].astype(str) == filters.cycle)]
            if len(dora)
            else dora
        )
        if mine.empty:
            return head + '<p class="calib-note">No delivery or SLO data for this team and cycle.</p>'
    r = mine.iloc[0]
    policy = sources.config.metric_policy
    items = [("delivery level", r.get("delivery_level"))]
    shown = {
        "deploy_days_per_week": ("deploy days a week", lambda v: f"{v:g}"),
        "lead_time_hours": ("median lead time", lambda v: f"{v:.1f} h"),
        "change_failure_rate": ("change failure rate", _pct),
        "time_to_restore_hours": ("median time to restore", lambda v: f"{v:.1f} h"),
        "slo_met_share": ("SLO windows met", _pct),
    }
    for column in allowed_team_metrics(policy):
        if column in r.index and pd.notna(r[column]):
            label, fmt = shown[column]
            items.append((label, fmt(float(r[column]))))
    if len(items) == 1 and not isinstance(items[0][1], str):
        return head + '<p class="calib-note">No delivery or SLO data for this team and cycle.</p>'
    return head + html_table([k for k, _ in items], [[v for _, v in items]])


def telemetry_html(sources: Sources, filters: Filters, employee_id: str) -> str:
    """Per-person telemetry as context: only metrics the policy allows, alphabetical, never ranked."""
    telemetry = sources.table("telemetry")
    if telemetry is None or telemetry.empty:
        return ""
    mine = telemetry[
        (telemetry["employee_id"].astype(str) == employee_id) & (telemetry["cycle"].astype(str) == filters.cycle)
    ]
    policy = sources.config.metric_policy
    metrics = sorted(set(mine["metric"].dropna().astype(str)))
    allowed = [m for m in policy.allowed(metrics, "person_context") if policy.kind(m) == "contextual"]
    mine = mine[mine["metric"].astype(str).isin(allowed)].sort_values("metric")
    head = (
        '<h3>Telemetry (context only)</h3><p class="calib-note">Context beside the evidence, never a score or a '
        "ranking: low counts are normal for deep, reliability and platform work.</p>"
    )
    if mine.empty:
        return head + '<p class="calib-note">No telemetry the metric policy allows.</p>'
    rows = [
        [r["metric"].replace("_", " "), f"{r['value']:g}" if pd.notna(r["value"]) else "–"]
        for r in mine.to_dict("records")
    ]
    return head + html_table(["metric", "value"], rows)


def audit(sources: Sources, filters: Filters) -> View:
    """The bias audit as analysed (org-wide, suppressed) and the ratings by attribute in view."""
    config = sources.config
    table = sources.results.table("bias_audit")
    rows = sources.rows(filters)
    attributes = [a for a in config.protected_attributes if a in sources.frame.columns]
    intro = (
        f"<p>Selection rates by protected attribute in {esc(sources.results.document.get('cycle', filters.cycle))}"
        f" (org-wide, as analysed), then ratings by attribute in view; groups under {config.min_group_size} "
        "people are suppressed.</p>"
    )
    if filters.blind:
        intro += f'<p class="calib-note">Group labels are {HIDDEN}.</p>'
    body = "<h3>Bias audit (as analysed)</h3>"
    parts: list[alt.TopLevelMixin] = []
    if not table.empty:
        shown = _blind_groups(sources, table) if filters.blind else table
        parts += sources.memo(("audit", filters.blind), lambda: _selection_charts(shown))
        body += _audit_table(shown)
    for attribute in attributes:
        if rows.empty:
            break
        dist = _distribution(rows, sources, by=attribute)
        if filters.blind:
            dist = _blind_groups(sources, dist, attribute)
        parts.append(
            charts.distribution_chart(
                dist,
                dimension=attribute,
                stage="calibrated",
                labels=config.rating_labels,
                title=f"Ratings by {attribute} in view (descriptive; small groups suppressed)",
            ).properties(width=WIDE, height=alt.Step(36))
        )
    if not parts:
        body += '<p class="calib-note">No protected attributes in this cycle\'s config.</p>'
    return View(body, stack(*parts) if parts else None, intro=intro)


def _selection_charts(audit: pd.DataFrame) -> list[alt.TopLevelMixin]:
    drawn = audit[["attribute", "outcome", "group", "n", "rate", "four_fifths_flag", "impact_ratio", "suppressed"]]
    return [
        charts.selection_rate_chart(
            drawn,
            attribute=attribute,
            outcome=outcome,
            title=f"{outcome.replace('_', ' ').capitalize()} by {attribute}: orange is below four-fifths",
        ).properties(width=WIDE - 300, height=alt.Step(40))
        for (attribute, outcome), _ in drawn.groupby(["attribute", "outcome"], sort=False)
    ]


def hidden_groups(sources: Sources, attribute: str) -> dict[str, str]:
    """One numbering of an attribute's groups for blind mode, the same in the audit table and every chart."""

    def make() -> dict[str, str]:
        groups = set(sources.frame[attribute].dropna().astype(str)) if attribute in sources.frame.columns else set()
        audit = sources.results.table("bias_audit")
        if not audit.empty:
            mine = audit[audit["attribute"].astype(str) == attribute]
            groups |= set(mine["group"].dropna().astype(str)) | set(mine["reference_group"].dropna().astype(str))
        return {g: f"group {i + 1} ({HIDDEN})" for i, g in enumerate(sorted(groups))}

    return sources.memo(("hidden groups", attribute), make)


def _blind_groups(sources: Sources, table: pd.DataFrame, attribute: str | None = None) -> pd.DataFrame:
    """`table` with its group labels (and reference groups) replaced by numbers."""
    out = table.copy()
    attributes = out["attribute"].astype(str) if attribute is None else pd.Series(attribute, index=out.index)
    for column in ("group", "reference_group"):
        if column in out.columns:
            out[column] = [
                hidden_groups(sources, a).get(str(g), HIDDEN) if pd.notna(g) else g
                for a, g in zip(attributes, out[column], strict=True)
            ]
    return out


def _audit_table(table: pd.DataFrame) -> Safe:
    rows = []
    for r in table.to_dict("records"):
        hidden = bool(r.get("suppressed"))
        rows.append(
            [
                r["attribute"],
                str(r["outcome"]).replace("_", " "),
                r["group"],
                "suppressed" if hidden else _int(r.get("n")),
                "suppressed" if hidden else _pct(r.get("rate")),
                "–" if hidden else r.get("impact_ratio"),
                "▲ below 4/5" if r.get("four_fifths_flag") is True and not hidden else "",
                "–" if hidden or pd.isna(r.get("holm_p")) else f"{r['holm_p']:.2g}",
            ]
        )
    headers = ["attribute", "outcome", "group", "n", "rate", "impact ratio", "four-fifths", "Holm p"]
    return html_table(headers, rows)


VIEWS: dict[str, Callable[[Sources, Filters], View]] = {
    "Overview": overview,
    "Managers": managers,
    "Disciplines": disciplines,
    "Team context": team_context,
    "Audit": audit,
}
