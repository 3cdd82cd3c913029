"""Per-manager packets: one HTML page per manager holding only that manager's direct reports.

Access control by construction: `packet_data` first cuts the calibration frame and every
analysis table down to one manager's direct reports (the org chart's manager_id), and keeps only
findings about those people, the manager or their teams; `render_packet` sees nothing but that
cut. Free text from findings passes through the same cut: a name or id of anyone else becomes
"someone outside this team". A packet shows no org-wide per-person data.

No kernel per packet: jinja2 (autoescape on) fills templates/packets/*.j2 and vl-convert draws
each packet's one SVG chart. With many packets they are rendered by two worker processes (a
packet costs about 0.1 s, nearly all of it vl-convert, which does not run in parallel threads).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # workers rendering packets import only jinja2 and vl-convert
    import pandas as pd

    from calib.outputs.report.prepare import Prepared

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "packets"
OUTSIDE = "someone outside this team"
CATEGORIES = ("delivery", "reliability", "influence")
STAGES = ("submitted", "after calibration")
PARALLEL_FROM = 40  # fewer packets render faster in this process than with two fresh workers
_TOKEN = re.compile("\x00([^\x00]*)\x00")


@dataclass(frozen=True)
class PacketData:
    """Everything one packet shows, already cut down to the manager's direct reports."""

    manager_id: str
    manager: str
    file: str
    cycle: str
    previous_cycle: str | None
    labels: list[str]
    people: list[dict]
    not_reviewed: list[str]
    teams: list[dict]
    findings: list[dict]
    criteria: int
    blind: bool
    chart: dict | None = field(default=None, repr=False)

    @property
    def ids(self) -> set[str]:
        """Employee ids this packet may name: the manager and the direct reports."""
        return {self.manager_id} | {p["employee_id"] for p in self.people}


# -- filter ---------------------------------------------------------------------------------------


class Scrubber:
    """Marks every known person in a text once (the blind-mode matching of `calib.privacy`); each
    packet then resolves only its own people and shows everyone else as OUTSIDE."""

    def __init__(self, people: pd.DataFrame):
        from calib.privacy import redaction

        ids = people["employee_id"].astype(str)
        self._mark = redaction(people, blind=True, replace_with={i: f"\x00{i}\x00" for i in ids})

    def __call__(self, text: str, allowed: Mapping[str, str]) -> str:
        """The text with the allowed people shown by label and everyone else as OUTSIDE."""
        marked = self._mark(text)
        return _TOKEN.sub(lambda m: allowed.get(m.group(1), OUTSIDE), marked)


def build_packets(prepared: Prepared, *, blind: bool) -> list[PacketData]:
    """The data of every manager's packet, each cut to that manager's direct reports."""
    import pandas as pd

    from calib.privacy import PROTECTED_FINDINGS

    normalized, analysis = prepared.normalized, prepared.analysis
    config = normalized.data.config
    cycle = config.cycle
    cycles = [c.id for c in config.cycles]
    previous = cycles[cycles.index(cycle) - 1] if cycles.index(cycle) > 0 else None
    people = normalized.data["people"]
    everyone = prepared.normalized.data.tables["people"]
    scrub = Scrubber(everyone)
    frame = normalized.frame
    now = frame[frame["cycle"] == cycle].set_index("employee_id", drop=False)
    before = frame[frame["cycle"] == previous].set_index("employee_id") if previous else pd.DataFrame()
    health = _by_person(analysis.tables.get("evidence_health"))
    hidden = _by_person(analysis.tables.get("invisible_work"))
    dora = _by_team(analysis.tables.get("team_dora"), cycle)
    slos = _by_team(analysis.tables.get("team_slos"), cycle)
    criteria = len(analysis.tables.get("evidence_criteria", ()))
    findings = [f for f in analysis.findings if f.kind not in PROTECTED_FINDINGS]
    known = set(everyone["employee_id"].astype(str))
    reports = people[people["manager_id"].notna()].groupby("manager_id", sort=True)
    files: dict[str, int] = {}
    packets = []
    for manager_id, team in reports:
        manager_id = str(manager_id)
        if manager_id not in known:
            continue
        packets.append(
            packet_data(
                manager_id,
                team,
                now=now,
                before=before,
                health=health,
                hidden=hidden,
                dora=dora,
                slos=slos,
                findings=findings,
                labels=prepared.redaction.labels,
                scrub=scrub,
                cycle=cycle,
                previous=previous,
                rating_labels=config.rating_labels,
                criteria=criteria,
                blind=blind,
                file=_file_name(prepared.redaction.labels.get(manager_id, manager_id) if blind else manager_id, files),
            )
        )
    return sorted(packets, key=lambda p: (p.manager.lower(), p.file))


