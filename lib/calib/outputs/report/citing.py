"""When a reason cites evidence: it names one of that person's evidence items, or a criterion (pure).

A calibration change's reason **cites evidence** when it names something the room can check about
*that person*: one of their evidence items of the cycle, by its title (the whole title, in any
case, spacing aside) or by its link (the item's url, in any case, a trailing `/` aside), or a
criterion of the leveling framework or the evidence input (a whole word, in any case, plural
allowed; `_`, `-` and a space alike). A link to anything else, a category ("delivery evidence
strong") or a kind of evidence ("two PRs") does not count: it names nothing a reader could open.
It says whether a change points at evidence, not whether that evidence is good.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from calib.errors import ConfigError
from calib.inputs.leveling import load_leveling
from calib.inputs.validate import CycleData

MIN_TERM = 2  # shorter criteria would match initials
MIN_TITLE = 4  # shorter titles ("Fix") would match ordinary words


@dataclass(frozen=True)
class Item:
    """One evidence item as a reason may name it."""

    title: str
    url: str | None = None


@dataclass(frozen=True)
class EvidenceTerms:
    """What makes a reason cite evidence: each person's evidence items, and the criteria."""

    criteria: tuple[str, ...] = ()
    items: Mapping[str, tuple[Item, ...]] = field(default_factory=dict)  # employee_id -> items of the cycle

    def pattern(self) -> re.Pattern[str] | None:
        """One case-insensitive whole-word pattern over the criteria (None when there is none)."""
        terms = {t for t in self.criteria if len(t.strip()) >= MIN_TERM}
        if not terms:
            return None
        bodies = sorted((r"[\s_-]?".join(map(re.escape, re.split(r"[\s_-]+", t.strip()))) for t in terms), key=len)
        return re.compile(r"(?<!\w)(?:" + "|".join(reversed(bodies)) + r")(?:e?s)?(?!\w)", re.I)

    def cited(self, reason: str, employee_id: str | None, pattern: re.Pattern[str] | None = None) -> str | None:
        """What `reason` names (an item's title or link, or a criterion), or None when it cites nothing."""
        if not isinstance(reason, str) or not reason.strip():
            return None
        folded = _fold(reason)
        for item in self.items.get(str(employee_id), ()) if employee_id is not None else ():
            title = _fold(item.title)
            if len(title) >= MIN_TITLE and re.search(rf"(?<!\w){re.escape(title)}(?!\w)", folded):
                return item.title
            url = (item.url or "").strip().rstrip("/").casefold()
            if url and re.search(rf"{re.escape(url)}/?(?![\w/.-])", folded):
                return item.url
        pattern = pattern if pattern is not None else self.pattern()
        found = pattern.search(reason) if pattern is not None else None
        return found.group(0) if found else None

    def cites(self, reason: str, employee_id: str | None, pattern: re.Pattern[str] | None = None) -> bool:
        """Whether `reason`, given for `employee_id`, cites evidence (the module's definition)."""
        return self.cited(reason, employee_id, pattern) is not None

    def definition(self) -> str:
        """The definition as the report states it, naming the criteria."""
        criteria = ", ".join(self.criteria) or "none given"
        return (
            "A reason cites evidence when it names one of that person's evidence items of the cycle, by its title "
            f"or its link, or a criterion of the leveling framework or the evidence input ({criteria}). A category "
            "(\"delivery evidence strong\"), a kind of evidence (\"two PRs\") or a link to anything else does not "
            "count: it names nothing a reader can open. It shows whether a change points at something the room can "
            "check, not whether that evidence is good."
        )


def evidence_terms(data: CycleData) -> EvidenceTerms:
    """The cycle's criteria and each person's evidence items dated within the config's cycle."""
    criteria: set[str] = set()
    items: dict[str, tuple[Item, ...]] = {}
    if data.has("evidence"):
        evidence = data["evidence"]
        if "criterion" in evidence.columns:
            criteria = {str(c).strip() for c in evidence["criterion"].dropna().unique() if str(c).strip()}
        window = next((c for c in data.config.cycles if c.id == data.config.cycle), None)
        if window is not None:
            dates = pd.to_datetime(evidence["date"], errors="coerce")
            evidence = evidence[(dates >= pd.Timestamp(window.start)) & (dates <= pd.Timestamp(window.end))]
        items = _items(evidence)
    try:
        leveling = load_leveling(data.config)
    except ConfigError:  # a broken framework is `calib alignment`'s error to report; the evidence input still counts
        leveling = None
    if leveling is not None:
        criteria |= {c.name for c in leveling.criteria}
    return EvidenceTerms(tuple(sorted(criteria)), items)


def _items(evidence: pd.DataFrame) -> dict[str, tuple[Item, ...]]:
    urls = evidence["url"] if "url" in evidence.columns else pd.Series(None, index=evidence.index)
    out: dict[str, list[Item]] = {}
    for who, title, url in zip(evidence["employee_id"].astype(str), evidence["title"], urls, strict=True):
        if isinstance(title, str) and title.strip():
            out.setdefault(who, []).append(Item(title.strip(), url.strip() if isinstance(url, str) else None))
    return {who: tuple(found) for who, found in out.items()}


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()
