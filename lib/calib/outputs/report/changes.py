"""What a calibration session changed, summarised for the report's "Calibration changes" section (pure).

`change_summary` turns a session snapshot and the cycle's inputs into a JSON-ready document
(written as session.json beside findings.json): how many rating changes and how many people
changed (against the rating before this session: the reviews' calibrated rating, else the
submitted one), a before -> after matrix, counts by manager and by discipline, the share of
rating changes whose reason cites evidence (calib.outputs.report.citing: it names one of that
person's evidence items, or a criterion), the rating changes (who, when, from, to, reason,
author) and every event of the log (ratings, potentials, undos, flags, discussed marks, notes,
the lock). `blind_summary` passes that document through the one redaction layer
(`calib.privacy`): people become pseudonyms, names inside reasons too, and authors become author
pseudonyms.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

import pandas as pd

from calib.inputs.validate import CycleData
from calib.outputs.report.citing import EvidenceTerms, evidence_terms
from calib.outputs.report.session import CALIBRATED, SessionView
from calib.privacy import PSEUDONYM_SALT, Redaction, Redactor
from calib.sessions.events import TOGGLES, VERSIONED, when

__all__ = ["EvidenceTerms", "author_pseudonym", "blind_summary", "change_summary", "evidence_terms"]


def change_summary(
    view: SessionView, data: CycleData, *, terms: EvidenceTerms, included: Iterable[str] | None = None
) -> dict:
    """The "Calibration changes" document of a session (JSON-ready; ids, not names).

    Parameters
    ----------
    view
        The session as read for the report.
    data
        The cycle's inputs as read (before the session's ratings replaced calibrated_rating):
        reviews give each person's manager (reviewer_id), people their discipline.
    terms
        What counts as citing evidence.
    included
        The employee_ids the report covers (an org filter); None: everyone in the session.
    """
    labels = list(data.config.rating_labels)
    rank = {label: i for i, label in enumerate(labels)}
    reviews = data["reviews"]
    now = reviews[reviews["cycle"] == data.config.cycle].drop_duplicates("employee_id").set_index("employee_id")
    people = data["people"].drop_duplicates("employee_id").set_index("employee_id")
    table = view.table.set_index("employee_id")
    if included is not None:
        table = table[table.index.isin(set(included))]
    ids = table.index
    before = table["start_rating"].astype("object")
    after = table["rating"].astype("object")
    moved = before.notna() & after.notna() & (before != after)
    up = moved & (after.map(rank) > before.map(rank))
    given = now[CALIBRATED].reindex(ids).astype("object") if CALIBRATED in now.columns else pd.Series(None, index=ids)
    replaced = given.notna() & after.notna() & (given != after)
    manager = now["reviewer_id"].reindex(ids).astype("object") if "reviewer_id" in now.columns else None
    discipline = people["discipline"].reindex(ids).astype("object") if "discipline" in people.columns else None
    pattern = terms.pattern()

    def row(e) -> dict:
        decision = e.kind in ("rating", "potential")
        return {
            "seq": e.seq,
            "at": e.at,
            "when": when(e.at),
            "kind": e.kind,
            "employee_id": e.employee_id,
            "manager_id": _text(manager.get(e.employee_id)) if manager is not None and e.employee_id else None,
            "discipline": _text(discipline.get(e.employee_id)) if discipline is not None and e.employee_id else None,
            "from": e.from_value,
            "to": e.to_value if e.kind not in TOGGLES else (e.to_value or "on"),
            "reason": e.reason,
            "author": e.author,
            "version": e.version,
            "cites_evidence": terms.cites(e.reason, e.employee_id, pattern) if decision else None,
        }

    rating_events = [e for e in view.events if e.kind == "rating" and e.employee_id is not None]
    shown = [e for e in rating_events if e.employee_id in ids]
    every = [row(e) for e in view.events if e.employee_id is None or e.employee_id in ids]
    per_person = Counter(e.employee_id for e in shown)
    undone = {e.employee_id for e in view.events if e.kind == "undo_rating"}
    changes = [r for r in every if r["kind"] in ("rating", "undo_rating")]
    decided = [c for c in changes if c["kind"] == "rating"]
    citing = sum(bool(c["cites_evidence"]) for c in decided)
    person = pd.DataFrame(
        {
            "moved": moved,
            "raised": up,
            "lowered": moved & ~up,
            "changes": pd.Series(per_person, dtype="int64").reindex(ids, fill_value=0),
        },
        index=ids,
    )
    matrix = [[int(((before == a) & (after == b)).sum()) for b in labels] for a in labels]
    state = view.state
    kinds = Counter(r["kind"] for r in every)
    return {
        "name": view.name,
        "cycle": view.cycle,
        "scope": view.scope,
        "status": view.status,
        "store": view.store,
        "events": len(view.events),
        "head_hash": view.verification.head_hash,
        "verified": view.verification.ok,
        "verify_problem": view.verification.problem,
        "opened_by": state.opened_by,
        "opened_at": state.opened_at,
        "locked_by": state.locked_by,
        "locked_at": state.locked_at,
        "locked_when": when(state.locked_at) if state.locked_at else None,
        "labels": labels,
        "people_in_scope": len(ids),
        "rating_changes": len(shown),
        "undos": kinds["undo_rating"] + kinds["undo_potential"],
        "people_changed": int(moved.sum()),
        "raised": int(up.sum()),
        "lowered": int((moved & ~up).sum()),
        "changed_back": int(((person["changes"].gt(0) | ids.isin(undone)) & ~moved).sum()),
        "potential_changes": kinds["potential"] + kinds["undo_potential"],
        "event_kinds": {kind: kinds[kind] for kind in ("open", *VERSIONED, *TOGGLES, "note", "lock") if kinds[kind]},
        "changes_outside_report": len(rating_events) - len(shown),
        "input_calibrated_replaced": int(replaced.sum()),
        "matrix": matrix,
        "by_manager": _groups(person, manager, "manager_id"),
        "by_discipline": _groups(person, discipline, "discipline"),
        "evidence": {
            "definition": terms.definition(),
            "citing": citing,
            "changes": len(decided),
            "share": citing / len(decided) if decided else None,
        },
        "changes": changes,
        "log": every,
    }


def _groups(person: pd.DataFrame, key: pd.Series | None, name: str) -> list[dict]:
    """Per group: people in scope, people changed, raised, lowered, rating changes; most changed first."""
    if key is None:
        return []
    counts = (
        person.assign(group=key.fillna("(none)").astype(str))
        .groupby("group", sort=True)
        .agg(
            people=("moved", "size"),
            changed=("moved", "sum"),
            raised=("raised", "sum"),
            lowered=("lowered", "sum"),
            changes=("changes", "sum"),
        )
    )
    counts = counts.sort_values(["changed", "changes"], ascending=False, kind="stable")
    return [{name: str(group), **{k: int(v) for k, v in row.items()}} for group, row in counts.iterrows()]


def author_pseudonym(author: str, *, salt: str = PSEUDONYM_SALT) -> str:
    """A stable pseudonym for a session author in blind mode, e.g. "Author 3F9A1C"."""
    return "Author " + hashlib.sha256(f"{salt}:author:{author}".encode()).hexdigest().upper()[:6]


def blind_summary(document: dict, redact: Redaction, authors: Iterable[str]) -> dict:
    """The document as blind mode shows it: people, authors and names inside free text as pseudonyms.

    Parameters
    ----------
    document
        What `change_summary` returned.
    redact
        The blind redaction of the cycle's people (calib.privacy).
    authors
        Every author in the session's log (their names are replaced inside free text as well).
    """
    fake = {a: author_pseudonym(a) for a in set(authors) if a and a.strip()}
    by_author = Redactor(fake, ignore_case=True)

    def text(value: object) -> object:
        return redact(by_author(value)) if isinstance(value, str) else value

    def person(value: object) -> object:
        return redact.label(value) if isinstance(value, str) and value else value

    def author(value: object) -> object:
        return fake.get(value, author_pseudonym(value)) if isinstance(value, str) and value else value

    out = dict(document)
    for key in ("name", "scope", "store", "verify_problem"):
        out[key] = text(document.get(key))
    for key in ("opened_by", "locked_by"):
        out[key] = author(document.get(key))
    for key in ("changes", "log"):
        out[key] = [
            {
                **c,
                "employee_id": person(c["employee_id"]),
                "manager_id": person(c["manager_id"]),
                "from": text(c["from"]),
                "to": text(c["to"]),  # the open event's scope may name a manager
                "reason": text(c["reason"]),
                "author": author(c["author"]),
            }
            for c in document.get(key, [])
        ]
    managers = [{**row, "manager_id": person(row["manager_id"])} for row in document["by_manager"]]
    # re-sorted by pseudonym within equal counts, so the order cannot map pseudonyms back to ids
    out["by_manager"] = sorted(managers, key=lambda r: (-r["changed"], -r["changes"], str(r["manager_id"])))
    return out


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)
