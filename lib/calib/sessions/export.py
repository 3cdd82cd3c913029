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
file beside the first (`NAME-log.csv`). Files are written to a temporary name and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
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

if TYPE_CHECKING:
    from calib.sessions.session import CalibrationSession

CALIBRATED, POTENTIAL = "calibrated_rating", "potential"


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

    def changed(self, column: str) -> list[Difference]:
        """Values of `column` the session changed (the input had another value there)."""
        return [d for d in self.differences if d.column == column and d.before is not None]

    def filled(self, column: str) -> list[Difference]:
        """Blank cells of `column` that now hold the value the session kept."""
        return [d for d in self.differences if d.column == column and d.before is None]


def hand_back(session: CalibrationSession) -> HandBack:
    """The reviews input with the session's values written where they differ from it, and the log."""
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
    table = session.table().set_index("employee_id")
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
    return HandBack(out.reset_index(drop=True), session.log(), int(rows.sum()), tuple(differences))


def export_frames(session: CalibrationSession) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reviews input with the session's values filled in (input headers), and the log."""
    back = hand_back(session)
    return back.reviews, back.log


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column's cells with blanks as NA (an absent column: all blank)."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="object")
    values = frame[column].astype("object")
    return values.where(values.notna() & (values.astype(str).str.strip() != ""), pd.NA)


def write_export(session: CalibrationSession, out: Path, back: HandBack | None = None) -> list[Path]:
    """Write `out` (.csv: plus `STEM-log.csv` beside it; .xlsx: sheets `reviews` and `log`)."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise SessionError(f"export to {out}: expected a file ending in .csv or .xlsx")
    back = back or hand_back(session)
    if suffix == ".csv":
        log_path = out.with_name(f"{out.stem}-log.csv")
        return [write_csv(back.reviews, out), write_csv(back.log, log_path)]
    write_workbook({"reviews": back.reviews, "log": back.log}, out)
    return [out]


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """An .xlsx with one sheet per frame: text neutralized and stored as strings (never formulas).

    The same rules as calib.files.write_xlsx, for several sheets; written atomically.
    """
    book = openpyxl.Workbook(write_only=True)  # streams rows: a 10,000-event log stays quick
    bold = Font(bold=True)
    for title, frame in sheets.items():
        safe = neutralize_frame(frame)
        ws = book.create_sheet(title[:31])
        ws.freeze_panes = "A2"
        for index, column in enumerate(safe.columns, 1):
            longest = max([len(str(column)), *(len(str(v)) for v in safe[column].head(500) if _cell(v) is not None)])
            ws.column_dimensions[get_column_letter(index)].width = min(longest + 2, MAX_WIDTH)
        ws.append([_text_cell(ws, str(c), bold) for c in safe.columns])
        for row in safe.itertuples(index=False):
            ws.append([_text_cell(ws, v) if isinstance(v, str) else _cell(v) for v in row])
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
    return path


def _text_cell(ws, value: str, font: Font | None = None) -> WriteOnlyCell:
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
