"""`calib analyze`: run every analysis on a normalized cycle and write findings.json + tables/.

The report, the dashboard and the manager explorer read these results; they never recompute
them differently. Same inputs give byte-identical outputs (no timestamps, sorted keys, floats
rounded to 6 significant digits, seeded simulations).
"""

from __future__ import annotations

import hashlib
import json
import typing
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from calib.analyses.bias import bias_audit
from calib.analyses.context import cycle_over_cycle, team_context
from calib.analyses.curves import central_tendency, curve_findings, manager_curve_fit, org_dispersion
from calib.analyses.distributions import distributions
from calib.analyses.evidence import evidence_health
from calib.analyses.findings import Finding, FindingKind
from calib.analyses.invisible import invisible_work
from calib.analyses.raters import expected_ratings, manager_effects
from calib.analyses.reliability import (
    peer_reliability,
    peer_reviewer_effects,
    peer_variance_components,
    reliability_findings,
)
from calib.analyses.seam import discipline_seam
from calib.files import csv_text, replace_dir, staging_dir, write_text_atomic
from calib.frame import Normalized

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).with_name("findings.schema.json")
KIND_ORDER = list(typing.get_args(FindingKind))  # findings.json lists kinds in this order
SEVERITY_ORDER = {"alert": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Analysis:
    """Every finding, every table, and the method text of each analysis."""

    normalized: Normalized
    findings: list[Finding]
    tables: dict[str, pd.DataFrame]
    methods: dict[str, str]


def run_analyses(normalized: Normalized) -> Analysis:
    """Run all analyses of the cycle under review."""
    data, frame = normalized.data, normalized.frame
    config = data.config
    cycle, labels, small = config.cycle, config.rating_labels, config.min_group_size
    window = config.window
    up_to_now = frame[frame["cycle"] <= cycle]
    findings: list[Finding] = []
    tables: dict[str, pd.DataFrame] = {}
    methods: dict[str, str] = {}

    tables["team_dora"] = normalized.team_dora
    tables["team_slos"] = normalized.team_slos
    tables["distributions"] = distributions(frame, cycle=cycle, labels=labels, min_group_size=small)

    peers = data.tables.get("peer_feedback")
    raters = manager_effects(frame, cycle=cycle, peer_feedback=peers, min_group_size=small)
    tables["manager_effects"] = raters.table
    findings += raters.findings
    methods["manager_effects"] = raters.method

    if peers is not None:
        this_cycle = peers[peers["cycle"] == cycle]
        reliability = peer_reliability(this_cycle)
        tables["peer_reliability"] = reliability
        tables["peer_variance_components"] = peer_variance_components(this_cycle)
        tables["peer_reviewer_effects"] = peer_reviewer_effects(this_cycle)
        findings += reliability_findings(reliability)
        methods["peer_reliability"] = "; ".join(sorted(set(reliability["assumption"].astype(str))))

    fits = manager_curve_fit(
        up_to_now, labels=labels, guideline=config.guideline_curve, column="rating", min_group_size=small
    )
    dispersion = org_dispersion(frame[frame["cycle"] == cycle], labels=labels, column="rating", min_group_size=small)
    tendency = central_tendency(frame[frame["cycle"] == cycle], labels=labels, column="rating", min_group_size=small)
    tables["forced_distribution"] = fits
    tables["org_dispersion"] = pd.DataFrame([dispersion])
    tables["central_tendency"] = tendency
    findings += curve_findings(fits if config.guideline_curve else None, dispersion, tendency, labels=labels)
    methods["forced_distribution"] = (
        "Per manager, Pearson's X² to the guideline curve summed over cycles, exact or Monte Carlo lower tail "
        "(fits too well to be chance), Holm with Tarone's refinement; org-wide under-dispersion by permutation; "
        "central tendency by share at the middle. Assumes ratings independent given the guideline; the product "
        "never recommends forcing a curve."
    )

    seam = discipline_seam(frame, cycle=cycle, min_group_size=small)
    tables["discipline_effects"] = seam.effects
    tables["seam_pairs"] = seam.pairs
    findings += seam.findings
    methods["discipline_seam"] = seam.method

    audit = bias_audit(
        frame,
        attributes=config.protected_attributes,
        top=labels[-2:],
        bottom=labels[:1],
        min_group_size=small,
        cycle=cycle,
    )
    tables["bias_audit"] = audit.table
    findings += audit.findings
    methods["bias_audit"] = audit.method if hasattr(audit, "method") else ""

    if data.has("evidence"):
        criteria = _criteria(data)
        health = evidence_health(
            frame,
            data["evidence"],
            cycle=cycle,
            start=window.start,
            end=window.end,
            labels=labels,
            criteria=criteria,
            min_group_size=small,
        )
        tables["evidence_health"] = health.people
        tables["evidence_recency_managers"] = health.managers
        tables["evidence_criteria"] = health.criteria
        findings += health.findings
        hidden = invisible_work(
            frame,
            data["evidence"],
            cycle=cycle,
            start=window.start,
            end=window.end,
            labels=labels,
            min_group_size=small,
        )
        tables["invisible_work"] = hidden.table
        findings += hidden.findings

    expected = expected_ratings(frame, cycle=cycle, peer_feedback=peers)
    context = team_context(frame, cycle=cycle, min_group_size=small, expected=expected)
    tables["team_context"] = context.table
    findings += context.findings
    drift = cycle_over_cycle(up_to_now, min_group_size=small)
    tables["cycle_changes"] = drift.changes
    tables["rating_transitions"] = drift.transitions
    tables["manager_drift"] = drift.managers
    findings += drift.findings

    for finding in findings:
        methods.setdefault(finding.kind, finding.method)
    ordered = sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], KIND_ORDER.index(f.kind), f.subject))
    return Analysis(normalized, ordered, tables, methods)


