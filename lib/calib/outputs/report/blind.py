"""Analysis results as written in blind mode: pseudonyms for people, nothing about protected attributes.

Every text goes through the one redaction layer (`calib.privacy`); rows and findings are re-sorted
by pseudonym, so their order cannot map pseudonyms back to ids.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pandas as pd

from calib.privacy import IDENTIFYING, PROTECTED_FINDINGS, PROTECTED_TABLES, Redaction

if TYPE_CHECKING:
    from calib.analyses.runner import Analysis


def blind_analysis(analysis: Analysis, redact: Redaction, protected: list[str]) -> tuple[Analysis, list[str]]:
    """The analysis as written in blind mode: ids as pseudonyms, nothing about protected attributes.

    Returns the blinded analysis and what was left out (for lineage.json and the report).
    """
    from calib.analyses.runner import KIND_ORDER, SEVERITY_ORDER, Analysis

    hidden: list[str] = []
    tables = {}
    drop = set(protected) | set(IDENTIFYING)
    for name, table in analysis.tables.items():
        if name in PROTECTED_TABLES:
            hidden.append(f"tables/{name}.csv")
            continue
        table = table.drop(columns=[c for c in table.columns if c in drop])
        if "dimension" in table.columns:
            table = table[~table["dimension"].astype(str).isin(protected)]
        tables[name] = _reordered(redact.frame(table), table)
    kept = [f for f in analysis.findings if f.kind not in PROTECTED_FINDINGS]
    if len(kept) < len(analysis.findings):
        hidden.append(f"{len(analysis.findings) - len(kept)} finding(s) about protected attributes")
    findings = [
        replace(
            f,
            subject=redact(f.subject),
            explanation=redact(f.explanation),
            method=redact(f.method),
            details={k: redact.value(v) for k, v in f.details.items() if k not in drop},
        )
        for f in kept
    ]
    # rows and findings come sorted by id: re-sorted by pseudonym, so their order cannot reveal the ids
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], KIND_ORDER.index(f.kind), f.subject))
    methods = {k: redact(v) for k, v in analysis.methods.items()}
    return Analysis(analysis.normalized, findings, tables, methods), hidden


def _reordered(blinded: pd.DataFrame, original: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by their pseudonyms (within stage, dimension and cycle), not by the ids they replace."""
    changed = [c for c in blinded.columns if not blinded[c].equals(original[c])]
    if not changed:
        return blinded
    groups = [
        c
        for c in ("stage", "dimension", "cycle", "previous_cycle", "current_cycle", "period")
        if c in blinded.columns and c not in changed
    ]
    return blinded.sort_values([*groups, *changed], kind="stable", na_position="last").reset_index(drop=True)
