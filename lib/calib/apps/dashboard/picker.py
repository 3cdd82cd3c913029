"""Two small anywidgets the meeting uses, their JavaScript shipped in the package (nothing from a CDN).

`Picker` is the one search component of the dashboard: the Calibrate tab's queue and the Person
tab's picker. It shows a search box and a list grouped under headings; typing filters the list by
name (or pseudonym in blind mode) in the page; a click or Enter chooses. Entries are keyed by
pseudonym, never by employee id, so blind mode sends no id to the page (`keys`).

`ClickGuard` makes the meeting's buttons take one press at a time: a press on a button with the
class `calib-guarded` blocks further presses of it until the kernel says it answered (`answered`,
bumped after each action) and `quiet_ms` have passed, so a double click records one event.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

HERE = Path(__file__).parent
GUARDED = "calib-guarded"  # the class of buttons the ClickGuard protects


class Picker(anywidget.AnyWidget):
    """Type-to-search over a list of people: `entries` (key, label, why, group, mark) and the chosen `value` (a key)."""

    _esm = HERE / "picker.js"
    _css = HERE / "picker.css"
    entries = traitlets.List().tag(sync=True)  # of dicts; not validated one by one (10k entries)
    value = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("Type a name to search").tag(sync=True)
    noun = traitlets.Unicode("people").tag(sync=True)
    limit = traitlets.Int(300).tag(sync=True)  # entries drawn at once; typing finds the rest


class ClickGuard(anywidget.AnyWidget):
    """Invisible: one press per guarded button until the kernel has answered it (see the module docstring)."""

    _esm = HERE / "guard.js"
    answered = traitlets.Int(0).tag(sync=True)
    quiet_ms = traitlets.Int(600).tag(sync=True)

    def done(self) -> None:
        """The kernel has answered the last press: the page may release its buttons."""
        self.answered += 1


def keys(ids: list[str], pseudonyms: dict[str, str]) -> dict[str, str]:
    """employee_id -> the key a picker entry carries (the stable pseudonym; the id when there is none)."""
    return {i: pseudonyms.get(i, i) for i in ids}


def entries(order, key: dict[str, str], *, discussed_mark: str = "✓", flagged_mark: str = "⚑") -> list[dict]:
    """Picker entries from a table with employee_id and label (and, when present, why, group, discussed, flagged)."""
    n = len(order)

    def column(name: str, default: object) -> list:
        return order[name].tolist() if name in order.columns else [default] * n

    marks = [
        (flagged_mark if flagged else "") + (discussed_mark if discussed else "")
        for flagged, discussed in zip(column("flagged", False), column("discussed", False), strict=True)
    ]
    return [
        {"key": key.get(i, i), "label": label, "why": why or "", "group": group or "", "mark": mark}
        for i, label, why, group, mark in zip(
            map(str, order["employee_id"].tolist()), map(str, order["label"].tolist()), column("why", ""),
            column("group", ""), marks, strict=True,
        )
    ]  # fmt: skip


def choices(options: list[tuple[str, str]], key: dict[str, str]) -> list[dict]:
    """Picker entries from (label, employee_id) pairs, in their order (the Person tab's picker)."""
    return [{"key": key.get(i, i), "label": label, "why": "", "group": "", "mark": ""} for label, i in options]
