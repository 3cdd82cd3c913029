"""The Team context tab: each team's ratings against its delivery (DORA) and SLO results.

Team results describe a team, never one person: a question for the room when a strong team is
rated low or a struggling team high. Only the metrics the metric policy allows are shown, and the
delivery levels of the teams in view beside them. Each metric is shown as people say it ("36 days",
"3.2 h", "less than weekly") with its own DORA level beside it, since the overall level combines
four metrics: a team that deploys less than weekly can still be "high" overall.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from calib.apps.dashboard.filters import Filters, isin
from calib.apps.dashboard.html import Safe, deploys, duration, esc, html_table, integer, pct
from calib.apps.dashboard.layout import WIDE, View, bolder, limit_rows, paginate, stack
from calib.apps.dashboard.sources import Sources
from calib.apps.dashboard.summaries import allowed_team_metrics
from calib.outputs import charts


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
        mine, note = limit_rows(mine, key="team", flag="mismatch", size="difference")
        if note:
            body += f'<p class="calib-note">{esc(note)}</p>'
        if not mine.empty and not mine["small"].fillna(False).astype(bool).all():
            drawn = mine[["team", "delivery_level", "difference", "lower", "upper", "mismatch", "small"]]
            parts.append(
                paginate(
                    bolder(
                        charts.team_context_chart(
                            drawn,
                            names=team_labels(mine, sources.config.metric_policy),
                            title="Do team ratings match team results? Orange: worth a question",
                        )
                    ).properties(width=WIDE - 250, height=alt.Step(28)),
                    name="teams",
                )
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
        slo = f", SLOs met {pct(r['slo_met_share'])}" if slos and pd.notna(r.get("slo_met_share")) else ""
        out[str(r["team"])] = f"{r['team']} ({level}{slo})"
    return out


def _team_table(context: pd.DataFrame, sources: Sources) -> Safe:
    if context.empty:
        return Safe('<p class="calib-note">No team context for this cycle.</p>')
    allowed = allowed_team_metrics(sources.config.metric_policy)
    columns = [c for c in METRIC_HEADERS if c in allowed and c in context.columns]
    headers = ["team", "people", "overall delivery", *(METRIC_HEADERS[c] for c in columns), "mean rating", "vs rest"]
    rows = []
    for r in context.sort_values(["team"]).to_dict("records"):
        flag = "▲ mismatch" if r.get("mismatch") is True else ("small team" if r.get("small") is True else "")
        team = Safe(esc(r["team"]) + (f'<br><span class="calib-nowrap">{esc(flag)}</span>' if flag else ""))
        rows.append(
            [
                team,
                integer(r["n"]),
                r.get("delivery_level") if isinstance(r.get("delivery_level"), str) else "–",
                *(metric_cell(c, r) for c in columns),
                r.get("mean_rating"),
                f"{r['difference']:+.2f}" if pd.notna(r.get("difference")) else "–",
            ]
        )
    note = (
        '<p class="calib-note">Overall delivery is DORA\'s level across its four metrics; each metric\'s own '
        "level is beside its value, so a team that deploys less than weekly can still be high overall.</p>"
    )
    return Safe(note + html_table(headers, rows))


METRIC_HEADERS = {
    "deploy_days_per_week": "deploys",
    "lead_time_hours": "lead time",
    "change_failure_rate": "change failure",
    "time_to_restore_hours": "time to restore",
    "slo_met_share": "SLOs met",
}
METRIC_LEVELS = {
    "deploy_days_per_week": "deployment_frequency_level",
    "lead_time_hours": "lead_time_level",
    "change_failure_rate": "change_failure_rate_level",
    "time_to_restore_hours": "time_to_restore_level",
}


def metric_cell(column: str, row: dict) -> Safe:
    """One team metric as people say it, with that metric's own DORA level beside it."""
    value = row.get(column)
    if column in ("change_failure_rate", "slo_met_share"):
        text = pct(value) if pd.notna(value) else "–"
    elif column == "deploy_days_per_week":
        text = deploys(value)
    else:
        text = duration(value)
    level = row.get(METRIC_LEVELS.get(column, ""))
    shown = f'<span class="calib-nowrap">{esc(text)}</span>'
    if text != "–" and isinstance(level, str):
        shown += f' <span class="calib-nowrap">({esc(level)})</span>'
    return Safe(shown)