def packet_data(
    manager_id: str,
    reports: pd.DataFrame,
    *,
    now: pd.DataFrame,
    before: pd.DataFrame,
    health: pd.DataFrame,
    hidden: pd.DataFrame,
    dora: pd.DataFrame,
    slos: pd.DataFrame,
    findings: Iterable,
    labels: Mapping[str, str],
    scrub: Scrubber,
    cycle: str,
    previous: str | None,
    rating_labels: list[str],
    criteria: int,
    blind: bool,
    file: str,
) -> PacketData:
    """One manager's packet: the filter comes first, everything after reads only the filtered rows."""
    from calib.outputs.report.sections.base import KIND_LABELS

    ids = sorted(reports["employee_id"].astype(str))
    allowed = {i: labels.get(i, i) for i in [manager_id, *ids]}
    mine = now[now.index.isin(ids)]
    teams = sorted(set(reports["team"].dropna().astype(str)))
    rows = []
    for person in mine.itertuples(index=False):
        who = str(person.employee_id)
        evidence = health.loc[who] if who in health.index else None
        invisible = hidden.loc[who] if who in hidden.index else None
        earlier = before.loc[who] if len(before) and who in before.index else None
        rows.append(
            {
                "employee_id": who,
                "label": allowed[who],
                "team": person.team,
                "level": str(person.level),
                "discipline": person.discipline,
                "previous": _text(earlier["final_rating"]) if earlier is not None else "",
                "submitted": _text(person.rating),
                "calibrated": _text(person.final_rating),
                "changed": _text(person.rating) != _text(person.final_rating),
                "delivery": int(person.evidence_delivery_n),
                "reliability": int(person.evidence_reliability_n),
                "influence": int(person.evidence_influence_n),
                "late_share": _share(evidence["late_share"]) if evidence is not None else "",
                "criteria_light": _int(evidence["criteria_light"]) if evidence is not None else None,
                "thin": _text(evidence["thin_reason"]) if evidence is not None and _flag(evidence["thin"]) else "",
                "invisible": _text(invisible["signal"]) if invisible is not None else "",
            }
        )
    rows.sort(key=lambda r: r["label"])
    not_reviewed = sorted(allowed[i] for i in ids if i not in set(mine.index))
    team_rows = [_team_context(t, dora, slos) for t in teams]
    subjects = set(allowed) | set(teams)
    notes = [
        {
            "kind": KIND_LABELS.get(f.kind, f.kind),
            "severity": f.severity,
            "explanation": scrub(f.explanation, allowed),
        }
        for f in findings
        if str(f.subject) in subjects
    ]
    return PacketData(
        manager_id=manager_id,
        manager=allowed[manager_id],
        file=file,
        cycle=cycle,
        previous_cycle=previous,
        labels=list(rating_labels),
        people=rows,
        not_reviewed=not_reviewed,
        teams=team_rows,
        findings=notes,
        criteria=criteria,
        blind=blind,
        chart=packet_chart(rows, rating_labels) if rows else None,
    )


def _by_person(table: pd.DataFrame | None) -> pd.DataFrame:
    import pandas as pd

    if table is None or table.empty or "employee_id" not in table.columns:
        return pd.DataFrame()
    rows = table.drop_duplicates("employee_id")
    rows.index = rows["employee_id"].astype(str)
    return rows


