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

A header that names a column twice is an error (pandas would silently read the second as
`name.1`, DuckDB as `name_1`), and so is a line longer than `LINE_LIMIT`: such a file is not a
table (a 200 MB file with no line break once took 10 s and 900 MB before anything was said), so
it is found by reading at most that much at a time. A workbook, a Parquet file or a zip archive
named .csv is named for what it is.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from charset_normalizer import from_bytes
from openpyxl.utils import get_column_letter

from calib.errors import InputError, Problem

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SEPARATORS = [",", ";", "\t", "|"]
LINE_LIMIT = 2 << 20  # bytes in one line (DuckDB's max_line_size): a longer line is no table row
LINE_LIMIT_SHOWN = "2 MiB"
SAMPLE_BYTES = (
    1 << 20
)  # what charset-normalizer is shown of a file that is not UTF-8 (from its start, and its first bad byte)
BINARY_KINDS = (  # how files that are not text begin, and what they are
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls) or another Office file"),
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"SQLite format 3\x00", "a SQLite database"),
)
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
    if suffix in PARQUET_SUFFIXES:
        parquet_columns_once(path, display_name)
    if suffix in CSV_SUFFIXES:
        frame = _read_csv(path, display_name)
    elif suffix in EXCEL_SUFFIXES:
        frame = _read_excel(path, display_name, rename, set(expected_columns), sheet)
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(path, display_name)
    else:
        kinds = ", ".join(sorted(CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES))
        raise InputError([Problem(display_name, None, None, suffix or None, f"a file name ending in one of {kinds}")])
    written = [_clean_header(c) for c in frame.columns]
    names = {_clean_header(k): v for k, v in rename.items()}
    frame.columns = [names.get(c, c) for c in written]
    problems = [
        Problem(
            display_name,
            frame.attrs.get("header_row", 1),
            c,
            None,
            f"each column once, but the config's columns: renames {_onto(found, c)}",
        )
        for c, found in _repeated(list(frame.columns), written).items()
    ]
    if problems:
        raise InputError(problems)
    if frame.empty:
        raise InputError(
            [Problem(display_name, None, None, None, "a header row and at least one data row, but it has no data row")]
        )
    return frame


def _repeated(names: Sequence[str], places: Sequence[str]) -> dict[str, list[str]]:
    """Each name given more than once (empty names aside), with the places it is given at."""
    seen: dict[str, list[str]] = {}
    for name, place in zip(names, places, strict=True):
        if name:
            seen.setdefault(name, []).append(place)
    return {name: found for name, found in seen.items() if len(found) > 1}


def columns_once(names: Sequence[str], places: Sequence[str], file: str, row: int = 1) -> None:
    """Raise when a header names a column twice, naming the column and where it is given.

    Parameters
    ----------
    names
        The header's column names, cleaned as `read_table` cleans them.
    places
        How a person finds each column: its number (CSV, Parquet) or letter (Excel).
    file
        How messages name the file.
    row
        The header's row (an Excel header may sit below a title block).
    """
    problems = [
        Problem(file, row, name, None, f"each column once in the header, but columns {_and(found, name)}")
        for name, found in _repeated(names, places).items()
    ]
    if problems:
        raise InputError(problems)


def _and(items: Sequence[str], name: str) -> str:
    """'B and G are both named team', 'A, C and F are all named team'."""
    return f"{_listed(items)} are {'both' if len(items) == 2 else 'all'} named {name}"


def _onto(found: Sequence[str], name: str) -> str:
    """'Team ID to team, a column the header already has', 'Squad and Team both to team'."""
    renamed = [f for f in found if f != name]
    if len(renamed) < len(found):
        return f"{_listed(renamed)} to {name}, a column the header already has"
    return f"{_listed(renamed)} {'both' if len(renamed) == 2 else 'all'} to {name}"


def _listed(items: Sequence[str]) -> str:
    return " and ".join(items) if len(items) < 3 else f"{', '.join(items[:-1])} and {items[-1]}"


