"""Bias audit (adverse impact): selection rates by protected group, with privacy suppression.

For each protected attribute and each outcome (a top rating, a bottom rating, and a promotion
recommendation when the frame has that column) the audit compares groups' selection rates within
one cycle. Every ratio in the table is oriented so that **a value below 1 is adverse for the
group** and the four-fifths guideline (29 CFR 1607.4(D)) reads the same way for every outcome:

- top rating, promotion (being selected is favourable): the reference is the group with the
  highest rate; impact ratio = rate(group) / rate(reference); the risk-ratio interval is for
  that ratio; adjusted_or = exp(beta), the group's odds of selection over the reference's.
- bottom rating (being selected is adverse): the reference is the group with the lowest rate;
  impact ratio = rate(reference) / rate(group); the risk-ratio interval is for that ratio;
  adjusted_or = exp(-beta), the reference's odds of a bottom rating over the group's.

smd is the standardized mean difference of final_value, group minus reference over the pooled
SD, for every outcome (negative: the group was rated lower). Fisher's exact test (two-sided)
compares each group with the reference; Holm's correction runs across every comparison of the
audit. Comparisons where no one (or everyone) in both groups was selected are not tested. The
adjusted odds ratio comes from `outcome ~ C(group) + C(level) + C(discipline)` with
cluster-robust SEs by reviewer_id; levels or disciplines where everyone or no one was selected
carry no information on the group effect and are set aside first; a group where everyone or no
one was selected (separation), a model that does not converge or cannot be fitted leaves the
odds ratio missing with a note. A finding is an *alert* when the four-fifths rule trips and the
Holm-adjusted p < 0.05 (column holm_p); a *warning* when the four-fifths rule trips and the
unadjusted Fisher p < 0.05 (suggestive, not surviving the correction); otherwise *info*: the
four-fifths rule alone trips on small numbers all the time, and a gap that could be chance is
recorded, not flagged on noise. The rule trips when the impact ratio is *less than* four-fifths
(29 CFR 1607.4(D)), decided on the counts in exact arithmetic: 12 of 20 against 15 of 20 is
exactly 4/5 and does not trip (floating point would give 0.7999999999999999). The
risk-ratio interval adds 0.5 to every cell when one is zero (statsmodels' Table2x2 default).

Records lacking the attribute (missing or blank) are counted in a row labelled
"(not recorded)" and never assigned to a group.

Privacy rule, applied to each attribute and outcome separately, with k = min_group_size and a
group's n the number of its people whose outcome is recorded (the cells of one outcome
partition its known total):

1. Primary: a group with fewer than k people is suppressed.
2. Complementary: if exactly one group is suppressed, the smallest other group (ties by label)
   is suppressed too, so the known total minus the shown groups leaves the sum of at least two
   withheld groups. The missing cell never serves as the complement.
3. Missing cell: its count is always reported, except when 0 < count < k and a group is
   suppressed for that outcome: then it is withheld too, being itself a small cell that would
   tell the reader exactly how many of the records left over (total minus shown groups) belong
   to the withheld groups.

A suppressed row shows only its label: n, selected, rate and every statistic are withheld, it is
never a reference group, its people are left out of the regression, and it yields no finding.
The audit is observational: a gap is a question for the room, not proof of discrimination.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy.stats import fisher_exact
from statsmodels.stats.contingency_tables import Table2x2

from calib.analyses.findings import Finding
from calib.analyses.multiple import holm
from calib.analyses.outcomes import ADVERSE_WHEN_SELECTED, OUTCOME_PHRASES
from calib.analyses.wording import chance, how_often, p_value
from calib.privacy import suppression

FOUR_FIFTHS = 0.8  # shown as the findings' threshold; the rule itself is decided by below_four_fifths
MISSING_GROUP = "(not recorded)"
COLUMNS = (
    "attribute outcome group n selected rate reference_group impact_ratio four_fifths_flag fisher_p holm_p "
    "rr_lower rr_upper adjusted_or or_lower or_upper smd suppressed note"
).split()
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


@dataclass(frozen=True)
class BiasAudit:
    """The audit table (one row per attribute, outcome and group) and its findings."""

    table: pd.DataFrame
    findings: list[Finding]
    cycle: str
    method: str


def bias_audit(
    frame: pd.DataFrame,
    *,
    attributes: list[str],
    top: list[str],
    bottom: list[str],
    min_group_size: int,
    cycle: str | None = None,
    adjust: bool = True,
    alpha: float = 0.05,
) -> BiasAudit:
    """Audit selection rates by protected group for adverse impact (see the module docstring).

    Parameters
    ----------
    frame
        The calibration frame: cycle, reviewer_id, final_rating, final_value, level,
        discipline, optionally promotion_recommended, and the attribute columns.
    attributes
        Protected attribute columns to audit, in the order the table should show them.
    top, bottom
        Rating labels that count as a top rating and as a bottom rating.
    min_group_size
        Groups smaller than this are suppressed (with complementary suppression).
    cycle
        The cycle to audit; None audits the latest cycle present in the frame.
    adjust
        Fit the adjusted odds ratio (logistic regression); the alert rule never depends on it.
    alpha
        Family-wise error rate for Holm's correction across the audit's comparisons.

    Returns
    -------
    BiasAudit
        The tidy table (columns COLUMNS; one row per attribute, outcome and group in label order,
        then the "(not recorded)" cell) and the findings, alerts first, then in table order.

    Raises
    ------
    ValueError
        An attribute column is missing, a top/bottom label is not on the scale or is both, or
        the cycle has no reviews.
    """
    absent = [a for a in attributes if a not in frame.columns]
    if absent:
        raise ValueError(f"bias audit: attribute column(s) not in the frame: {', '.join(absent)}")
    cycle_id, rows = _cycle_rows(frame, cycle)
    outcomes = _outcomes(rows, top, bottom)
    values = rows["final_value"].to_numpy(dtype=float, na_value=np.nan)
    parts: list[dict] = []
    for attribute in attributes:
        groups = _group_labels(rows[attribute])
        labels = sorted({g for g in groups if g is not None})
        for outcome, y in outcomes.items():
            compared = _compare(groups, labels, y, values, min_group_size, adverse=outcome in ADVERSE_WHEN_SELECTED)
            if adjust:
                _add_odds_ratios(compared, rows, groups, y, adverse=outcome in ADVERSE_WHEN_SELECTED)
            parts += [{"attribute": attribute, "outcome": outcome, **row} for row in compared]
    tested = [part for part in parts if "fisher_p" in part]
    for part, adjusted in zip(tested, holm(np.array([part["fisher_p"] for part in tested])), strict=True):
        part["holm_p"] = float(adjusted)
    method = _method(cycle_id, len(tested), alpha)
    shown = {(r["attribute"], r["outcome"], r["group"]): r for r in parts if not r.get("suppressed")}
    findings = [
        _finding(r, shown[r["attribute"], r["outcome"], r["reference_group"]], method, alpha, cycle_id)
        for r in tested
        if r["four_fifths_flag"]
    ]
    findings.sort(key=lambda f: f.severity != "alert")  # stable: table order within severity
    return BiasAudit(_table(parts), findings, cycle_id, method)


def below_four_fifths(selected: int, n: int, ref_selected: int, ref_n: int) -> bool:
    """Whether selected / n is less than four-fifths of ref_selected / ref_n, in exact arithmetic.

    29 CFR 1607.4(D): "less than four-fifths (4/5) (or eighty percent)". A rate of zero in the
    reference leaves the ratio undefined: not flagged.
    """
    if not (n and ref_n and ref_selected):
        return False
    return Fraction(selected, n) / Fraction(ref_selected, ref_n) < Fraction(4, 5)


def standardized_mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """(mean(a) - mean(b)) / pooled SD (ddof 1); NaN when undefined."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    return float((a.mean() - b.mean()) / np.sqrt(pooled)) if pooled > 0 else float("nan")


