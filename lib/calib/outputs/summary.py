"""Plain-text summaries and problem listings for the command line."""

from __future__ import annotations

from collections import Counter

from calib.delivery.benchmarks import BENCHMARK_SOURCES, LEVELS
from calib.errors import render_problems
from calib.frame import Normalized


def summarize(normalized: Normalized) -> str:
    """Rows per input, cycles, teams, DORA levels and warnings of a loaded cycle."""
    data = normalized.data
    config = data.config
    frame = normalized.frame
    current = frame[frame["cycle"] == config.cycle]
    lines = [f"Cycle {config.cycle} ({config.window.start} to {config.window.end}): inputs valid."]
    lines.append("Inputs:")
    for name, source in data.sources.items():
        fmt = "" if source.format == "canonical" else f" [{source.format}]"
        engine = f" ({source.engine})" if source.engine else ""
        lines.append(f"  {name:<16} {source.rows:>9,} rows  {source.shown}{fmt}{engine}")
    cycles = ", ".join(f"{c.id} ({(frame['cycle'] == c.id).sum()} reviews)" for c in config.cycles)
    lines.append(f"Cycles: {cycles}")
    lines.append(
        f"People reviewed in {config.cycle}: {len(current)} in {current['team'].nunique()} teams, "
        f"{current['reviewer_id'].nunique()} reviewers, disciplines: "
        + ", ".join(f"{k} {v}" for k, v in sorted(Counter(current["discipline"]).items()))
    )
    ratings = current["final_rating"].value_counts().reindex(config.rating_labels, fill_value=0)
    lines.append("Ratings (after calibration): " + ", ".join(f"{k} {v}" for k, v in ratings.items()))
    dora = normalized.team_dora
    if len(dora):
        this = dora[dora["period"] == config.cycle]
        counts = this["delivery_level"].value_counts().reindex(LEVELS[::-1], fill_value=0)
        small = int(this["deployment_frequency_small_sample"].sum())
        lines.append(
            f"Team delivery levels ({BENCHMARK_SOURCES[config.dora.benchmark]}): "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + f"; {small} of {len(this)} teams on a small sample"
        )
    else:
        lines.append("Team delivery levels: no delivery data")
    slos = normalized.team_slos
    if len(slos):
        this = slos[slos["period"] == config.cycle]
        met = (this["slo_met_share"] >= 1).sum()
        lines.append(f"SLOs: {len(this)} teams with SLOs, {met} met every SLO window in {config.cycle}")
    warnings = data.warnings
    lines.append(f"Warnings: {len(warnings)}")
    lines.extend("  " + line for line in render_problems(warnings, shown_per_kind=5))
    return "\n".join(lines)
