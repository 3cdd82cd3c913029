"""Who a session can calibrate: the people reviewed in the cycle, narrowed to the session's scope.

A scope is the whole cycle (`cycle`), an org of the teams input (`org:Platform`) or a manager's
subtree (`manager:E0049`: everyone under that manager, transitively, not the manager). Values are
checked against the configured rating scale and the sessions' potential scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from calib.delivery.sources import load_cycle
from calib.inputs.config import CycleConfig
from calib.inputs.ratings import canonical_labels
from calib.inputs.validate import CycleData
from calib.sessions.changes import Submitted
from calib.sessions.errors import SessionError

ROSTER_INPUTS = ("people", "reviews", "teams")  # all a session needs; the rest is not read


@dataclass(frozen=True)
class Scope:
    """`kind` is cycle, org or manager; `value` the org name or the manager's employee_id."""

    kind: str
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def parse_scope(text: str | None) -> Scope:
    """`cycle` (or None), `org:NAME` or `manager:ID`."""
    if text is None or text.strip() in ("", "cycle"):
        return Scope("cycle")
    kind, _, value = text.strip().partition(":")
    if kind in ("org", "manager") and value.strip():
        return Scope(kind, value.strip())
    raise SessionError(f"scope {text!r}: expected cycle, org:NAME or manager:EMPLOYEE_ID")


@dataclass(frozen=True)
class Roster:
    """The cycle's reviews and people, as a session needs them."""

    config: CycleConfig
    reviews: pd.DataFrame  # this cycle's reviews, indexed by employee_id (rating canonical)
    people: pd.DataFrame  # indexed by employee_id: name, manager_id, team (+ org when teams is given)
    _memo: dict[tuple[str, str], object] = field(default_factory=dict, repr=False, compare=False)  # the inputs
    # never change under a roster, and a session checks the same people and labels again and again

    def members(self, scope: Scope) -> list[str]:
        """The employee_ids of the people reviewed in this cycle within `scope`, sorted."""
        key = ("members", str(scope))
        if key not in self._memo:
            self._memo[key] = self._members(scope)
        return list(self._memo[key])  # type: ignore[call-overload]

    def _members(self, scope: Scope) -> list[str]:
        reviewed = self.reviews.index
        if scope.kind == "cycle":
            chosen = reviewed
        elif scope.kind == "org":
            if "org" not in self.people.columns:
                raise SessionError(f"scope {scope}: the config names no teams input with an org column")
            known = sorted(self.people["org"].dropna().unique())
            if scope.value not in known:
                raise SessionError(f"scope {scope}: no org named {scope.value!r} (known: {', '.join(known)})")
            chosen = reviewed.intersection(self.people.index[self.people["org"] == scope.value])
        else:
            if scope.value not in self.people.index:
                raise SessionError(f"scope {scope}: no person with employee_id {scope.value!r} in the people input")
            chosen = reviewed.intersection(pd.Index(self.subtree(scope.value)))
        return sorted(chosen)

    def subtree(self, manager_id: str) -> list[str]:
        """Everyone under `manager_id`, transitively (validated inputs have no manager loops)."""
        reports: dict[str, list[str]] = {}
        for person, manager in self.people["manager_id"].dropna().items():
            reports.setdefault(manager, []).append(person)
        found, queue = [], list(reports.get(manager_id, []))
        while queue:
            person = queue.pop()
            found.append(person)
            queue.extend(reports.get(person, []))
        return found

    def check_person(self, employee_id: str, scope: Scope) -> None:
        """Refuse an unknown person, one without a review in this cycle, or one outside `scope`."""
        if ("ok", f"{employee_id}\x00{scope}") in self._memo:
            return
        if employee_id not in self.people.index:
            raise SessionError(f"employee {employee_id!r}: no such employee_id in the people input")
        if employee_id not in self.reviews.index:
            raise SessionError(f"employee {employee_id}: has no review in {self.config.cycle}: nothing to calibrate")
        if scope.kind != "cycle" and employee_id not in self.members(scope):
            raise SessionError(f"employee {employee_id}: outside this session's scope ({scope})")
        self._memo["ok", f"{employee_id}\x00{scope}"] = True

    def submitted(self, employee_id: str) -> Submitted:
        """The rating as submitted, the calibrated rating (when the input has one) and the potential."""
        if ("submitted", employee_id) in self._memo:
            return self._memo["submitted", employee_id]  # type: ignore[return-value]
        row = self.reviews.loc[employee_id]
        potential = _text(row.get("potential"))
        potential = None if potential is None else self.potential_or_as_is(potential)
        calibrated = _text(row.get("calibrated_rating"))
        values = Submitted(rating=_text(row["rating"]), potential=potential, calibrated=calibrated)
        self._memo["submitted", employee_id] = values
        return values

    def rating_label(self, text: str) -> str:
        """The scale's label for `text` (any case, or the number on a numeric scale)."""
        if ("label", text) in self._memo:
            return self._memo["label", text]  # type: ignore[return-value]
        label = canonical_labels(pd.Series([text], dtype="object"), self.config).iloc[0]
        if label not in self.config.rating_labels:
            raise SessionError(
                f"rating {text!r}: not on the scale ({', '.join(self.config.rating_labels)})"
            )
        self._memo["label", text] = label
        return label

    def potential_or_as_is(self, text: str) -> str:
        """The scale's label for a submitted potential, or the text as submitted when it is not on the scale
        (the input is not the session's to correct)."""
        try:
            return self.potential_label(text)
        except SessionError:
            return text

    def potential_label(self, text: object) -> str:
        """The potential scale's label for `text` (any case)."""
        scale = self.config.sessions.potential_scale
        lookup = {" ".join(s.split()).casefold(): s for s in scale}
        label = lookup.get(" ".join(str(text).split()).casefold())
        if label is None:
            raise SessionError(f"potential {text!r}: not on the potential scale ({', '.join(scale)})")
        return label


def load_roster(config: CycleConfig, data: CycleData | None = None) -> Roster:
    """The roster of `config`'s cycle, from already loaded data or by loading only what it needs."""
    if data is None:
        needed = {name: spec for name, spec in config.inputs.items() if name in ROSTER_INPUTS}
        data = load_cycle(config.model_copy(update={"inputs": needed}))
    reviews = data["reviews"]
    reviews = reviews.loc[reviews["cycle"] == config.cycle].set_index("employee_id", drop=False)
    people = data["people"].set_index("employee_id", drop=False)
    columns = [c for c in ("employee_id", "name", "manager_id", "team") if c in people.columns]
    people = people[columns]
    if data.has("teams") and "org" in data["teams"].columns:
        orgs = data["teams"].drop_duplicates("team").set_index("team")["org"]
        people = people.assign(org=people["team"].map(orgs))
    return Roster(config, reviews, people)


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)