def _criteria(data) -> list[str]:
    names: set[str] = set()
    for name in ("criteria_scores", "evidence"):
        if data.has(name) and "criterion" in data[name].columns:
            names |= set(data[name]["criterion"].dropna().astype(str))
    return sorted(names)


def findings_document(analysis: Analysis) -> dict:
    """The findings.json content (validated against findings.schema.json by the tests)."""
    data = analysis.normalized.data
    config = data.config
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": f"calib {version('calib')}",
        "cycle": config.cycle,
        "cycle_window": {"start": str(config.window.start), "end": str(config.window.end)},
        "rating_scale": config.rating_labels,
        "min_group_size": config.min_group_size,
        "config": {"file": config.source.name if config.source else None, "sha256": _sha256(config.source)},
        "inputs": {name: _lineage(config.shown(name), s) for name, s in sorted(data.sources.items())},
        "methods": dict(sorted(analysis.methods.items())),
        "findings": [f.to_json() for f in analysis.findings],
    }


def _lineage(shown: str, source) -> dict:
    """An input's lineage in findings.json: file, hash, rows, bytes, format; a table also names its database."""
    entry = {
        "file": shown,
        "sha256": source.sha256,
        "rows": source.rows,
        "bytes": source.bytes,
        "format": source.format,
    }
    if source.table is not None:  # the connection string without its password (calib.delivery.engine.redact)
        entry |= {"connection": source.connection, "table": source.table}
    return entry


def _sha256(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def write_analysis(analysis: Analysis, out: Path) -> None:
    """Write out/findings.json and out/tables/*.csv; each appears whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    staged = staging_dir(out / "tables")
    try:
        for name, table in sorted(analysis.tables.items()):
            (staged / f"{name}.csv").write_text(csv_text(table), encoding="utf-8", newline="")
        replace_dir(staged, out / "tables")
    except BaseException:
        import shutil

        shutil.rmtree(staged, ignore_errors=True)
        raise
    text = json.dumps(findings_document(analysis), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    write_text_atomic(out / "findings.json", text)
