"""The metric policy: which metrics describe teams, which are per-person context, which are banned.

- **team** metrics (DORA, SLOs) describe a team's delivery and reliability: they anchor reviews as
  context for everyone on the team and are never an individual score.
- **contextual** metrics (per-person telemetry such as PR count or review latency) may be shown
  beside a person's evidence, never used to rank or sort people: low counts are normal for deep,
  reliability and platform work.
- **forbidden** metrics (lines of code, commit counts as a score, chat response speed, ...)
  reward what is easy to count and punish deep work: the workbench refuses to use them at all.
A metric the policy does not name is treated as contextual. The config's `metric_policy` adds to
the default lists below; a metric named in a stricter list wins (forbidden > contextual > team).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from calib.errors import PolicyError

Use = Literal["team_context", "person_context", "rank"]

DEFAULT_TEAM = [
    "deployment_frequency",
    "lead_time",
    "change_failure_rate",
    "time_to_restore",
    "slo_attainment",
    "error_budget",
    "budget_consumed",
    "burn_rate",
]
DEFAULT_CONTEXTUAL = [
    "pr_count",
    "prs_merged",
    "prs_reviewed",
    "review_latency_hours",
    "tickets_closed",
    "oncall_shifts",
    "incidents_handled",
    "docs_written",
]
DEFAULT_FORBIDDEN = [
    "lines_of_code",
    "loc",
    "lines_added",
    "lines_deleted",
    "commit_count",
    "commits",
    "chat_response_time",
    "chat_messages",
    "hours_online",
    "keystrokes",
    "meeting_hours",
]


class MetricPolicy(BaseModel):
    """Lists of metric names; the config's lists extend the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    team: list[str] = Field(default_factory=list)
    contextual: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)

    def kind(self, metric: str) -> Literal["team", "contextual", "forbidden"]:
        """The class of a metric (unknown metrics are contextual)."""
        name = metric.strip().lower()
        if name in {m.lower() for m in [*DEFAULT_FORBIDDEN, *self.forbidden]}:
            return "forbidden"
        if name in {m.lower() for m in [*DEFAULT_CONTEXTUAL, *self.contextual]}:
            return "contextual"
        if name in {m.lower() for m in [*DEFAULT_TEAM, *self.team]}:
            return "team"
        return "contextual"

    def require(self, metric: str, use: Use) -> None:
        """Raise PolicyError unless `metric` may be used for `use`."""
        kind = self.kind(metric)
        if kind == "forbidden":
            raise PolicyError(
                f"{metric} is forbidden by the metric policy: it rewards what is easy to count and punishes "
                "deep work, so the workbench does not use it for anything."
            )
        if use == "rank":
            why = (
                "it describes a team's delivery or reliability, never one person"
                if kind == "team"
                else "per-person telemetry is context beside the evidence, never a ranking"
            )
            raise PolicyError(f"refusing to rank people by {metric}: {why}.")
        if use == "person_context" and kind == "team":
            return  # a person's team context is shown as the team's, labelled so

    def allowed(self, metrics: list[str], use: Use) -> list[str]:
        """The metrics from `metrics` that may be used for `use`, in their order."""
        out = []
        for metric in metrics:
            try:
                self.require(metric, use)
            except PolicyError:
                continue
            out.append(metric)
        return out