def _by_team(table: pd.DataFrame | None, cycle: str) -> pd.DataFrame:
    import pandas as pd

    if table is None or table.empty or "team" not in table.columns:
        return pd.DataFrame()
    rows = table[table["period"].astype(str) == cycle] if "period" in table.columns else table
    rows = rows.drop_duplicates("team")
    rows.index = rows["team"].astype(str)
    return rows


def _team_context(team: str, dora: pd.DataFrame, slos: pd.DataFrame) -> dict:
    out = {"team": team, "delivery": "", "metrics": [], "slo": ""}
    if team in dora.index:
        row = dora.loc[team]
        out["delivery"] = _text(row.get("delivery_level"))
        out["metrics"] = [
            (
                "deployment days per week",
                _num(row.get("deploy_days_per_week"), "g"),
                _text(row.get("deployment_frequency_level")),
            ),
            ("median lead time", _hours(row.get("lead_time_hours")), _text(row.get("lead_time_level"))),
            (
                "change failure rate",
                _share(row.get("change_failure_rate")),
                _text(row.get("change_failure_rate_level")),
            ),
            (
                "median time to restore",
                _hours(row.get("time_to_restore_hours")),
                _text(row.get("time_to_restore_level")),
            ),
        ]
    if team in slos.index:
        row = slos.loc[team]
        out["slo"] = (
            f"met {_share(row.get('slo_met_share'))} of {_int(row.get('slo_windows'))} SLO windows; "
            f"error budget consumed {_share(row.get('slo_budget_consumed'))}"
        )
    return out


# -- chart ----------------------------------------------------------------------------------------

_TEMPLATE_SPEC: dict | None = None


def packet_chart(rows: list[dict], rating_labels: list[str]) -> dict:
    """A Vega-Lite spec of the team only: each person's rating before and after calibration, and
    their evidence by category (the spec is built with altair once; each packet swaps in its rows)."""
    global _TEMPLATE_SPEC
    if _TEMPLATE_SPEC is None:
        _TEMPLATE_SPEC = _chart_template(rating_labels)
    spec = dict(_TEMPLATE_SPEC)
    ratings = []
    for row in rows:
        for stage, value in (("submitted", row["submitted"]), ("after calibration", row["calibrated"])):
            if value in rating_labels:
                ratings.append({"person": row["label"], "stage": stage, "rating": value})
    evidence = [
        {"person": row["label"], "category": category, "items": row[category]}
        for row in rows
        for category in CATEGORIES
    ]
    spec["datasets"] = {"ratings": ratings, "evidence": evidence}
    spec["hconcat"] = [
        {
            **panel,
            "encoding": {**panel["encoding"], "y": {**panel["encoding"]["y"], "sort": [r["label"] for r in rows]}},
        }
        if "encoding" in panel
        else panel
        for panel in _TEMPLATE_SPEC["hconcat"]
    ]
    return spec


def _chart_template(rating_labels: list[str]) -> dict:
    import altair as alt

    from calib.outputs.charts import OKABE_ITO

    person = alt.Y("person:N", title=None)
    ratings = (
        alt.Chart(alt.NamedData("ratings"))
        .mark_point(size=90, filled=True)
        .encode(
            x=alt.X(
                "rating:O",
                sort=list(rating_labels),
                scale=alt.Scale(domain=list(rating_labels)),
                title=None,
                axis=alt.Axis(labelAngle=-30),
            ),
            y=person,
            shape=alt.Shape("stage:N", scale=alt.Scale(domain=list(STAGES), range=["circle", "diamond"]), title=None),
            color=alt.Color("stage:N", scale=alt.Scale(domain=list(STAGES), range=["#999999", "#000000"]), title=None),
            xOffset=alt.XOffset("stage:N", sort=list(STAGES)),
        )
        .properties(title="Rating as submitted and after calibration", width=260, height=alt.Step(24))
    )
    evidence = (
        alt.Chart(alt.NamedData("evidence"))
        .mark_bar()
        .encode(
            x=alt.X("items:Q", title="evidence items this cycle"),
            y=person,
            color=alt.Color(
                "category:N", scale=alt.Scale(domain=list(CATEGORIES), range=OKABE_ITO[:3]), title="evidence"
            ),
            order=alt.Order("rank:Q"),
        )
        .transform_calculate(rank="indexof(['delivery', 'reliability', 'influence'], datum.category)")
        .properties(title="Evidence by category: a year-round log covers all three", width=260, height=alt.Step(24))
    )
    chart = alt.hconcat(ratings, evidence).resolve_scale(color="independent", shape="independent")
    return chart.to_dict()


