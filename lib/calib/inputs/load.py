"""Read one input file into a DataFrame of text, indexed by the row a person sees.

CSV (any of , ; tab | as separator, with or without a UTF-8 BOM, Unix or Windows line
endings), Excel .xlsx (the header may sit below a title block) and Parquet are accepted.
Vendor headers are renamed to canonical ones by the config's `columns:` mapping.
Files are only ever opened for reading.

A CSV must be UTF-8. One that is not (Excel on Windows saves "CSV (Comma delimited)" in the
system's code page, e.g. cp1252) fails with one line naming the file, the row of the first
byte that is not UTF-8, the encoding charset-normalizer finds and how to save the file as
UTF-8. It is not decoded with that guess: on short files the guess is often wrong in ways that
still read as text (a cp1252 "José Müller" comes out as cp775 "Josķ M³ller"; a cp1252
"Élodie Lefèvre" as cp1250), and review data goes on to be shown to people by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
from charset_normalizer import from_bytes

from calib.errors import InputError, Problem

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SEPARATORS = [",", ";", "\t", "|"]
HEADER_SEARCH_ROWS = 30  # an Excel header below this many rows of title block is not looked for
# What spreadsheets and editors write when they do not write UTF-8: the Windows and Mac code pages,
# UTF-16/32 (Excel's "Unicode Text") and Latin-1. Left to all its code pages, charset-normalizer
# names DOS and Baltic ones for short Western European files.
SAVED_ENCODINGS = [
    "utf_16", "utf_32", "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
    "cp1258", "cp874", "cp932", "cp936", "cp949", "cp950", "gb18030", "mac_roman", "latin_1", "iso8859_15",
]  # fmt: skip
SAVE_AS_UTF8 = (
    'save it as UTF-8 and load it again (Excel: File > Save As > "CSV UTF-8 (Comma delimited)"; '
    'LibreOffice: Save As > Text CSV, character set "Unicode (UTF-8)"; an editor: save with encoding UTF-8)'
)


def read_table(
    path: Path,
    *,
    display_name: str,
    rename: Mapping[str, str] | None = None,
    expected_columns: Iterable[str] = (),
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a table, keeping every value.

    Parameters
    ----------
    path
        The file to read.
    display_name
        How messages name the file (usually its path as written in the config).
    rename
        Vendor header -> canonical column name.
    expected_columns
        Canonical columns the input should have; used to find an Excel header row.
    sheet
        Excel sheet name or 0-based position (default: the first sheet).

    Returns
    -------
    pandas.DataFrame
        Text columns from CSV and Excel (Parquet keeps its types), headers stripped and
        renamed, indexed by source row number (header = row 1). Empty cells are missing.

    Raises
    ------
    InputError
        When the file is missing, empty, unreadable or of an unknown kind.
    """
    rename = dict(rename or {})
    if not path.is_file():
        raise InputError([Problem(display_name, None, None, None, "an existing file")])
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        frame = _read_csv(path, display_name)
    elif suffix in EXCEL_SUFFIXES:
        frame = _read_excel(path, display_name, rename, set(expected_columns), sheet)
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(path, display_name)
    else:
        kinds = ", ".join(sorted(CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES))
        raise InputError([Problem(display_name, None, None, suffix, f"one of {kinds}")])
    frame.columns = [_clean_header(c) for c in frame.columns]
    frame = frame.rename(columns={_clean_header(k): v for k, v in rename.items()})
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise InputError([Problem(display_name, 1, c, c, "each column once (after renaming)") for c in duplicated])
    if frame.empty:
        raise InputError([Problem(display_name, None, None, None, "a header row and at least one data row")])
    return frame


