"""Findings: what an analysis wants a facilitator to look at, with its uncertainty.

Every analysis returns tables (DataFrames) and a list of `Finding`s; `calib analyze` writes them
to findings.json (schema: findings.schema.json beside this module) and tables/*.csv.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

FindingKind = Literal[
    "rater_leniency",
    "rater_severity",
    "forced_distribution",
    "org_forced_distribution",
    "central_tendency",
    "discipline_gap",
    "adverse_impact",
    "recency_bias",
    "thin_evidence",
    "light_criterion",
    "invisible_work",
    "team_context_mismatch",
    "rating_drift",
    "low_reliability",
]
Severity = Literal["info", "warning", "alert"]


@dataclass(frozen=True)
class Finding:
    """One thing worth the room's attention.

    Attributes
    ----------
    kind
        What sort of finding (see FindingKind).
    subject
        Who or what it is about: a manager, team, group ("gender=woman") or person id.
    estimate, interval
        The effect and its interval (95% unless the explanation says otherwise), on the scale
        the explanation names; None when the finding is a count or a label.
    n
        The number of people (or ratings) behind the estimate.
    threshold
        The practical threshold the estimate was held against, if any.
    severity
        info (context), warning (look at it), alert (survived the multiplicity correction and
        the practical threshold).
    explanation
        One sentence a facilitator can read aloud.
    method
        The method and the assumption it rests on, in a few words.
    """

    kind: FindingKind
    subject: str
    estimate: float | None
    interval: tuple[float, float] | None
    n: int
    threshold: float | None
    severity: Severity
    explanation: str
    method: str = ""
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """A JSON-ready dict: floats rounded to 6 significant digits, NaN as null."""
        out = asdict(self)
        out["estimate"] = _clean(self.estimate)
        out["interval"] = None if self.interval is None else [_clean(v) for v in self.interval]
        out["threshold"] = _clean(self.threshold)
        out["details"] = {k: _clean(v) if isinstance(v, float) else v for k, v in self.details.items()}
        return out


def _clean(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(f"{float(value):.6g}")
