"""What a calibration session changed, summarised for the report's "Calibration changes" section (pure).

`change_summary` turns a session snapshot and the cycle's inputs into a JSON-ready document
(written as session.json beside findings.json): how many rating changes and how many people
changed, a submitted -> after matrix, counts by manager and by discipline, the share of changes
whose reason cites evidence, and every change (who, when, from, to, reason, author).
`blind_summary` passes that document through the one redaction layer (`calib.privacy`): people
become pseudonyms, names inside reasons too, and authors become author pseudonyms.

**Cites evidence** (`EvidenceTerms`): a reason cites evidence when it contains an http(s) link,
or names, as a whole word in any case (plural allowed; `_`, `-` and a space alike), an evidence
category (delivery, reliability, influence), a kind of evidence found in the cycle's evidence input
(pr, design_doc, postmortem, ...) or a criterion of the leveling framework or the evidence input
(Impact, Mastery, ...). It says whether a change points at something the room can check, not
whether that evidence is good.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from calib.errors import ConfigError
from calib.frame import EVIDENCE_CATEGORIES
from calib.inputs.leveling import load_leveling
from calib.inputs.validate import CycleData
from calib.outputs.report.session import CALIBRATED, SessionView
from calib.privacy import PSEUDONYM_SALT, Redaction, Redactor
from calib.sessions.events import when

LINK = re.compile(r"\bhttps?://\S", re.I)
MIN_TERM = 2  # shorter kinds or criteria would match initials


@dataclass(frozen=True)
class EvidenceTerms:
    """The words that make a reason cite evidence: categories, kinds of evidence, criteria."""

    categories: tuple[str, ...]
    kinds: tuple[str, ...]
    criteria: tuple[str, ...]

    def pattern(self) -> re.Pattern[str] | None:
        """One case-insensitive whole-word pattern over every term (None when there is none)."""
        terms = {t for t in (*self.categories, *self.kinds, *self.criteria) if len(t.strip()) >= MIN_TERM}
        if not terms:
            return None
        bodies = sorted((r"[\s_-]?".join(map(re.escape, re.split(r"[\s_-]+", t.strip()))) for t in terms), key=len)
        return re.compile(r"(?<!\w)(?:" + "|".join(reversed(bodies)) + r")(?:e?s)?(?!\w)", re.I)

    def cites(self, reason: str, pattern: re.Pattern[str] | None = None) -> bool:
        """Whether `reason` cites evidence (the module's definition)."""
        pattern = pattern if pattern is not None else self.pattern()
        return bool(LINK.search(reason)) or (pattern is not None and bool(pattern.search(reason)))

    def definition(self) -> str:
        """The definition as the report states it, naming every term used."""

        def listed(words: tuple[str, ...]) -> str:
            return ", ".join(w.replace("_", " ") for w in words) or "none given"

        return (
            "A reason cites evidence when it contains an http(s) link, or names (as a whole word, in any case, "
            f"plural allowed) an evidence category ({listed(self.categories)}), a kind of evidence in the evidence "
            f"input ({listed(self.kinds)}) or a criterion of the leveling framework or the evidence input "
            f"({listed(self.criteria)}). "
            "It shows whether a change points at something the room can check, not whether that evidence is good."
        )


def evidence_terms(data: CycleData) -> EvidenceTerms:
    """The evidence vocabulary of a cycle: its categories, the evidence input's kinds, the criteria."""
    kinds: set[str] = set()
    criteria: set[str] = set()
    if data.has("evidence"):
        evidence = data["evidence"]
        kinds = {str(k).strip() for k in evidence["kind"].dropna().unique() if str(k).strip()}
        if "criterion" in evidence.columns:
            criteria = {str(c).strip() for c in evidence["criterion"].dropna().unique() if str(c).strip()}
    try:
        leveling = load_leveling(data.config)
    except ConfigError:  # a broken framework is `calib alignment`'s error to report; the evidence input still counts
        leveling = None
    if leveling is not None:
        criteria |= {c.name for c in leveling.criteria}
    return EvidenceTerms(tuple(EVIDENCE_CATEGORIES), tuple(sorted(kinds)), tuple(sorted(criteria)))


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
    submitted = table["submitted_rating"].astype("object")
    after = table["rating"].astype("object")
    moved = submitted.notna() & after.notna() & (submitted != after)
    up = moved & (after.map(rank) > submitted.map(rank))
    given = now[CALIBRATED].reindex(ids).astype("object") if CALIBRATED in now.columns else pd.Series(None, index=ids)
    replaced = given.notna() & after.notna() & (given != after)
    manager = now["reviewer_id"].reindex(ids).astype("object") if "reviewer_id" in now.columns else None
    discipline = people["discipline"].reindex(ids).astype("object") if "discipline" in people.columns else None

    rating_events = [e for e in view.events if e.kind == "rating" and e.employee_id is not None]
    shown = [e for e in rating_events if e.employee_id in ids]
    per_person = Counter(e.employee_id for e in shown)
    pattern = terms.pattern()
    changes = [
        {
            "seq": e.seq,
            "at": e.at,
            "when": when(e.at),
            "employee_id": e.employee_id,
            "manager_id": _text(manager.get(e.employee_id)) if manager is not None else None,
            "discipline": _text(discipline.get(e.employee_id)) if discipline is not None else None,
            "from": e.from_value,
            "to": e.to_value,
            "reason": e.reason,
            "author": e.author,
            "version": e.version,
            "cites_evidence": terms.cites(e.reason, pattern),
        }
        for e in shown
    ]
    citing = sum(c["cites_evidence"] for c in changes)
    person = pd.DataFrame(
        {
            "moved": moved,
            "raised": up,
            "lowered": moved & ~up,
            "changes": pd.Series(per_person, dtype="int64").reindex(ids, fill_value=0),
        },
        index=ids,
    )
    matrix = [[int(((submitted == a) & (after == b)).sum()) for b in labels] for a in labels]
    state = view.state
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
        "people_changed": int(moved.sum()),
        "raised": int(up.sum()),
        "lowered": int((moved & ~up).sum()),
        "changed_back": int((table["rating_changed"].astype(bool) & ~moved).sum()),
        "potential_changes": sum(e.kind == "potential" and e.employee_id in ids for e in view.events),
        "changes_outside_report": len(rating_events) - len(shown),
        "input_calibrated_replaced": int(replaced.sum()),
        "matrix": matrix,
        "by_manager": _groups(person, manager, "manager_id"),
        "by_discipline": _groups(person, discipline, "discipline"),
        "evidence": {
            "definition": terms.definition(),
            "citing": citing,
            "changes": len(changes),
            "share": citing / len(changes) if changes else None,
        },
        "changes": changes,
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
    for key in ("name", "store", "verify_problem"):
        out[key] = text(document.get(key))
    for key in ("opened_by", "locked_by"):
        out[key] = author(document.get(key))
    out["changes"] = [
        {
            **c,
            "employee_id": person(c["employee_id"]),
            "manager_id": person(c["manager_id"]),
            "reason": text(c["reason"]),
            "author": author(c["author"]),
        }
        for c in document["changes"]
    ]
    managers = [{**row, "manager_id": person(row["manager_id"])} for row in document["by_manager"]]
    # re-sorted by pseudonym within equal counts, so the order cannot map pseudonyms back to ids
    out["by_manager"] = sorted(managers, key=lambda r: (-r["changed"], -r["changes"], str(r["manager_id"])))
    return out


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)
