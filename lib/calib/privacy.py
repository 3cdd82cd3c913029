"""Privacy: small-cell suppression, and the one redaction layer every surface goes through.

**Suppression.** A group with fewer than `min_group_size` people is suppressed (primary). If
exactly one group of a breakdown is suppressed, the total minus the shown groups would reveal it,
so the next-smallest group is suppressed too (complementary), ties broken by group name.

**Redaction.** `redaction(people, blind=...)` builds the display mapping that the report, the
packets, findings.json, the tables, the dashboard and calibration-session reasons all use:
- open mode: people are labelled by name (with the id where two share a name), and an id inside
  free text reads "name (id)";
- blind mode: employee ids, full names, handles and e-mail addresses are replaced by a stable
  pseudonym ("Person 7F3A2C") wherever they occur, inside free text and urls included (case
  aside: "KENJI-OBRIEN" in a url is the handle "kenji-obrien"); a given or family name standing
  alone ("Kenji's doc") is replaced too, by the pseudonym when one person carries that name and
  by "someone" otherwise; any other e-mail address becomes "[e-mail]". Protected attributes and
  findings about them are hidden (`PROTECTED_FINDINGS`, `PROTECTED_TABLES`).
Matching is on word boundaries, so "E001" never matches inside "E0012". Pseudonyms are stable,
not secret: anyone holding the ids and this code can recompute them (`PSEUDONYM_SALT`), so blind
mode keeps names out of the room's sight; it does not anonymize data for release.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

PSEUDONYM_SALT = ""  # the same in every blind view, so a room can follow one person across them
IDENTIFYING = ("name", "handle", "email")  # people columns that name a person, besides employee_id
PROTECTED_FINDINGS = ("adverse_impact",)  # findings about protected attributes: never shown in blind mode
PROTECTED_TABLES = ("bias_audit",)
HIDDEN = "hidden in blind mode"
SOMEONE = "someone"  # a lone given or family name that more than one person carries
EMAIL_MARK = "[e-mail]"
MIN_NAME_PART = 3  # shorter name parts ("Li", "Al") are too often ordinary words or initials
_WORD = re.compile(r"\w+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


# -- suppression ----------------------------------------------------------------------------------


def suppression(group_n: Mapping[str, int], min_group_size: int) -> dict[str, str]:
    """Groups to withhold: label -> "primary" (n < k) or "complementary" (the rule above)."""
    out = {g: "primary" for g, n in group_n.items() if n < min_group_size}
    if len(out) == 1:
        rest = sorted((n, str(g), g) for g, n in group_n.items() if g not in out)
        if rest:
            out[rest[0][2]] = "complementary"
    return dict(sorted(out.items(), key=lambda item: str(item[0])))


def suppressed_groups(sizes: pd.Series, min_group_size: int) -> pd.Series:
    """Which groups to withhold, given each group's size (index = group): `suppression` as booleans."""
    hidden = suppression(sizes.to_dict(), min_group_size)
    return pd.Series([g in hidden for g in sizes.index], index=sizes.index, dtype=bool)


SIZE_BANDS = (20, 100)  # blind mode shows a group's size only as a band: k-19, 20-99, 100 or more


def size_band(n: object, min_group_size: int) -> str:
    """A group's size as blind mode shows it: a band, never the count that would name the group.

    >>> size_band(197, 5), size_band(12, 5), size_band(3, 5)
    ('100 or more', '5–19', 'fewer than 5')
    """
    try:
        count = int(n)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "size unknown"
    if count < min_group_size:
        return f"fewer than {min_group_size}"
    low = min_group_size
    for high in SIZE_BANDS:
        if count < high:
            return f"{low}–{high - 1}" if low < high - 1 else f"{low}"
        low = max(low, high)
    return f"{low} or more"


