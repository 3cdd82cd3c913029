"""The report's appendix: the methods and their assumptions, and the data lineage."""

from __future__ import annotations

import re

import pandas as pd

from calib.outputs.report.sections.base import Part, ReportContext, bullets, md, missing, num
from calib.privacy import HIDDEN


def methods(ctx: ReportContext) -> list[Part]:
    """Each method and the assumption it rests on, as the analyses wrote them."""
    written = ctx.results.document.get("methods", {})
    by_text: dict[str, list[str]] = {}
    for name, text in written.items():
        if text:
            by_text.setdefault(text, []).append(name.replace("_", " "))
    lines = [f"- **{md(', '.join(names))}**: {md(text)}" for text, names in by_text.items()]
    parts = [Part("Each analysis states its method and the assumption it rests on:\n\n" + "\n".join(lines))]
    reliability = ctx.table("peer_reliability")
    if len(reliability):
        parts.append(
            Part(
                "**Peer-feedback reliability** (how far peer scores agree, which bounds what any analysis built "
                "on them can show):",
                table=pd.DataFrame(
                    {
                        "measure": reliability["label"],
                        "estimate": reliability["estimate"].map(num),
                        "95% interval": [
                            f"{num(lo)} to {num(hi)}" if not missing(lo) else ""
                            for lo, hi in zip(reliability["lower"], reliability["upper"], strict=True)
                        ],
                        "band": reliability.get("band", ""),
                    }
                ),
            )
        )
    return parts


def engine_header(ctx: ReportContext) -> list[Part]:
    """Where the team delivery and SLO figures were computed: the engine `calib report` ran on."""
    engine = ctx.lineage.get("engine")
    if not engine:
        return []
    return [Part(f"Team delivery and SLO figures computed on **{md(engine)}** (the delivery engine).")]


def lineage(ctx: ReportContext) -> list[Part]:
    """Inputs (names, sizes, sha256, rows), validation warnings, package versions, run time."""
    document = ctx.results.document
    inputs = document.get("inputs", {})
    table = pd.DataFrame(
        [
            {
                "input": name,
                "file": spec.get("file"),
                "format": spec.get("format"),
                "rows": spec.get("rows"),
                "bytes": spec.get("bytes"),
                "sha256": spec.get("sha256"),
            }
            for name, spec in inputs.items()
        ]
    )
    config = document.get("config", {})
    info = ctx.lineage
    lines = [
        f"- config: {md(config.get('file'))}, sha256 {_code(config.get('sha256'))}",
        f"- cycle {md(document.get('cycle'))} ({md(document['cycle_window']['start'])} to "
        f"{md(document['cycle_window']['end'])}); {md(document.get('generated_by'))}",
    ]
    if info:
        lines.append(
            f"- org: {md(info.get('org') or 'the whole org')}; blind mode: {'on' if info.get('blind') else 'off'}"
        )
        seconds = info.get("seconds", {})
        if seconds:
            lines.append(
                "- run time: " + ", ".join(f"{md(k.replace('_', ' '))} {float(v):.1f} s" for k, v in seconds.items())
            )
        lines.append(f"- generated at {md(info.get('generated_at'))}")
        if info.get("engine"):
            lines.append(f"- delivery engine (reading, checks, DORA, SLOs): {md(info['engine'])}")
        session = info.get("session")
        if session:
            lines.append(
                f"- after calibration = calibration session {md(session.get('name'))} ({md(session.get('status'))}, "
                f"scope {md(session.get('scope'))}, {session.get('events')} events, head hash "
                f"{_code(session.get('head_hash'))}, {'verified' if session.get('verified') else 'NOT verified'}), "
                f"stored in {md(session.get('store'))}"
            )
        for item in info.get("hidden_in_blind_mode", []):
            lines.append(f"- {md(item)}: {HIDDEN}")
    parts = [Part("Every input, as read for this report:", table=table), Part("\n".join(lines))]
    if info:
        warnings = info.get("warnings", [])
        shown = [f"- {md(ctx.text(line))}" for line in warnings]
        parts.append(
            Part(
                f"**Validation warnings** ({info.get('warning_count', len(warnings))}; suspicious but usable data):\n\n"
                + (bullets(shown, 30, "lines") if shown else "none")
            )
        )
        versions = info.get("versions", {})
        if versions:
            parts.append(
                Part(
                    "**Package versions**",
                    table=pd.DataFrame({"package": list(versions), "version": list(versions.values())}),
                )
            )
    else:
        parts.append(Part("Validation warnings, versions and run time are recorded when `calib report` runs."))
    return parts


def _code(value: object) -> str:
    """A hash or id in a code span (only word characters: nothing to escape)."""
    text = str(value or "")
    return f"`{text}`" if re.fullmatch(r"\w+", text) else md(text)