def _clean_header(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def csv_header(path: Path, name: str) -> tuple[str, str]:
    """A CSV file's separator and header line, from its first 64 KiB.

    Raises
    ------
    InputError
        The file is not UTF-8 text, or it is empty.
    """
    with path.open("rb") as handle:
        head = handle.read(65536)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(exc.object) - 4:  # not merely a character cut by the sample's end
            raise not_utf8(path, name) from None
        text = exc.object[: exc.start].decode("utf-8")
    if not text.strip():
        raise InputError([Problem(name, None, None, None, "a header row and at least one data row")])
    header = text.lstrip().splitlines()[0]
    return max(SEPARATORS, key=header.count), header


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    separator, _ = csv_header(path, name)
    options = dict(sep=separator, dtype=str, keep_default_na=False, na_values=[""])
    try:
        frame = pd.read_csv(path, engine="pyarrow", **options)
    except (pa.ArrowInvalid, ValueError, UnicodeDecodeError):
        frame = _read_csv_slowly(path, name, options)
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return _strip_text(frame)


def _read_csv_slowly(path: Path, name: str, options: dict) -> pd.DataFrame:
    """The C parser names the line of a malformed row where Arrow only says something failed."""
    try:
        return pd.read_csv(path, engine="c", skip_blank_lines=True, **options)
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            want, line, saw = match.groups()
            problem = Problem(name, int(line), None, f"{saw} fields", f"{want} fields like the header")
        else:
            problem = Problem(name, None, None, None, f"a well-formed CSV file ({exc})")
        raise InputError([problem]) from None
    except UnicodeDecodeError:
        raise not_utf8(path, name) from None


def not_utf8(path: Path, name: str) -> InputError:
    """The error for a CSV that is not UTF-8: its row, the encoding it looks like, how to fix it.

    Parameters
    ----------
    path
        The file (read again, whole: this is the error path).
    name
        How messages name the file.
    """
    raw = path.read_bytes()
    try:
        raw.decode("utf-8-sig")
        row = None
    except UnicodeDecodeError as exc:
        row = exc.object[: exc.start].count(b"\n") + 1
    match = from_bytes(raw, cp_isolation=SAVED_ENCODINGS).best()
    if match is None:
        found = "it is not UTF-8, nor text in another encoding charset-normalizer knows (is it a CSV file?)"
    else:
        alike = list(dict.fromkeys([match.encoding, *match.could_be_from_charset]))[:4]
        found = f"it looks like {alike[0]}"
        if len(alike) > 1:
            found = f"it looks like one of {', '.join(alike)} (they read its bytes alike)"
    return InputError([Problem(name, row, None, None, f"UTF-8 text, but {found}: {SAVE_AS_UTF8}")])


def _read_excel(
    path: Path, name: str, rename: dict[str, str], expected: set[str], sheet: str | int | None
) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise InputError([Problem(name, None, None, None, f"a readable .xlsx workbook ({exc})")]) from None
    if sheet is not None and sheet not in book.sheet_names and not isinstance(sheet, int):
        raise InputError([Problem(name, None, None, str(sheet), f"a sheet named one of {book.sheet_names}")])
    try:
        grid = pd.read_excel(book, sheet_name=0 if sheet is None else sheet, header=None, dtype=object)
    except Exception as exc:
        raise InputError([Problem(name, None, None, None, f"a readable .xlsx workbook ({exc})")]) from None
    grid = grid.dropna(how="all", axis=1)
    if grid.dropna(how="all").empty:
        raise InputError([Problem(name, None, None, None, "a header row and at least one data row")])
    header_at = _find_header(grid, rename, expected)
    frame = grid.iloc[header_at + 1 :].copy()
    frame.columns = [_clean_header(c) for c in grid.iloc[header_at]]
    frame = frame.loc[:, [c not in ("", "nan") for c in frame.columns]]
    frame.index = frame.index + 1  # 0-based grid position -> sheet row number
    frame = frame.dropna(how="all")
    return _strip_text(frame.map(_excel_text).astype("str").where(frame.notna()))


def _find_header(grid: pd.DataFrame, rename: dict[str, str], expected: set[str]) -> int:
    """The first row naming the most expected columns; else the first non-empty row."""
    names = {_clean_header(k): v for k, v in rename.items()}
    best, best_hits = None, 0
    for position in range(min(HEADER_SEARCH_ROWS, len(grid))):
        cells = {names.get(_clean_header(c), _clean_header(c)) for c in grid.iloc[position].dropna()}
        hits = len(cells & expected)
        if hits > best_hits:
            best, best_hits = position, hits
    if best is not None:
        return best
    return int(grid.notna().any(axis=1).to_numpy().argmax())


def _excel_text(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _read_parquet(path: Path, name: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many kinds for a damaged file
        raise InputError([Problem(name, None, None, None, f"a readable Parquet file ({exc})")]) from None
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _strip_text(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]):
            stripped = frame[column].str.strip()
            frame[column] = stripped.where(stripped != "")
    return frame
