"""The report's data side: load, validate, cut to an org, analyse once, write results and lineage.

`prepare_results` writes findings.json, tables/ and lineage.json (blind when asked, through
`calib.outputs.report.blind`); `report_context` is what the notebook's sections read back.
With a calibration session, its ratings are the after-calibration ratings (replaced in the loaded
reviews before normalize: `calib.outputs.report.session`), and session.json holds what it changed
(`calib.outputs.report.changes`); without one, nothing differs.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from calib.analyses.results import load_results
from calib.errors import UsageError
from calib.files import write_text_atomic
from calib.inputs.config import CycleConfig, load_config
from calib.inputs.contract import CONTRACT
from calib.inputs.load import read_table
from calib.outputs.report.blind import blind_analysis
from calib.privacy import PROTECTED_FINDINGS, Redaction, redaction

if TYPE_CHECKING:  # the analysis stack and altair load only when needed: start-up stays light
    from calib.analyses.runner import Analysis
    from calib.frame import Normalized
    from calib.outputs.report.sections.base import ReportContext

LINEAGE_JSON = "lineage.json"
SESSION_JSON = "session.json"
SESSION_LINEAGE = (
    "name",
    "cycle",
    "scope",
    "status",
    "store",
    "events",
    "head_hash",
    "verified",
    "verify_problem",
    "locked_by",
    "locked_at",
    "people_in_scope",
    "rating_changes",
    "people_changed",
)
VERSIONED = (
    "calib",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pandera",
    "altair",
    "vl-convert-python",
    "papermill",
    "nbconvert",
    "jinja2",
)


def read_people(config: CycleConfig) -> pd.DataFrame:
    """Only the people input (for display labels), read as `calib validate` reads it."""
    spec = config.inputs["people"]
    return read_table(
        config.input_path("people"),
        display_name=str(spec.path),
        rename=config.columns.get("people"),
        expected_columns=[c.name for c in CONTRACT["people"]],
        sheet=spec.sheet,
    )


def select_cycle(config: CycleConfig, cycle: str | None) -> CycleConfig:
    """The config with another cycle under review; an unknown cycle is a usage error."""
    if not cycle or cycle == config.cycle:
        return config
    known = [c.id for c in config.cycles]
    if cycle not in known:
        raise UsageError(f"unknown cycle {cycle!r}; the config lists {', '.join(known)}")
    return config.model_copy(update={"cycle": cycle})


@dataclass(frozen=True)
class Prepared:
    """A cycle analysed for the report: what was written, and what packets need (unblinded)."""

    normalized: Normalized
    analysis: Analysis
    redaction: Redaction  # how people are shown (blind or open), for the packets
    lineage: dict
    session: dict | None = None  # session.json's content (blind when asked), when a session was named


def prepare_results(
    config: str | Path,
    out: str | Path,
    *,
    cycle: str = "",
    org: str = "",
    blind: bool = False,
    session: str | None = None,
    store: str | None = None,
    engine: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Prepared:
    """Load, validate, filter and analyse a cycle; write findings.json, tables/ and lineage.json to `out`.

    Parameters
    ----------
    session, store
        A calibration session of the cycle whose current ratings are the after-calibration ratings
        of the people in its scope, and its store (None: the config's, else the default); adds
        session.json and a `session` entry in lineage.json.
    engine
        Where the delivery stage runs (`calib.delivery.engine.connect`); None: the config's engine.
    progress
        Told each stage as it starts (the CLI shows it on a terminal).

    Raises
    ------
    ConfigError, InputError
        The config or an input is invalid (every problem listed).
    UsageError
        An unknown cycle or org.
    SessionError, StoreError
        No such session, or its store is missing or cannot be read.
    """
    from calib.analyses.runner import run_analyses, write_analysis
    from calib.delivery.sources import load_cycle
    from calib.errors import render_problems
    from calib.frame import normalize
    from calib.scope import filter_org

    out = Path(out)
    started = time.perf_counter()
    settings = select_cycle(load_config(config).with_engine(engine), cycle or None)
    data = load_cycle(settings, progress=progress)
    loaded = time.perf_counter()
    read = data
    view = None
    if session is not None:
        from calib.outputs.report.session import read_session, with_session_ratings

        view = read_session(settings, session, store=store, data=data)
        data = with_session_ratings(data, view.table)
    normalized = normalize(data)
    if org:
        normalized = filter_org(normalized, org)
    normalized_at = time.perf_counter()
    if progress is not None:
        progress("analyses ...")
    analysis = run_analyses(normalized)
    analysed = time.perf_counter()
    redact = redaction(data["people"], blind=blind)
    hidden: list[str] = []
    written = analysis
    if blind:
        written, hidden = blind_analysis(analysis, redact, list(settings.protected_attributes))
    write_analysis(written, out)
    warnings = render_problems(data.warnings, shown_per_kind=3)
    lineage = {
        "cycle": settings.cycle,
        "org": org,
        "blind": blind,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "engine": data.engine.described if data.engine is not None else None,  # the delivery stage's, no password
        "people": int(normalized.frame.loc[normalized.frame["cycle"] == settings.cycle, "employee_id"].nunique()),
        "seconds": {
            "load and validate": round(loaded - started, 2),
            "normalize": round(normalized_at - loaded, 2),
            "analyses": round(analysed - normalized_at, 2),
        },
        "warning_count": len(data.warnings),
        "warnings": [redact(line) if blind else line for line in warnings],
        "versions": package_versions(),
        "hidden_in_blind_mode": hidden,
        "bias_findings_hidden": sum(f.kind in PROTECTED_FINDINGS for f in analysis.findings) if blind else 0,
    }
    changes = None
    if view is not None:
        from calib.outputs.report.changes import blind_summary, change_summary, evidence_terms

        frame = normalized.frame
        included = frame.loc[frame["cycle"] == settings.cycle, "employee_id"] if org else None
        changes = change_summary(view, read, terms=evidence_terms(read), included=included)
        if blind:
            changes = blind_summary(changes, redact, [e.author for e in view.events])
        lineage["session"] = {key: changes[key] for key in SESSION_LINEAGE}
        write_text_atomic(out / SESSION_JSON, json.dumps(changes, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(out / LINEAGE_JSON, json.dumps(lineage, indent=2, ensure_ascii=False) + "\n")
    return Prepared(normalized, analysis, redact, lineage, changes)


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages the report's numbers and charts depend on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def report_context(
    results: str | Path, config: str | Path, *, blind: bool = False, org: str = "", max_rows: int = 50
) -> ReportContext:
    """What the notebook's sections read: the results folder, labels for people, lineage."""
    from calib.outputs.report.sections.base import ReportContext

    settings = load_config(config)
    redact = redaction(read_people(settings), blind=blind)
    lineage_path = Path(results) / LINEAGE_JSON
    lineage = json.loads(lineage_path.read_text(encoding="utf-8")) if lineage_path.is_file() else {}
    session_path = Path(results) / SESSION_JSON
    session = json.loads(session_path.read_text(encoding="utf-8")) if session_path.is_file() else {}
    return ReportContext(
        results=load_results(results),
        names=redact.labels,
        text=redact,
        blind=blind,
        guideline=settings.guideline_curve,
        lineage=lineage,
        org=org,
        max_rows=max_rows,
        session=session,
    )