def parquet_columns_once(path: Path, file: str) -> None:
    """Raise when a Parquet file (or a file of a folder or glob of them) names a column twice.

    Only the files' footers are read; other paths are left alone, and so is a file that is not
    Parquet (the reader says so, naming it).
    """
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
    elif "*" in path.name:
        files = sorted(path.parent.glob(path.name))
    else:
        files = [path] if path.suffix.lower() in PARQUET_SUFFIXES else []
    for each in files:
        try:
            names = [_clean_header(n) for n in pq.read_schema(each).names]
        except Exception:  # not Parquet: the reader says so, naming the file
            continue
        columns_once(
            names, [str(i) for i in range(1, len(names) + 1)], file if each == path else f"{file} ({each.name})"
        )


def _clean_header(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def csv_header(path: Path, name: str) -> tuple[str, str]:
    """A CSV file's separator and header line, reading at most `LINE_LIMIT` bytes.

    Raises
    ------
    InputError
        The file is not text (a workbook, an archive, ...) or not UTF-8, it is empty, its first
        line runs past `LINE_LIMIT`, or its header names a column twice.
    """
    with path.open("rb") as handle:
        head = handle.read(65536)
        _text_file(head, name)
        while not _line_break(head) and len(head) <= LINE_LIMIT:
            more = handle.read(LINE_LIMIT + 1 - len(head))
            if not more:
                break
            head += more
    if not _line_break(head) and len(head) > LINE_LIMIT:
        raise InputError([_long_line(name, 1)])
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(exc.object) - 4:  # not merely a character cut by the sample's end
            raise not_utf8(path, name) from None
        text = exc.object[: exc.start].decode("utf-8")
    if not text.strip():
        raise InputError(
            [Problem(name, None, None, None, "a header row and at least one data row, but the file is empty")]
        )
    header = text.lstrip().splitlines()[0]
    separator = max(SEPARATORS, key=header.count)
    names = [_clean_header(n) for n in next(csv.reader([header], delimiter=separator))]
    columns_once(names, [str(i) for i in range(1, len(names) + 1)], name)
    return separator, header


def _line_break(head: bytes) -> bool:
    """Whether a line ends in `head` after its leading blank lines (which the header search skips)."""
    text = head.lstrip()
    return b"\n" in text or b"\r" in text


def _long_line(name: str, row: int) -> Problem:
    expected = (
        f"rows of at most {LINE_LIMIT_SHOWN}, but this one runs on past {LINE_LIMIT_SHOWN} without a line break "
        "(is it a CSV file?)"
    )
    return Problem(name, row, None, None, expected)


def _text_file(head: bytes, name: str) -> None:
    """Raise when a file's first bytes say it is not text: a workbook, Parquet, an archive, ..."""
    for magic, kind in BINARY_KINDS:
        if head.startswith(magic):
            raise InputError(
                [Problem(name, None, None, None, f"CSV text, but it is {kind}: is it the file you meant?")]
            )


def _longest_line_within_limit(path: Path, name: str) -> None:
    """Raise at the first line longer than `LINE_LIMIT`, reading `LINE_LIMIT` bytes at a time.

    A line longer than a block spans blocks: its length is the tail of one block after its last
    line break, the blocks without one, and the head of the next before its first.
    """
    if path.stat().st_size <= LINE_LIMIT:
        return
    rows, run, cr = 0, 0, False  # line breaks before this block; bytes since the last; a \r ended the last block
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(LINE_LIMIT), b""):
            if cr and block.startswith(b"\n"):  # the \n of a \r\n cut by the blocks' edge
                block = block[1:]
            cr = block.endswith(b"\r")
            if b"\r" in block:  # Windows and old Mac line endings
                block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            first = block.find(b"\n")
            if run + (len(block) if first < 0 else first) > LINE_LIMIT:
                raise InputError([_long_line(name, rows + 1)])
            if first >= 0:
                rows += block.count(b"\n")
                run = len(block) - block.rfind(b"\n") - 1
            else:
                run += len(block)


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    separator, _ = csv_header(path, name)
    _longest_line_within_limit(path, name)
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

    The file is read a block at a time up to its first byte that is not UTF-8; charset-normalizer
    is shown its start and the bytes from there (`SAMPLE_BYTES` of each), not the whole file.

    Parameters
    ----------
    path
        The file.
    name
        How messages name the file.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    row, read, bad = 1, 0, None
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(SAMPLE_BYTES), b""):
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the last block's end
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                at = max(exc.start - pending, 0)
                row, bad = row + block[:at].count(b"\n"), read + at
                break
            row, read = row + block.count(b"\n"), read + len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad = read if bad is None else bad
        handle.seek(0)
        sample = handle.read(SAMPLE_BYTES)
        if bad is not None and bad >= SAMPLE_BYTES:
            handle.seek(bad)
            sample += handle.read(SAMPLE_BYTES)
    match = from_bytes(sample, cp_isolation=SAVED_ENCODINGS).best()
    if match is None:
        found = "it is not text in any encoding charset-normalizer knows: is it a CSV file, the file you meant?"
        return InputError([Problem(name, row if bad is not None else None, None, None, f"UTF-8 text, but {found}")])
    alike = list(dict.fromkeys([match.encoding, *match.could_be_from_charset]))[:4]
    found = f"it looks like {alike[0]}"
    if len(alike) > 1:
        found = f"it looks like one of {', '.join(alike)} (they read its bytes alike)"
    return InputError(
        [Problem(name, row if bad is not None else None, None, None, f"UTF-8 text, but {found}: {SAVE_AS_UTF8}")]
    )


