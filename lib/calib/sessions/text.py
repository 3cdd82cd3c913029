"""What text a session keeps, and how stored text is shown where it could do harm (pure).

At entry: a reason or note holds at most MAX_TEXT characters and no control character but a line
break or a tab; an author holds at most MAX_AUTHOR characters and no control character at all.
Control characters are Unicode's category Cc (C0, DEL, C1: terminal escape sequences start with
ESC or CSI) and lone surrogates (not text: no file format can store them). So every export works
forever and no terminal ever interprets what someone typed.

On the way out, for logs written before these rules: `printable` escapes control characters
visibly (`\\x1b`) for a terminal, `cell_text` does so for XLSX cells (openpyxl refuses most C0
characters) and cuts a cell at Excel's limit with a marker saying so.
"""

from __future__ import annotations

import re

from calib.sessions.errors import SessionError

MAX_TEXT = 4000  # characters of a reason or a note: a paragraph or two; link longer documents
MAX_AUTHOR = 200  # characters of an author's name
EXCEL_CELL = 32_767  # the most characters an Excel cell holds (Excel's specifications and limits)
KEPT = "\n\t"  # the only control characters a reason or note may hold
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(value: str, what: str, *, required: bool) -> str:
    """A reason or note as stored (verbatim), or a one-line refusal: blank when required, too long,
    or holding a control character other than a line break or a tab."""
    if required and not value.strip():
        raise SessionError(f"{what} is empty: say why (it is kept in the session's log)")
    if len(value) > MAX_TEXT:
        raise SessionError(
            f"{what} is {len(value):,} characters long: at most {MAX_TEXT:,} (link a longer document instead)"
        )
    _refuse_controls(value, what, keep=KEPT, allowed="only line breaks and tabs are kept")
    return value


def check_author(author: str) -> str:
    """The name a change is recorded under: required, at most MAX_AUTHOR characters, no control character."""
    if not author.strip():
        raise SessionError("the author (--by) is empty: name who makes the change")
    if len(author) > MAX_AUTHOR:
        raise SessionError(f"the author (--by) is {len(author):,} characters long: at most {MAX_AUTHOR}")
    _refuse_controls(author, "the author (--by)", keep="", allowed="a name is one line of text")
    return author


def check_name(value: str, what: str, limit: int) -> str:
    """A name (of a session): stripped, non-empty, at most `limit` characters, no control character."""
    value = str(value).strip()
    if not value:
        raise SessionError(f"{what} is empty")
    if len(value) > limit:
        raise SessionError(f"{what} is {len(value):,} characters long: at most {limit}")
    _refuse_controls(value, what, keep="", allowed="a name is one line of text")
    return value


def printable(text: object, keep: str = "") -> str:
    """`text` with every control character but those in `keep` escaped visibly (`\\x1b`, `\\u009b`)."""
    return CONTROL.sub(lambda m: m.group() if m.group() in keep else _escape(m.group()), str(text))


def cell_text(text: str) -> tuple[str, bool, bool]:
    """An XLSX cell's text: control characters escaped (line breaks and tabs kept), cut at EXCEL_CELL
    characters with a marker saying how long it was. Also whether it was escaped, and cut."""
    shown = printable(text, KEPT)
    escaped = shown != text
    if len(shown) <= EXCEL_CELL:
        return shown, escaped, False
    marker = f" [cut here: {len(shown):,} characters, Excel keeps {EXCEL_CELL:,}; the CSV export holds them all]"
    return shown[: EXCEL_CELL - len(marker)] + marker, escaped, True


def _refuse_controls(value: str, what: str, *, keep: str, allowed: str) -> None:
    for match in CONTROL.finditer(value):
        if match.group() not in keep:
            raise SessionError(
                f"{what} holds the control character {_codepoint(match.group())} at character {match.start() + 1}: "
                f"{allowed}"
            )


NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BS",
    0x09: "TAB",
    0x0A: "LF",
    0x0B: "VT",
    0x0C: "FF",
    0x0D: "CR",
    0x1B: "ESC",
    0x7F: "DEL",
    0x9B: "CSI",
}


def _codepoint(char: str) -> str:
    name = NAMES.get(ord(char))
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
