"""Writing files safely: nothing half-written is ever seen, no spreadsheet cell runs a formula.

**Atomic.** Text and folders are written to a temporary file or folder beside the target, then
renamed over it, so a reader sees the old version or the new one, never a mix.

**Formula-safe.** Spreadsheet exports (CSV and XLSX) that cannot run formulas when opened.

A cell whose text starts with `=`, `+`, `-` or `@` is read as a formula by Excel, LibreOffice and
Google Sheets (CSV or formula injection: `=HYPERLINK(...)` can leak data, `=cmd|...` once ran
programs). Following OWASP's guidance, every text cell that starts with one of those characters,
a tab or a carriage return gets a leading apostrophe, which spreadsheets read as "this is text";
the same applies to column headers. Numbers, booleans and dates stay typed: they cannot carry a
formula. The XLSX writer also stores every text cell as a string, never as a formula.
Reference: https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

SOURCE_TREE = Path(__file__).resolve().parents[2]  # the checkout: an editable install (see README)
NOTEBOOKS = SOURCE_TREE / "notebooks"
SAMPLE_DIR = SOURCE_TREE / "data_samples"
FLOAT_FORMAT = "%.6g"  # CSVs round to 6 significant digits, so reruns are byte-identical


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def csv_text(frame: pd.DataFrame) -> str:
    """A frame as CSV text with rounded floats and Unix line endings."""
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def staging_dir(target: Path) -> Path:
    """A new empty folder beside `target` to build it in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def replace_dir(staged: Path, target: Path) -> None:
    """Swap a fully written folder into place; the old one is removed only after the swap."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60  # characters: wider columns wrap in the XLSX


def neutralize(value: object) -> object:
    """A text value that cannot start a formula (a leading apostrophe when needed); others unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell and header neutralized; numeric columns untouched."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        out[column] = values.astype("object").map(neutralize, na_action="ignore")
    out.columns = [neutralize(str(c)) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` as UTF-8 CSV for spreadsheets, text neutralized, atomically.

    Line ends are RFC 4180's CRLF: Python 3.11's csv writer quotes a cell holding a line break
    only when the break is part of the line terminator, and a bare CR in an unquoted cell would
    split the row. Floats are written as calib.files writes them (6 significant digits).
    """
    text = neutralize_frame(frame).to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\r\n")
    _write_bytes_atomic(Path(path), text.encode("utf-8"))
    return Path(path)


def write_xlsx(frame: pd.DataFrame, path: Path, *, sheet: str = "table") -> Path:
    """Write `frame` as one XLSX sheet: text neutralized and stored as strings, numbers as numbers.

    The header row is frozen and bold; columns are sized to their content (at most MAX_WIDTH).
    Written to a temporary file beside `path`, then renamed over it.
    """
    safe = neutralize_frame(frame)
    import openpyxl  # only here: the analysis and dashboard never write XLSX
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append([str(c) for c in safe.columns])
    for row in safe.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever openpyxl guessed
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for index, column in enumerate(safe.columns, 1):
        longest = max([len(str(column)), *(len(str(v)) for v in safe[column].head(500) if _present(v))])
        ws.column_dimensions[get_column_letter(index)].width = min(longest + 2, MAX_WIDTH)
    buffer = io.BytesIO()
    book.save(buffer)
    _write_bytes_atomic(Path(path), buffer.getvalue())
    return Path(path)


def write_table(frame: pd.DataFrame, out_dir: Path, stem: str, *, sheet: str | None = None) -> list[Path]:
    """`stem.csv` and `stem.xlsx` in `out_dir`, both neutralized."""
    out_dir = Path(out_dir)
    return [write_csv(frame, out_dir / f"{stem}.csv"), write_xlsx(frame, out_dir / f"{stem}.xlsx", sheet=sheet or stem)]


def _present(value: object) -> bool:
    return not (value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT)


def _cell(value: object) -> object:
    """A value openpyxl can store: missing -> empty, numpy scalars -> Python, timestamps -> datetimes."""
    if not _present(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.tz_localize(None) if value.tzinfo else value
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool | dt.date):
        return value
    return neutralize(str(value))


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
