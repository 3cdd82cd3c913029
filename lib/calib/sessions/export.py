"""What HR uploads: the reviews input written back with the session's ratings, plus the session's log.

The reviews file keeps its own rows and columns, in its own order, under its own headers (vendor
headers that the config's `columns:` renamed are restored). A session starts from the reviews'
calibrated rating (else the submitted one), so for each review of the session's cycle whose person
is in the session's scope, `calibrated_rating` holds exactly what the session holds: a cell is
written only where the session's rating differs from it (the session changed that person) or where
it is blank (it gets the rating the session kept); `potential` is written only where the session
changed it. Every other cell, spelling included, is written as it was read. `hand_back` also lists
each value that differs from the input (`Difference`), which `calib session export` prints. Either
column is added when the input lacks it (potential only when changed). Every text cell is
neutralized against formula injection (calib.files), so a reason such as `=HYPERLINK(...)` is inert
text; `<script>` is plain text in a spreadsheet. The log goes to a second sheet (.xlsx) or a second
file beside the first (`NAME-log.csv`), and the log's head (its event count and last hash, what
`verify --head` takes) to a third (`head` sheet, `NAME-head.csv`: one row). All three come from one
read of the log. Files are written to a temporary name (0600) and renamed into place.

XLSX cells cannot hold most control characters nor more than 32,767 characters. A log written
before reasons were limited may hold either: such a cell is written with its control characters
escaped visibly (`\\x0b`) or cut at the limit with a marker saying so, and the export says how many
(the CSV files keep every character as stored).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from calib.files import MAX_WIDTH, neutralize_frame, write_csv
from calib.inputs.contract import CONTRACT, parse
from calib.inputs.load import read_table
from calib.inputs.ratings import canonical_labels
from calib.sessions.errors import SessionError
from calib.sessions.events import Event, log_frame, utc_now
from calib.sessions.keys import session_mode
from calib.sessions.table import people_table
from calib.sessions.text import cell_text

if TYPE_CHECKING:
    from calib.sessions.session import CalibrationSession

CALIBRATED, POTENTIAL = "calibrated_rating", "potential"
HEAD_COLUMNS = ["cycle", "session", "status", "events", "head_hash", "head", "hashing", "exported_at"]


@dataclass(frozen=True)
class Exported:
    """What an export wrote: its files, the log's head (`COUNT:HASH`), notes on cells XLSX could not hold as stored."""

    paths: list[Path]
    head: str
    notes: list[str]


@dataclass(frozen=True)
class Difference:
    """One value of the export that differs from the reviews input (None: the input's cell was blank)."""

    employee_id: str
    column: str  # calibrated_rating or potential (the canonical name)
    before: str | None
    after: str | None

    def __str__(self) -> str:
        return f"{self.employee_id} {self.before if self.before is not None else '(blank)'} -> {self.after}"


@dataclass(frozen=True)
class HandBack:
    """The export: the reviews (input headers), the log, and what differs from the input."""

    reviews: pd.DataFrame
    log: pd.DataFrame
    people: int  # reviews of the cycle whose person is in the session
    differences: tuple[Difference, ...]
    events: tuple[Event, ...]  # the log they were made from (its head goes into the export too)

    def changed(self, column: str) -> list[Difference]:
        """Values of `column` the session changed (the input had another value there)."""
        return [d for d in self.differences if d.column == column and d.before is not None]

    def filled(self, column: str) -> list[Difference]:
        """Blank cells of `column` that now hold the value the session kept."""
        return [d for d in self.differences if d.column == column and d.before is None]


def hand_back(session: CalibrationSession, events: Sequence[Event] | None = None) -> HandBack:
    """The reviews input with the session's values written where they differ from it, and the log
    (both from `events`, the session's whole log; None: read it now)."""
    events = tuple(session.events() if events is None else events)
    config = session.config
    spec = config.inputs["reviews"]
    shown = str(spec.path)
    rename = dict(config.columns.get("reviews") or {})
    raw = read_table(
        config.input_path("reviews"),
        display_name=shown,
        rename=rename,
        expected_columns=[c.name for c in CONTRACT["reviews"]],
        sheet=spec.sheet,
    )
    typed, _ = parse(raw[["cycle", "employee_id"]], "reviews", shown)
    table = people_table(session.roster, session.scope, events).set_index("employee_id")
    rows = ((typed["cycle"] == config.cycle) & typed["employee_id"].isin(table.index)).to_numpy()
    out = raw.copy()
    where = out.index[rows]  # the input's own row labels (they need not start at 0)
    ids = pd.Series(typed.loc[rows, "employee_id"].astype(str).to_numpy(), index=where)
    differences: list[Difference] = []
    held = ids.map(table["rating"].astype("object"))
    given = _values(out, CALIBRATED)[rows]
    known = canonical_labels(given.astype("object"), config).where(given.notna(), None)
    write = (known.isna() | (known != held)).to_numpy() & held.notna().to_numpy()
    if write.any():
        if CALIBRATED not in out.columns:
            out[CALIBRATED] = None
        out[CALIBRATED] = out[CALIBRATED].astype("object")
        out.loc[where[write], CALIBRATED] = held[write].to_numpy()
    differences += [
        Difference(i, CALIBRATED, None if pd.isna(b) else str(b), str(a))
        for i, b, a in zip(ids[write], given[write], held[write], strict=True)
    ]
    moved = ids.map(table["potential_changed"]).fillna(False).astype(bool).to_numpy()
    if moved.any():
        if POTENTIAL not in out.columns:
            out[POTENTIAL] = None
        out[POTENTIAL] = out[POTENTIAL].astype("object")
        before = out.loc[where[moved], POTENTIAL]
        after = ids[moved].map(table["potential"].astype("object"))
        out.loc[where[moved], POTENTIAL] = after.to_numpy()
        differences += [
            Difference(i, POTENTIAL, None if pd.isna(b) else str(b), None if pd.isna(a) else str(a))
            for i, b, a in zip(ids[moved], before, after, strict=True)
        ]
    restore = {canonical: vendor.strip() for vendor, canonical in rename.items()}
    out.columns = [restore.get(c, c) for c in out.columns]
    return HandBack(out.reset_index(drop=True), log_frame(events), int(rows.sum()), tuple(differences), events)