# -- render ---------------------------------------------------------------------------------------


def environment():
    """The jinja2 environment of the packet templates (autoescape on for everything)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_packet(packet: PacketData, env=None) -> str:
    """One packet's HTML: the template filled with this packet's data and its SVG chart."""
    import vl_convert
    from markupsafe import Markup

    env = env or environment()
    svg = Markup(_clean_svg(vl_convert.vegalite_to_svg(packet.chart))) if packet.chart else ""
    return env.get_template("packet.html.j2").render(packet=packet, chart=svg)


def render_index(packets: Sequence[PacketData], *, cycle: str, blind: bool, env=None) -> str:
    """The index page linking every packet."""
    env = env or environment()
    return env.get_template("index.html.j2").render(packets=packets, cycle=cycle, blind=blind)


def _clean_svg(svg: str) -> str:
    """vl-convert's SVG without the XML prolog, ready to inline."""
    return re.sub(r"^<\?xml[^>]*>\s*", "", svg)


def _render_chunk(packets: list[PacketData], folder: str) -> int:
    env = environment()
    for packet in packets:
        (Path(folder) / packet.file).write_text(render_packet(packet, env), encoding="utf-8")
    return len(packets)


def render_packets(packets: Sequence[PacketData], folder: Path, *, workers: int | None = None) -> None:
    """Write each packet's HTML into `folder`, in two worker processes when there are many."""
    folder.mkdir(parents=True, exist_ok=True)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if len(packets) >= PARALLEL_FROM else 1
    if workers <= 1:
        _render_chunk(list(packets), str(folder))
        return
    size = max(1, math.ceil(len(packets) / (workers * 4)))  # small chunks: both workers finish together
    chunks = [list(packets[i : i + size]) for i in range(0, len(packets), size)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        sum(pool.map(_render_chunk, chunks, [str(folder)] * len(chunks)))


def write_packets(prepared: Prepared, folder: Path, *, blind: bool, workers: int | None = None) -> int:
    """Write one packet per manager and index.html into `folder`; returns the number of packets."""
    packets = build_packets(prepared, blind=blind)
    render_packets(packets, folder, workers=workers)
    cycle = prepared.normalized.data.config.cycle
    (folder / "index.html").write_text(render_index(packets, cycle=cycle, blind=blind), encoding="utf-8")
    return len(packets)


# -- small formatting helpers ---------------------------------------------------------------------


def _file_name(name: str, taken: dict[str, int]) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "manager"
    taken[slug] = taken.get(slug, 0) + 1
    return f"{slug}.html" if taken[slug] == 1 else f"{slug}-{taken[slug]}.html"


def _missing(value: object) -> bool:
    return value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and math.isnan(value))


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)


def _flag(value: object) -> bool:
    return not _missing(value) and str(value).lower() in ("true", "1")


def _int(value: object) -> int | None:
    return None if _missing(value) else int(value)


def _num(value: object, fmt: str) -> str:
    return "" if _missing(value) else format(float(value), fmt)


def _share(value: object) -> str:
    return "" if _missing(value) else f"{float(value):.0%}"


def _hours(value: object) -> str:
    if _missing(value):
        return ""
    hours = float(value)
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
