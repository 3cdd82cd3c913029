"""The discipline seam: are engineering, product, design and data held to one standard?

Each discipline's mean final rating is compared with the reference discipline's at the same
level (OLS of final_value on discipline and level; Holm across disciplines; a practical threshold
of 0.3 points). Assumption: people at the same level are comparable across disciplines, which the
leveling framework asserts; a difference is a prompt to compare evidence, not a verdict.
For the facilitator, pairs of people with the same rating and (nearest) level across the seam are
laid side by side with their evidence counts, so the room checks one standard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from calib.analyses.findings import Finding
from calib.analyses.multiple import holm
from calib.analyses.raters import covariate_matrix, ols
from calib.analyses.wording import chance, p_value, steps

GAP_THRESHOLD = 0.3  # rating points
PAIRS_PER_CELL = 2  # pairs per (discipline, rating)
EVIDENCE_COLUMNS = ["evidence_delivery_n", "evidence_reliability_n", "evidence_influence_n"]


@dataclass(frozen=True)
class Seam:
    """Discipline differences at equal level, the side-by-side pairs, and the findings."""

    effects: pd.DataFrame
    pairs: pd.DataFrame
    findings: list[Finding]
    method: str


def discipline_effects(rows: pd.DataFrame, reference: str, alpha: float = 0.05) -> pd.DataFrame:
    """Each discipline's difference from `reference` at equal level, with a 95% interval."""
    data = pd.DataFrame(
        {
            "y": rows["final_value"].astype(float),
            "discipline": rows["discipline"].astype(str),
            "level": rows["level"].astype(str),
        }
    ).dropna()
    others = sorted(set(data["discipline"]) - {reference})
    if reference not in set(data["discipline"]) or not others:
        return pd.DataFrame(
            columns=["discipline", "n", "reference", "difference", "lower", "upper", "p_value", "p_holm"]
        )
    dummies = pd.DataFrame({d: (data["discipline"] == d).astype(float) for d in others}, index=data.index)
    level = covariate_matrix(data, ["C(level)"] if data["level"].nunique() > 1 else [])
    exog = pd.concat([pd.Series(1.0, index=data.index, name="const"), dummies, level], axis=1).to_numpy()
    params, cov, df = ols(data["y"].to_numpy(), exog)
    se = np.sqrt(np.diag(cov))[1 : 1 + len(others)]
    diff = params[1 : 1 + len(others)]
    quantile = stats.t.ppf(0.975, df)
    p = 2 * stats.t.sf(np.abs(diff / se), df)
    return pd.DataFrame(
        {
            "discipline": others,
            "n": [int((data["discipline"] == d).sum()) for d in others],
            "reference": reference,
            "reference_n": int((data["discipline"] == reference).sum()),
            "difference": diff,
            "lower": diff - quantile * se,
            "upper": diff + quantile * se,
            "p_value": p,
            "p_holm": holm(p),
        }
    )


def seam_pairs(rows: pd.DataFrame, reference: str, per_cell: int = PAIRS_PER_CELL) -> pd.DataFrame:
    """People of the same final rating across the seam, matched on the nearest level.

    Deterministic: within a rating, people are taken in employee_id order. Each person appears in at
    most one pair: a reference person matched for one discipline is not matched again for another
    (a room comparing the same person three times learns nothing new).
    """
    keep = [
        "employee_id",
        "discipline",
        "level_rank",
        "level",
        "final_rating",
        *[c for c in EVIDENCE_COLUMNS if c in rows],
    ]
    people = rows[keep].sort_values("employee_id")
    pairs = []
    for rating, group in people.groupby("final_rating", observed=True, sort=True):
        base = group[group["discipline"] == reference]
        used: set[str] = set()
        for discipline in sorted(set(group["discipline"]) - {reference}):
            for person in group[group["discipline"] == discipline].head(per_cell).itertuples():
                candidates = base[~base["employee_id"].isin(used)]
                if candidates.empty:
                    break
                gap = (candidates["level_rank"] - person.level_rank).abs()
                match = candidates.loc[gap.sort_values(kind="stable").index[0]]
                used.add(match["employee_id"])
                pairs.append(
                    {
                        "rating": rating,
                        "discipline": discipline,
                        "employee_id": person.employee_id,
                        "level": person.level,
                        **{f"{c}": getattr(person, c) for c in EVIDENCE_COLUMNS if c in rows},
                        "reference_discipline": reference,
                        "reference_employee_id": match["employee_id"],
                        "reference_level": match["level"],
                        **{f"reference_{c}": match[c] for c in EVIDENCE_COLUMNS if c in rows},
                    }
                )
    return pd.DataFrame(pairs)


def discipline_seam(
    frame: pd.DataFrame, *, cycle: str, reference: str = "engineering", min_group_size: int = 5, alpha: float = 0.05
) -> Seam:
    """Discipline effects at equal level, seam pairs and `discipline_gap` findings for one cycle."""
    rows = frame[frame["cycle"] == cycle]
    effects = discipline_effects(rows, reference)
    effects["small"] = effects["n"] < min_group_size
    effects["flagged"] = (
        ~effects["small"] & (effects["p_holm"] < alpha) & (effects["difference"].abs() >= GAP_THRESHOLD)
    )
    method = (
        f"OLS of the final rating on discipline and level, each discipline against {reference}; Holm across "
        f"disciplines at {alpha:g} and |difference| >= {GAP_THRESHOLD:g} points; assumes the same level means "
        "the same expectations in every discipline."
    )
    findings = [
        Finding(
            kind="discipline_gap",
            subject=f"discipline={row.discipline}",
            estimate=float(row.difference),
            interval=(float(row.lower), float(row.upper)),
            n=int(row.n),
            threshold=GAP_THRESHOLD,
            severity="warning",
            explanation=(
                f"At the same level, {row.discipline} is rated {steps(row.difference)} "
                f"{'higher' if row.difference > 0 else 'lower'} than {reference}; {chance(True)}. "
                f"{row.discipline.capitalize()} ({row.n} people) was rated {abs(row.difference):.1f} points "
                f"{'higher' if row.difference > 0 else 'lower'} than {reference} ({row.reference_n}) "
                f"(95% interval {row.lower:+.1f} to {row.upper:+.1f}; Holm-adjusted {p_value(row.p_holm)}): "
                "compare the paired examples to check one standard."
            ),
            method=method,
        )
        for row in effects[effects["flagged"]].itertuples()
    ]
    return Seam(effects, seam_pairs(rows, reference), findings, method)