def _read_excel(
    path: Path, name: str, rename: dict[str, str], expected: set[str], sheet: str | int | None
) -> pd.DataFrame:
    with path.open("rb") as handle:
        start = handle.read(8)
    if not start.startswith(b"PK\x03\x04"):  # an .xlsx workbook is a zip archive
        kind = (
            "an old .xls workbook: save it as .xlsx"
            if start == BINARY_KINDS[1][0]
            else "no workbook (is it a CSV file?)"
        )
        raise InputError([Problem(name, None, None, None, f"a readable .xlsx workbook, but it is {kind}")])
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
        raise InputError(
            [Problem(name, None, None, None, "a header row and at least one data row, but the sheet is empty")]
        )
    header_at = _find_header(grid, rename, expected)
    header = [_clean_header(c) for c in grid.iloc[header_at]]
    kept = [c not in ("", "nan") for c in header]
    frame = grid.iloc[header_at + 1 :].loc[:, kept].copy()
    frame.columns = [c for c, keep in zip(header, kept, strict=True) if keep]
    letters = [get_column_letter(int(c) + 1) for c, keep in zip(grid.columns, kept, strict=True) if keep]
    columns_once(list(frame.columns), letters, name, row=header_at + 1)
    frame.index = frame.index + 1  # 0-based grid position -> sheet row number
    frame = frame.dropna(how="all")
    text = _strip_text(frame.map(_excel_text).astype("str").where(frame.notna()))
    text.attrs["header_row"] = header_at + 1  # for messages about the header
    return text


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
    with path.open("rb") as handle:
        start = handle.read(65536)
    if not start.startswith(b"PAR1"):  # a Parquet file begins (and ends) so
        kind = next((kind for magic, kind in BINARY_KINDS if start.startswith(magic)), None)
        said = f"it is {kind}" if kind else "it is no Parquet file (is it a CSV file?)"
        raise InputError([Problem(name, None, None, None, f"a readable Parquet file, but {said}")])
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many kinds for a damaged file
        said = " ".join(str(exc).split())  # one line
        raise InputError([Problem(name, None, None, None, f"a readable Parquet file ({said})")]) from None
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _strip_text(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]):
            stripped = frame[column].str.strip()
            frame[column] = stripped.where(stripped != "")
    return frame