def _cycle_rows(frame: pd.DataFrame, cycle: str | None) -> tuple[str, pd.DataFrame]:
    if cycle is None:
        cycles = frame["cycle"].dropna()
        if cycles.empty:
            raise ValueError("bias audit: the frame has no cycle")
        cycle = str(cycles.max() if isinstance(cycles.dtype, pd.CategoricalDtype) else max(cycles.astype(str)))
    rows = frame[frame["cycle"].astype(str) == cycle]
    if rows.empty:
        raise ValueError(f"bias audit: no reviews in cycle {cycle!r}")
    return cycle, rows.reset_index(drop=True)


def _outcomes(rows: pd.DataFrame, top: list[str], bottom: list[str]) -> dict[str, np.ndarray]:
    """Outcome name -> 1.0 selected, 0.0 not, NaN not recorded (one entry per row)."""
    rating = rows["final_rating"]
    if isinstance(rating.dtype, pd.CategoricalDtype):
        unknown = [label for label in [*top, *bottom] if label not in rating.cat.categories]
        if unknown:
            raise ValueError(f"bias audit: not labels of the rating scale: {', '.join(unknown)}")
    if set(top) & set(bottom):
        raise ValueError("bias audit: a label cannot count as both a top and a bottom rating")
    known = rating.notna().to_numpy()
    out = {
        "top_rating": np.where(known, rating.isin(top).to_numpy(dtype=float), np.nan),
        "bottom_rating": np.where(known, rating.isin(bottom).to_numpy(dtype=float), np.nan),
    }
    if "promotion_recommended" in rows.columns:
        promoted = np.array([_as_bool(v) for v in rows["promotion_recommended"]], dtype=float)
        if not np.isnan(promoted).all():  # a column nobody filled in is no outcome
            out["promotion_recommended"] = promoted
    return out


