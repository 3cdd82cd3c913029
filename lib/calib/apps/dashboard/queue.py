"""The meeting's queue: the people to calibrate, in the order the room should discuss them, each saying why (pure).

The queue lists people, never managers as such: a finding about a manager (lenient, severe,
fitting a quota) puts *that manager's people* in the queue, grouped under it, and so does a
finding about a team (ratings out of step with the team's delivery). The groups, first to last:
1. people flagged for discussion in the session;
2. people named by an alert, then a warning, of the analyses (thin evidence, recency, ...);
3. the people of each manager, then each team, an alert or warning names (alerts first);
4. the people of the engineering/product seam pairs (same rating, very different evidence);
5. top and bottom ratings; 6. big movers against last cycle (two or more steps);
7. everyone else; and last, whoever was already discussed (✓), each keeping their reason.
A person is listed once, under the first group that names them; within a group the order is the
display label (names, or pseudonyms in blind mode), never a metric. Each entry's `why` says in a
few words which alert or warning put the person there. Only alerts and warnings count: an info
finding is context (it may be chance), shown on the person's card.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.sources import Sources

MANAGER_KINDS = ("rater_leniency", "rater_severity", "forced_distribution", "central_tendency")
TEAM_KINDS = ("team_context_mismatch",)
BIG_MOVE = 2  # rating steps against last cycle that make a "big mover"
WHY = {  # finding kind -> a few words a facilitator reads aloud
    "rater_leniency": "rates higher than comparable managers",
    "rater_severity": "rates lower than comparable managers",
    "forced_distribution": "ratings fit a quota",
    "central_tendency": "rates nearly everyone in the middle",
    "recency_bias": "evidence mostly from the cycle's last weeks",
    "thin_evidence": "thin evidence",
    "light_criterion": "a criterion with few examples",
    "invisible_work": "work that may not show in the evidence",
    "team_context_mismatch": "ratings out of step with the team's delivery",
    "rating_drift": "rating far from last cycle's",
    "discipline_gap": "a gap between disciplines",
    "low_reliability": "reviewers disagree",
}
FOR_THEIR_PEOPLE = {  # a manager's finding as each of their people's entry says it
    "rater_leniency": "their manager rates higher than comparable managers",
    "rater_severity": "their manager rates lower than comparable managers",
    "forced_distribution": "their manager's ratings fit a quota",
    "central_tendency": "their manager rates nearly everyone in the middle",
}
SEVERITY_ORDER = {"alert": 0, "warning": 1}
FLAGGED, NAMED, DISCUSSED, EVERYONE = (
    "Flagged for discussion",
    "Named by the analyses",
    "Discussed ✓",
    "Everyone else",
)
COLUMNS = ["employee_id", "label", "why", "group", "priority", "discussed", "flagged"]


def queue(sources: Sources, filters: Filters, table: pd.DataFrame) -> pd.DataFrame:
    """People in view and in the session, in the order the room should discuss them (module docstring).

    What the analyses say is worked out once per filter (memoized); each call adds only what the
    session changes: the few flagged and discussed ids from the session's table, and the current
    ratings from the frame (`calibrate.apply_session` wrote them), so it costs no join at 10k people.

    Returns
    -------
    pandas.DataFrame
        COLUMNS: employee_id, label (name or pseudonym), why (a few words), group (its heading),
        priority (the group's rank; discussed people keep theirs), discussed, flagged.
    """
    rows = sources.rows(filters)
    base: dict = sources.memo(("queue", filters), lambda: _named(sources, filters, rows))  # type: ignore[assignment]
    ids = table["employee_id"].astype(str)
    key = ("in session", filters, len(ids), int(pd.util.hash_pandas_object(ids, index=False).sum()))
    in_session: np.ndarray = sources.memo(key, lambda: base["ids"].isin(set(ids)).to_numpy())  # type: ignore[assignment]
    if not in_session.any():
        return pd.DataFrame(columns=COLUMNS)
    priority, group, why, rank, tier = (base[k].copy() for k in ("priority", "group", "why", "rank", "tier"))
    position = base["position"]

    def at(column: str) -> np.ndarray:
        """Rows (in view) of the few people whose `column` is set in the session's table."""
        chosen = table.loc[table[column].astype(bool), "employee_id"].astype(str)
        return np.array([position[i] for i in chosen if i in position], dtype=np.int64)

    def mark(where: np.ndarray, level: int, heading: str, reason: object) -> None:
        where = where[priority[where] > level]
        group[where], why[where] = heading, reason[where] if isinstance(reason, np.ndarray) else reason
        priority[where], rank[where], tier[where] = level, 0.0, 0  # one heading: ordered by label alone

    flagged, discussed = np.zeros(len(priority), dtype=bool), np.zeros(len(priority), dtype=bool)
    flagged[at("flagged")], discussed[at("discussed")] = True, True
    mark(np.flatnonzero(flagged), 0, FLAGGED, "flagged in the session")
    scale = np.array(["", *sources.config.rating_labels], dtype=object)  # code -1 (no rating) -> ""
    codes = rows["final_rating"].cat.codes.to_numpy()
    rated = "rated " + scale[codes + 1]
    mark(np.flatnonzero((codes == 0) | (codes == len(scale) - 2)), 5, "Top and bottom ratings", rated)
    before = base["previous"]
    moved = np.flatnonzero((before >= 0) & (codes >= 0) & (np.abs(codes - before) >= BIG_MOVE))
    mark(moved, 6, "Big movers against last cycle", scale[before + 1] + " → " + scale[codes + 1])
    keep = np.flatnonzero(in_session)
    order = keep[np.lexsort((base["by_label"][keep], tier[keep], rank[keep], priority[keep], discussed[keep]))]
    return pd.DataFrame(
        {
            "employee_id": base["ids"].to_numpy(dtype=object)[order],
            "label": base["labels"][order],
            "why": why[order],
            "group": np.where(discussed[order], DISCUSSED, group[order]),
            "priority": priority[order],
            "discussed": discussed[order],
            "flagged": flagged[order],
        }
    )


def _named(sources: Sources, filters: Filters, rows: pd.DataFrame) -> dict[str, object]:
    """What the analyses say about the people in view: priority, group, why and rank per row (levels 1-4)."""
    ids = _objects(rows["employee_id"])  # hashed lookups: Arrow strings would be boxed one by one in isin
    names = sources.labels(filters.blind)
    labels = ids.map(lambda i: names.get(i, i))
    n = len(rows)
    priority, rank = np.full(n, 9), np.zeros(n)
    group, why = np.full(n, EVERYONE, dtype=object), np.full(n, "", dtype=object)

    def mark(mask: np.ndarray, level: int, heading: object, reason: object, order: object = 0.0) -> None:
        chosen = np.asarray(mask, dtype=bool) & (priority > level)
        for target, value in ((group, heading), (why, reason), (rank, order)):
            target[chosen] = value[chosen] if isinstance(value, np.ndarray) else value
        priority[chosen] = level

    findings = sources.results.findings
    if not findings.empty:
        shown = findings[findings["severity"].isin(list(SEVERITY_ORDER))]
        shown = shown.assign(_order=shown["severity"].map(SEVERITY_ORDER))
        shown = shown.sort_values(["_order", "kind"], kind="stable")
        shown = shown.assign(_why=[_reason(f.kind, f.severity) for f in shown.itertuples()])
        people = shown[~shown["kind"].isin([*MANAGER_KINDS, *TEAM_KINDS])].drop_duplicates("subject")
        for severity in (0, 1):  # one hashed lookup per severity, whatever the number of findings
            named = people[people["_order"] == severity].set_index("subject")["_why"]
            hit = ids.map(named)
            mark(hit.notna().to_numpy(), 1 + severity, NAMED, hit.fillna("").to_numpy())
        for kinds, column, manager in ((MANAGER_KINDS, "reviewer_id", True), (TEAM_KINDS, "team", False)):
            about = shown[shown["kind"].isin(kinds)].drop_duplicates("subject")
            if about.empty or column not in rows.columns:
                continue
            subjects = about["subject"].astype(str)
            who = subjects.map(lambda x: names.get(x, x)) if manager else "Team " + subjects
            about = about.assign(
                _heading=("Rated by " if manager else "") + who + ": " + about["_why"],
                _words=[_reason(f.kind, f.severity, manager=manager) for f in about.itertuples()],
                _rank=about["_order"] + (0.0 if manager else 0.5),
            ).set_index(subjects)
            key = _objects(rows[column])
            mark(
                key.isin(set(about.index)).to_numpy(),
                3,
                key.map(about["_heading"]).to_numpy(dtype=object),
                key.map(about["_words"]).to_numpy(dtype=object),
                key.map(about["_rank"]).fillna(0.0).to_numpy(),
            )
    pairs = sources.results.table("seam_pairs")
    if pairs is not None and len(pairs):
        partner = dict(zip(pairs["employee_id"].astype(str), pairs["reference_employee_id"].astype(str), strict=True))
        partner |= {b: a for a, b in partner.items() if b not in partner}
        reasons = ids.map(lambda i: f"seam pair with {names.get(partner[i], partner[i])}" if i in partner else "")
        heading = "Seam pairs: same rating, very different evidence"
        mark(ids.isin(set(partner)).to_numpy(), 4, heading, reasons.to_numpy())
    by_label = np.lexsort((ids.to_numpy(dtype=object), labels.str.casefold().to_numpy(dtype=object))).argsort()
    headings = pd.Series(group)
    tier = np.where(priority == 3, headings.rank(method="dense").to_numpy(), 0).astype(np.int64)
    return {
        "ids": ids,
        "position": {i: n for n, i in enumerate(ids)},
        "labels": labels.to_numpy(dtype=object),
        "by_label": by_label,  # each row's place in label order (ties: by employee id)
        "tier": tier,  # the manager's or team's heading, in alphabetical order (0: one heading for the level)
        "priority": priority,
        "group": group,
        "why": why,
        "rank": rank,
        "previous": _previous(sources, ids),
    }


def _reason(kind: str, severity: str, *, manager: bool = False) -> str:
    """A finding in a few words, with its severity ("rates higher than comparable managers (alert)")."""
    words = (FOR_THEIR_PEOPLE if manager else WHY).get(kind) or WHY.get(kind, str(kind).replace("_", " "))
    return f"{words} ({severity})"


def _objects(values: pd.Series) -> pd.Series:
    """Values as a plain object Series of str (fast hashed `isin`/`map`)."""
    return pd.Series(values.astype(str).to_numpy(dtype=object), dtype=object)


def _previous(sources: Sources, ids: pd.Series) -> np.ndarray:
    """Each person's final rating in the previous cycle as a code on the scale (-1: none)."""
    cycles = [c.id for c in sources.config.cycles]
    here = cycles.index(str(sources.config.cycle)) if str(sources.config.cycle) in cycles else -1
    if here <= 0:
        return np.full(len(ids), -1, dtype=np.int64)
    frame = sources.frame
    rows = frame[frame["cycle"].astype(str) == cycles[here - 1]]
    codes = pd.Series(rows["final_rating"].cat.codes.to_numpy(), index=_objects(rows["employee_id"]))
    return ids.map(codes[~codes.index.duplicated()]).fillna(-1).to_numpy(dtype=np.int64)


def next_undiscussed(order: pd.DataFrame, previous: list[str], current: str | None) -> str | None:
    """Who to show after `current` was discussed: the first undiscussed person after it in the order
    the page showed (`previous`), else the first undiscussed person of the queue; None when none is left."""
    waiting = set(order.loc[~order["discussed"].astype(bool), "employee_id"])
    if current in previous:
        for employee_id in previous[previous.index(current) + 1 :]:
            if employee_id in waiting:
                return employee_id
    return first_undiscussed(order)


def first_undiscussed(order: pd.DataFrame) -> str | None:
    """The first person of the queue not yet discussed (where a reload resumes), else None."""
    waiting = order.loc[~order["discussed"].astype(bool), "employee_id"]
    return str(waiting.iloc[0]) if len(waiting) else None