def group_numbers(attribute: str, groups: set[str]) -> dict[str, str]:
    """Blind-mode labels for a protected attribute's groups: "group 1", "group 2"... in an order that says
    nothing (a hash of the attribute and group, not the alphabet or the size)."""
    order = sorted(groups, key=lambda g: hashlib.sha256(f"{attribute}={g}".encode()).hexdigest())
    return {g: f"group {i + 1} ({HIDDEN})" for i, g in enumerate(order)}


# -- pseudonyms -----------------------------------------------------------------------------------


def pseudonym(employee_id: str, *, salt: str = PSEUDONYM_SALT) -> str:
    """A stable pseudonym for blind mode, e.g. "Person 7F3A2C".

    The same id (and salt) always gives the same pseudonym; six hex digits of a SHA-256 keep
    collisions rare (about one in three thousand for 10k people, resolved by `pseudonyms`).
    """
    digest = hashlib.sha256(f"{salt}:{employee_id}".encode()).hexdigest().upper()
    return f"Person {digest[:6]}"


def pseudonyms(ids: list[str] | pd.Series, *, salt: str = PSEUDONYM_SALT) -> dict[str, str]:
    """id -> pseudonym for many ids, lengthening a digest only where two would collide."""
    unique = sorted({str(i) for i in ids})
    out = {i: pseudonym(i, salt=salt) for i in unique}
    clashes = pd.Series(out, dtype=object).duplicated(keep=False)
    for i in pd.Series(out, dtype=object)[clashes].index:
        out[i] = "Person " + hashlib.sha256(f"{salt}:{i}".encode()).hexdigest().upper()[:10]
    return out


# -- phrase replacement ---------------------------------------------------------------------------


class Redactor:
    """Replace whole-word occurrences of known phrases (ids, names, handles) in free text, in one pass.

    Phrases are indexed by their first word, so a text is scanned once whatever the number of
    people; a phrase matches only on word boundaries. With `ignore_case`, "Kenji-OBrien" matches
    the phrase "kenji-obrien".
    """

    def __init__(self, mapping: Mapping[str, str], *, ignore_case: bool = False):
        self.ignore_case = ignore_case
        fold = str.lower if ignore_case else str
        self.mapping: dict[str, str] = {}
        for key, value in mapping.items():
            if str(key).strip():
                self.mapping.setdefault(fold(str(key)), str(value))
        index: dict[str, list[tuple[str, int]]] = {}
        for key in self.mapping:
            first = _WORD.search(key)
            if first is not None:
                index.setdefault(first.group(), []).append((key, first.start()))
        for candidates in index.values():
            candidates.sort(key=lambda item: -len(item[0]))
        self._index = index

    def __call__(self, text: object) -> object:
        if not isinstance(text, str) or not text:
            return text
        folded = text.lower() if self.ignore_case else text
        if len(folded) != len(text):  # a few characters change length when lowered: match as written
            folded = text
        out, pos = [], 0
        for word in _WORD.finditer(folded):
            if word.start() < pos:
                continue
            for key, offset in self._index.get(word.group(), ()):
                start = word.start() - offset
                end = start + len(key)
                if start >= pos and folded.startswith(key, start) and _bounded(text, start, end, key):
                    out += [text[pos:start], self.mapping[key]]
                    pos = end
                    break
        out.append(text[pos:])
        return "".join(out)


def _bounded(text: str, start: int, end: int, key: str) -> bool:
    before = start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_") or not key[0].isalnum()
    after = end == len(text) or not (text[end].isalnum() or text[end] == "_") or not key[-1].isalnum()
    return before and after


# -- the redaction layer --------------------------------------------------------------------------