def export_frames(
    session: CalibrationSession, events: Sequence[Event] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reviews input with the session's values filled in (input headers), and the log."""
    back = hand_back(session, events)
    return back.reviews, back.log


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column's cells with blanks as NA (an absent column: all blank)."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="object")
    values = frame[column].astype("object")
    return values.where(values.notna() & (values.astype(str).str.strip() != ""), pd.NA)


def head_frame(session: CalibrationSession, events: Sequence[Event]) -> pd.DataFrame:
    """The log's head as one row (HEAD_COLUMNS): `head` is `COUNT:HASH`, as `verify --head` takes it."""
    count = len(events)
    digest = events[-1].hash if events else ""
    key_id = session_mode(events[0].from_value) if events and events[0].kind == "open" else None
    row = {
        "cycle": session.config.cycle,
        "session": session.name,
        "status": "locked" if any(e.kind == "lock" for e in events) else "open",
        "events": count,
        "head_hash": digest,
        "head": f"{count}:{digest}",
        "hashing": "SHA-256 without a key" if key_id is None else f"HMAC-SHA256 with the key id {key_id}",
        "exported_at": utc_now(),
    }
    return pd.DataFrame([row], columns=HEAD_COLUMNS)


def write_export(session: CalibrationSession, out: Path, back: HandBack | None = None) -> Exported:
    """Write `out` (.csv: plus `STEM-log.csv` and `STEM-head.csv` beside it; .xlsx: sheets `reviews`,
    `log` and `head`), all from one read of the log (`back`'s, when given)."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise SessionError(f"export to {out}: expected a file ending in .csv or .xlsx")
    back = back or hand_back(session)
    head = head_frame(session, back.events)
    shown = str(head.loc[0, "head"])
    if suffix == ".csv":
        paths = [out.with_name(f"{out.stem}-{part}.csv") for part in ("log", "head")]
        written = [write_csv(back.reviews, out), write_csv(back.log, paths[0]), write_csv(head, paths[1])]
        return Exported(written, shown, [])
    notes = write_workbook({"reviews": back.reviews, "log": back.log, "head": head}, out)
    return Exported([out], shown, notes)


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> list[str]:
    """An .xlsx with one sheet per frame: text neutralized and stored as strings (never formulas).

    The same rules as calib.files.write_xlsx, for several sheets; written atomically. Returns one
    note per sheet whose cells had to be escaped or cut (calib.sessions.text.cell_text).
    """
    book = openpyxl.Workbook(write_only=True)  # streams rows: a 10,000-event log stays quick
    bold = Font(bold=True)
    notes = []
    for title, frame in sheets.items():
        safe = neutralize_frame(frame)
        ws = book.create_sheet(title[:31])
        ws.freeze_panes = "A2"
        for index, column in enumerate(safe.columns, 1):
            longest = max([len(str(column)), *(len(str(v)) for v in safe[column].head(500) if _cell(v) is not None)])
            ws.column_dimensions[get_column_letter(index)].width = min(longest + 2, MAX_WIDTH)
        counts = [0, 0]  # cells escaped, cells cut
        ws.append([_text_cell(ws, str(c), counts, bold) for c in safe.columns])
        for row in safe.itertuples(index=False):
            ws.append([_text_cell(ws, v, counts) if isinstance(v, str) else _cell(v) for v in row])
        notes += _notes(title, path, *counts)
    buffer = io.BytesIO()
    book.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as target:
            target.write(buffer.getvalue())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return notes


def _notes(sheet: str, path: Path, escaped: int, cut: int) -> list[str]:
    notes = []
    if escaped:
        notes.append(
            f"{path}: {escaped} cell(s) of the sheet {sheet} held control characters XLSX cannot store: written "
            "escaped (\\x0b); the CSV export keeps them as stored"
        )
    if cut:
        notes.append(
            f"{path}: {cut} cell(s) of the sheet {sheet} were longer than Excel's 32,767 characters: cut there, "
            "with a marker saying so; the CSV export keeps them whole"
        )
    return notes


def _text_cell(ws, value: str, counts: list[int], font: Font | None = None) -> WriteOnlyCell:
    value, escaped, cut = cell_text(value)
    counts[0] += escaped
    counts[1] += cut
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"  # never a formula, whatever the text looks like
    if font is not None:
        cell.font = font
    return cell


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return (value.tz_localize(None) if value.tzinfo else value).to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool | dt.date):
        return value
    return str(value)
