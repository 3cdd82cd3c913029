"""Reading CSV, Excel and Parquet exports, and the config."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from calib.errors import ConfigError, InputError
from calib.inputs.config import load_config
from calib.inputs.load import read_table


def read(path: Path, **kwargs) -> pd.DataFrame:
    return read_table(path, display_name=path.name, **kwargs)


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_csv_separators(tmp_path, separator):
    path = tmp_path / "x.csv"
    path.write_text(
        separator.join(["id", "name"]) + "\n" + separator.join(["1", "Ann; Lee" if separator != ";" else "Ann"]) + "\n"
    )
    frame = read(path)
    assert frame.columns.tolist() == ["id", "name"] and frame.loc[2, "id"] == "1"


def test_ids_keep_leading_zeros_and_blank_cells_are_missing(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,name\n007, Ann \n008,\n")
    frame = read(path)
    assert frame["id"].tolist() == ["007", "008"]
    assert frame.loc[2, "name"] == "Ann" and pd.isna(frame.loc[3, "name"])


def test_excel_header_below_a_title_block(tmp_path):
    path = tmp_path / "people.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["People export, generated 2026-07-01"])
    sheet.append([])
    sheet.append(["Employee ID", "name", "hire_date"])
    sheet.append([1001, "Ann", pd.Timestamp("2024-02-01").to_pydatetime()])
    sheet.append(["E2", "Bo", None])
    book.save(path)
    frame = read(path, rename={"Employee ID": "employee_id"}, expected_columns=["employee_id", "name", "hire_date"])
    assert frame.columns.tolist() == ["employee_id", "name", "hire_date"]
    assert frame.index.tolist() == [4, 5]  # the sheet's own row numbers
    assert frame.loc[4, "employee_id"] == "1001" and frame.loc[4, "hire_date"].startswith("2024-02-01")


def test_excel_sheet_by_name_and_unknown_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="Summary", index=False)
        pd.DataFrame({"id": ["x"]}).to_excel(writer, sheet_name="Data", index=False)
    assert read(path, sheet="Data")["id"].tolist() == ["x"]
    with pytest.raises(InputError) as caught:
        read(path, sheet="Nope")
    assert caught.value.problems[0].value == "Nope"


def test_parquet_keeps_types(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"id": ["a"], "n": [3.5]}).to_parquet(path)
    frame = read(path)
    assert frame.loc[2, "n"] == 3.5


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("x.csv", b"", "header row"),
        ("x.csv", b"\xef\xbb\xbf\r\n", "header row"),
        ("x.json", b"{}", "one of"),
        ("x.csv", b"a,b\n1,2\n3,4,5\n", "2 fields like the header"),
        ("x.csv", b"a,b\n\xff\xfe,1\n", "UTF-8"),
        ("x.xlsx", b"not a workbook", "readable .xlsx"),
    ],
)
def test_unreadable_files_say_why(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read(path)
    problem = caught.value.problems[0]
    assert problem.file == name and expected in problem.expected


def test_malformed_row_is_named_by_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.problems[0].row == 3


def test_config_paths_are_relative_to_its_folder(tmp_path, tiny_cycle):
    config = load_config(tiny_cycle())
    assert config.input_path("people") == (tmp_path / "people.csv").resolve()
    assert config.window.id == "2026-H1" and config.rating_labels[0] == "Does not meet"


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        (lambda t: t.replace("cycle: 2026-H1\n", "cycle: 2027-H1\n", 1), None, "one of the cycles listed"),
        (lambda t: t.replace("  reviews: reviews.csv\n", ""), "inputs", "reviews"),
        (lambda t: t + "colums: {}\n", "colums", "no such key"),
        (lambda t: t.replace("min_group_size: 5", "min_group_size: zero"), "min_group_size", "integer"),
        (lambda t: t.replace("end: 2025-12-31", "end: 2025-01-31"), "cycles.0", "on or after the start"),
        (lambda t: t + "inputs: [\n", None, "valid YAML"),
        (
            lambda t: t.replace("  people: people.csv", "  people: {path: people.csv, service: api-svc}"),
            "inputs.people.service",
            "service only on deployments, incidents, slos",
        ),
    ],
)
def test_config_mistakes_name_the_key(tiny_cycle, edit, key, expected):
    with pytest.raises(ConfigError) as caught:
        load_config(tiny_cycle(config=edit))
    problem = caught.value.problems[0]
    assert problem.file.endswith("cycle.yml") and expected in problem.expected
    if key:
        assert problem.column == key


# -- encodings: a CSV must be UTF-8; anything else fails with its row, the encoding and the fix ---------

PEOPLE = "employee_id,name,manager_id\nE1,Ada Top,\nE2,José Müller,E1\nE3,Cy Dev,E2\n"


@pytest.mark.parametrize(
    ("encoding", "row", "found"),
    [
        ("cp1252", 3, "cp1252"),  # Excel's "CSV (Comma delimited)" on a Western European Windows
        ("utf-16", 1, "utf_16"),  # Excel's "Unicode Text"
    ],
)
def test_a_csv_that_is_not_utf8_fails_naming_row_encoding_and_fix(tmp_path, encoding, row, found):
    path = tmp_path / "people.csv"
    path.write_bytes(PEOPLE.encode(encoding))
    with pytest.raises(InputError) as caught:
        read(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == ("people.csv", row, None, None)
    assert problem.expected.startswith("UTF-8 text, but it looks like ") and found in problem.expected
    assert 'save it as UTF-8 and load it again (Excel: File > Save As > "CSV UTF-8 (Comma delimited)"' in (
        problem.expected
    )
    assert "\n" not in str(problem)  # one line
    assert path.read_bytes() == PEOPLE.encode(encoding)  # never rewritten
    path.write_text(PEOPLE, encoding="utf-8")
    assert read(path).loc[3, "name"] == "José Müller"


def test_a_byte_that_is_not_utf8_far_into_the_file_is_found_at_its_row(tmp_path):
    path = tmp_path / "big.csv"
    rows = [f"E{i},Person {i}" for i in range(5000)]  # about 80 KB: past the sample read first
    rows[4200] = "E4200,Zoë Ünal"
    path.write_bytes(("id,name\n" + "\n".join(rows) + "\n").encode("cp1252"))
    with pytest.raises(InputError) as caught:
        read(path)
    (problem,) = caught.value.problems
    assert problem.row == 4202 and "UTF-8 text, but it looks like" in problem.expected