def _as_bool(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return float(value)
    key = str(value).strip().casefold() if pd.notna(value) else ""
    return 1.0 if key in _TRUE else 0.0 if key in _FALSE else np.nan


def _group_labels(values: pd.Series) -> np.ndarray:
    """Attribute values as stripped strings; missing or blank -> None (never guessed)."""
    text = [str(v).strip() if pd.notna(v) else "" for v in values]
    return np.array([t or None for t in text], dtype=object)


def _compare(
    groups: np.ndarray,
    labels: list[str],
    y: np.ndarray,
    values: np.ndarray,
    k: int,
    *,
    adverse: bool,
) -> list[dict]:
    """Table rows for one attribute and outcome: groups in label order, then the missing cell."""
    has_y = ~np.isnan(y)
    masks = {g: has_y & (groups == g) for g in labels}
    counts = {g: (int(m.sum()), int(y[m].sum())) for g, m in masks.items()}
    hidden = suppression({g: n for g, (n, _) in counts.items()}, k)
    shown = [g for g in labels if g not in hidden and counts[g][0] > 0]
    reference = _reference({g: counts[g] for g in shown}, adverse) if len(shown) >= 2 else None
    out: list[dict] = []
    for g in labels:
        if g in hidden:
            why = f"fewer than {k} people" if hidden[g] == "primary" else "complementary suppression"
            out.append({"group": g, "suppressed": True, "note": f"suppressed: {why}"})
            continue
        n, sel = counts[g]
        row = {"group": g, "n": n, "selected": sel, "rate": sel / n if n else np.nan, "reference_group": reference}
        if reference is None:
            row["note"] = "fewer than two groups large enough to compare"
        elif g == reference:
            which = "lowest" if adverse else "highest"
            row.update(impact_ratio=1.0, four_fifths_flag=False, note=f"reference group ({which} rate)")
        else:
            ref_n, ref_sel = counts[reference]
            row.update(_two_groups((sel, n), (ref_sel, ref_n), adverse))
            row["smd"] = standardized_mean_difference(values[masks[g]], values[masks[reference]])
        out.append(row)
    missing = int((has_y & np.array([g is None for g in groups], dtype=bool)).sum())
    withheld = 0 < missing < k and bool(hidden)
    note = (
        "suppressed: a small count that would narrow the suppressed groups"
        if withheld
        else "records lacking the attribute: counted, not assigned to a group"
    )
    out.append({"group": MISSING_GROUP, "n": None if withheld else missing, "suppressed": withheld, "note": note})
    return out


def _reference(counts: dict[str, tuple[int, int]], adverse: bool) -> str:
    """Highest-rate group (lowest for an adverse outcome); ties: larger n, then label. counts: (n, selected)."""

    def key(g: str) -> tuple[float, int, str]:
        n, sel = counts[g]
        return (sel / n if adverse else -sel / n, -n, g)

    return min(counts, key=key)


def _two_groups(group: tuple[int, int], ref: tuple[int, int], adverse: bool) -> dict:
    """Impact ratio, Fisher p and risk-ratio interval of a group against the reference."""
    (a, n1), (c, n2) = group, ref
    if (a + c == 0) or (a + c == n1 + n2):
        return {"note": "everyone or no one selected in both groups: nothing to compare"}
    # Rows ordered so that the risk ratio is the impact ratio: below 1 is adverse for the group.
    first, second = ((c, n2), (a, n1)) if adverse else ((a, n1), (c, n2))
    ratio = (first[0] / first[1]) / (second[0] / second[1]) if second[0] else float("nan")
    cells = [[first[0], first[1] - first[0]], [second[0], second[1] - second[0]]]
    lower, upper = Table2x2(np.array(cells, dtype=float)).riskratio_confint()
    note = "interval with 0.5 added to every cell (a zero cell)" if 0 in np.ravel(cells) else ""
    return {
        "impact_ratio": ratio,
        "four_fifths_flag": below_four_fifths(first[0], first[1], second[0], second[1]),
        "fisher_p": float(fisher_exact(cells).pvalue),
        "rr_lower": float(lower),
        "rr_upper": float(upper),
        "note": note,
    }


def _add_odds_ratios(
    compared: list[dict], rows: pd.DataFrame, groups: np.ndarray, y: np.ndarray, *, adverse: bool
) -> None:
    """Fill adjusted_or, or_lower, or_upper (or a note why not) into the tested rows of `compared`.

    Logit of the outcome on group, level and discipline with SEs clustered by reviewer_id.
    """
    tested = {row["group"]: row for row in compared if "fisher_p" in row}
    if not tested:
        return
    reference = next(iter(tested.values()))["reference_group"]

    def fill(group: str, note: str, estimate: tuple[float, float, float] = (np.nan,) * 3) -> None:
        row = tested[group]
        row.update(adjusted_or=estimate[0], or_lower=estimate[1], or_upper=estimate[2])
        row["note"] = "; ".join(text for text in (row.get("note", ""), note) if text)

    data = pd.DataFrame({"y": y, "group": groups})
    for column in ("level", "discipline", "reviewer_id"):
        data[column] = rows[column].astype("object").to_numpy() if column in rows.columns else "all"
    data = data[data["group"].isin([reference, *tested])].dropna()
    separated: set[str] = set()
    set_aside = 0
    while True:  # strata where everyone or no one was selected say nothing about the group effect
        before = len(data)
        for column in ("level", "discipline", "group"):
            spread = data.groupby(column)["y"].agg(["min", "max"])
            constant = spread.index[spread["min"] == spread["max"]]
            if column == "group":
                separated |= set(constant)
            else:
                set_aside += int(data[column].isin(constant).sum())
            data = data[~data[column].isin(constant)]
        if len(data) == before:
            break
    if reference in separated or data.empty:
        for group in tested:
            fill(group, "adjusted OR not estimable: the reference group or every stratum is perfectly separated")
        return
    for group in separated:
        fill(group, "adjusted OR not estimable: everyone or no one in the group was selected (separation)")
    codes = {g: f"g{i:03d}" for i, g in enumerate([reference, *(g for g in tested if g not in separated)])}
    data = data.assign(code=data["group"].map(codes))
    terms = ["C(code)"] + [f"C({c})" for c in ("level", "discipline") if data[c].nunique() > 1]
    clusters = data["reviewer_id"].nunique()
    failure = "fewer than two managers to cluster by" if clusters < 2 else ""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = smf.logit(f"y ~ {' + '.join(terms)}", data).fit(
                cov_type="cluster", cov_kwds={"groups": pd.factorize(data["reviewer_id"])[0]}, disp=0
            )
        separation = any("Separation" in w.category.__name__ for w in caught)
        converged = fit.mle_retvals.get("converged", False) and not separation
        failure = failure or ("" if converged else "the model did not converge")
    except Exception as error:  # any fitting failure leaves the OR missing; the crude figures stand
        failure = failure or f"the model could not be fitted ({type(error).__name__})"
    notes = [f"only {clusters} managers: OR interval unreliable"] if clusters < 10 else []
    notes += [f"{set_aside} people in levels or disciplines with no variation set aside"] if set_aside else []
    sign = -1.0 if adverse else 1.0  # oriented like the impact ratio: below 1 is adverse
    for group, code in codes.items():
        name = f"C(code)[T.{code}]"
        if group == reference:
            continue
        if failure or name not in fit.params.index or not np.isfinite(fit.bse[name]):
            fill(group, f"adjusted OR not estimable: {failure or 'the model is singular'}")
            continue
        low, high = sorted(np.exp(sign * fit.conf_int().loc[name]))
        fill(group, "; ".join(notes), (float(np.exp(sign * fit.params[name])), float(low), float(high)))


def _table(parts: list[dict]) -> pd.DataFrame:
    """The tidy table, typed: counts Int64, the flag boolean, statistics float64; NA where withheld."""
    columns: dict[str, object] = {}
    for name in COLUMNS:
        values = [part.get(name) for part in parts]
        if name in ("n", "selected"):
            columns[name] = pd.array(values, dtype="Int64")
        elif name == "four_fifths_flag":
            columns[name] = pd.array(values, dtype="boolean")
        elif name == "suppressed":
            columns[name] = np.array([bool(v) for v in values])
        elif name == "note":
            columns[name] = [v or "" for v in values]
        elif name in ("attribute", "outcome", "group", "reference_group"):
            columns[name] = values
        else:
            columns[name] = np.array(values, dtype=float)  # None -> NaN
    return pd.DataFrame(columns, columns=COLUMNS)


def _finding(row: dict, reference: dict, method: str, alpha: float, cycle: str) -> Finding:
    """One adverse-impact finding from a flagged comparison (a row of the table, as a dict)."""
    adverse = row["outcome"] in ADVERSE_WHEN_SELECTED
    alert = row["holm_p"] < alpha
    rate, ref_rate = f"{row['rate']:.0%}", f"{reference['rate']:.0%}"
    ratio = f"{row['impact_ratio']:.2f}" + (f" = {ref_rate} / {rate}" if adverse else "")
    does, never = OUTCOME_PHRASES[row["outcome"]]
    often = how_often(row["rate"], reference["rate"])
    versus = f"{rate} vs {ref_rate}"
    plain = (
        f"{never} ({versus} for '{row['reference_group']}')"
        if often == "never"
        else f"{does} {often} as '{row['reference_group']}' ({versus})"
    )
    explanation = (
        f"People recorded as {row['attribute']} '{row['group']}' {plain}; {chance(alert)}. Impact ratio {ratio} "
        f"(n = {row['n']} and {reference['n']}), below the four-fifths guideline "
        f"(Holm-adjusted {p_value(row['holm_p'])})."
    )
    names = ("attribute", "outcome", "group", "reference_group", "rate", "selected", "fisher_p", "holm_p", "smd")
    details = {name: row.get(name, np.nan) for name in (*names, "adjusted_or", "or_lower", "or_upper")}
    details.update(cycle=cycle, reference_n=reference["n"], reference_rate=reference["rate"])
    return Finding(
        kind="adverse_impact",
        subject=f"{row['attribute']}={row['group']}",
        estimate=float(row["impact_ratio"]),
        interval=(row["rr_lower"], row["rr_upper"]),
        n=row["n"],
        threshold=FOUR_FIFTHS,
        severity="alert" if alert else "warning" if row["fisher_p"] < alpha else "info",
        explanation=explanation,
        method=method,
        details=details,
    )


def _method(cycle: str, comparisons: int, alpha: float) -> str:
    return (
        f"Selection rates compared within cycle {cycle}; impact ratio against the most favoured group "
        f"(four-fifths rule, 29 CFR 1607.4(D)); Fisher's exact test, Holm-corrected across {comparisons} "
        f"comparison(s) at {alpha:g}; risk-ratio 95% interval; adjusted OR controls level and discipline, "
        "SEs clustered by manager. Observational: not proof of discrimination."
    )