@dataclass(frozen=True)
class Redaction:
    """How one surface shows people: `labels` by employee id, and `text` for any free text.

    Build it with `redaction`; call it on a string (or use `value`/`frame` for nested values and
    tables). In open mode free text only gains names beside ids; in blind mode nothing that names
    a person survives.
    """

    blind: bool
    labels: dict[str, str]
    _phrases: Redactor
    _parts: Redactor | None = None

    def __call__(self, text: object) -> object:
        """Free text as this surface shows it."""
        if not isinstance(text, str) or not text:
            return text
        out = self._phrases(text)
        if self.blind:
            out = _EMAIL.sub(EMAIL_MARK, out)
            if self._parts is not None:
                out = self._parts(out)
        return out

    def label(self, employee_id: object) -> str:
        """A person's display label; an unknown id is shown as its redacted text."""
        key = str(employee_id)
        return self.labels.get(key) or str(self(key))

    def value(self, value: object) -> object:
        """Strings redacted inside lists, tuples and dicts (dict keys stay)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def frame(self, table: pd.DataFrame) -> pd.DataFrame:
        """A copy of `table` with every text cell redacted, one lookup per distinct value.

        In blind mode the identifying columns (`IDENTIFYING`) are dropped as well.
        """
        out = table.drop(columns=[c for c in IDENTIFYING if c in table.columns]) if self.blind else table.copy()
        for column in out.columns:
            series = out[column]
            if not (
                pd.api.types.is_object_dtype(series)
                or pd.api.types.is_string_dtype(series)
                or isinstance(series.dtype, pd.CategoricalDtype)
            ):
                continue
            values = series.dropna().unique()
            changed = {v: self(v) for v in values if isinstance(v, str)}
            changed = {k: v for k, v in changed.items() if k != v}
            if changed:
                out[column] = series.astype(object).map(lambda v, m=changed: m.get(v, v) if isinstance(v, str) else v)
        return out


def redaction(
    people: pd.DataFrame, *, blind: bool, salt: str = PSEUDONYM_SALT, replace_with: Mapping[str, str] | None = None
) -> Redaction:
    """The display mapping for everyone in `people` (employee_id, and name/handle/email when present).

    Open mode: labels are names (with the id when a name is not unique); free text gains the name
    beside an id ("Ana Silva (E0042)"), except all-digit ids, which would clash with numbers.
    Blind mode: see the module docstring; `replace_with` (id -> text) replaces the pseudonyms,
    e.g. with markers that a per-team view resolves to its own people (calib.outputs.report.packets).
    """
    ids = people["employee_id"].astype(str)
    if not blind:
        names = people["name"].astype(str) if "name" in people.columns else ids
        repeated = names.duplicated(keep=False)
        labels = {i: (f"{n} ({i})" if r else n) for i, n, r in zip(ids, names, repeated, strict=True)}
        text = {i: f"{n} ({i})" for i, n in zip(ids, names, strict=True) if not i.isdigit() and n != i}
        return Redaction(False, labels, Redactor(text))
    fake = dict(replace_with) if replace_with is not None else pseudonyms(ids, salt=salt)
    phrases = dict(fake)
    for column in IDENTIFYING:
        if column in people.columns:
            for value, who in zip(people[column], ids, strict=True):
                if isinstance(value, str) and value.strip():
                    phrases.setdefault(value.strip(), fake[who])
    return Redaction(True, dict(fake), Redactor(phrases, ignore_case=True), _name_parts(people, ids, fake))


def _name_parts(people: pd.DataFrame, ids: pd.Series, fake: Mapping[str, str]) -> Redactor | None:
    """Given and family names standing alone: the pseudonym of the one person who carries it, else SOMEONE."""
    if "name" not in people.columns:
        return None
    owners: dict[str, set[str]] = {}
    for name, who in zip(people["name"], ids, strict=True):
        if isinstance(name, str):
            for part in _WORD.findall(name):
                if len(part) >= MIN_NAME_PART and part[0].isupper():
                    owners.setdefault(part, set()).add(who)
    mapping = {part: (fake[next(iter(who))] if len(who) == 1 else SOMEONE) for part, who in owners.items()}
    return Redactor(mapping) if mapping else None
