"""Reading CSV, Excel and Parquet exports, and the config."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from calib.errors import ConfigError, InputError
from calib.inputs.config import load_config
from calib.inputs.leveling import load_leveling
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


# -- issue 17: every bad input one clear line ------------------------------------------------------


def _one_line(path: Path, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        read(path, **kwargs)
    (problem,) = caught.value.problems
    return str(problem)


def _workbook(path: Path, *rows: list) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_a_column_named_twice_is_an_error_naming_the_column_and_the_file(tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("id,name,team, name\n1,Ann,api,Bo\n")  # pandas read the second as name.1, silently
    assert _one_line(csv) == (
        "error: people.csv, row 1, column name: expected each column once in the header, "
        "but columns 2 and 4 are both named name"
    )
    book = _workbook(tmp_path / "people.xlsx", ["People, July"], [], ["id", "name", None, "team", "name"], [1, "Ann"])
    assert _one_line(book, expected_columns=["id", "name", "team"]) == (
        "error: people.xlsx, row 3, column name: expected each column once in the header, "
        "but columns B and E are both named name"
    )
    parquet = tmp_path / "people.parquet"
    pq.write_table(
        pa.table([pa.array(["1"]), pa.array(["Ann"]), pa.array(["Bo"])], names=["id", "name", "name"]), parquet
    )
    assert _one_line(parquet) == (
        "error: people.parquet, row 1, column name: expected each column once in the header, "
        "but columns 2 and 3 are both named name"
    )


def test_renaming_onto_a_column_the_header_has_is_an_error(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Employee ID,employee_id,Squad,Team\n1,2,a,b\n")
    assert _one_line(path, rename={"Employee ID": "employee_id"}) == (
        "error: people.csv, row 1, column employee_id: expected each column once, but the config's columns: "
        "renames Employee ID to employee_id, a column the header already has"
    )
    assert _one_line(path, rename={"Squad": "team", "Team": "team"}) == (
        "error: people.csv, row 1, column team: expected each column once, but the config's columns: "
        "renames Squad and Team both to team"
    )


LINE_LIMIT = 2 << 20  # calib.inputs.load.LINE_LIMIT: DuckDB's max_line_size
LONG = "expected rows of at most 2 MiB, but this one runs on past 2 MiB without a line break (is it a CSV file?)"


@pytest.mark.parametrize(
    ("content", "row"),
    [
        (b"x" * (LINE_LIMIT + 1), 1),  # no line break at all: today 10 s and 900 MB before a word
        (b"a,b\n1,2\n3,4\n5,6\n" + b"y" * (LINE_LIMIT + 1) + b"\n7,8\n", 5),
        (b"a,b\r\n" + b"1,2\r\n" * 400_000 + b"z" * (LINE_LIMIT + 1), 400_002),  # past the first block
        (b"a,b\r1,2\r" + b"w" * (LINE_LIMIT + 1) + b"\r", 3),  # old Mac line endings
    ],
)
def test_a_line_longer_than_the_limit_is_one_error_naming_its_row(tmp_path, content, row):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    assert _one_line(path) == f"error: x.csv, row {row}: {LONG}"


def test_the_line_limit_is_2_mib_exactly(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n1," + b"y" * (LINE_LIMIT - 2) + b"\n")  # row 2 is 2 MiB long: still read
    assert len(read(path).loc[2, "b"]) == LINE_LIMIT - 2
    path.write_bytes(b"a,b\n1," + b"y" * (LINE_LIMIT - 1) + b"\n")
    assert _one_line(path) == f"error: x.csv, row 2: {LONG}"


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("x.csv", "xlsx", "expected CSV text, but it is an Excel workbook (.xlsx) or another zip archive"),
        ("x.csv", "parquet", "expected CSV text, but it is a Parquet file"),
        ("x.csv", b"\x1f\x8b\x08\x00rest", "expected CSV text, but it is a gzip-compressed file"),
        ("x.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "expected CSV text, but it is a PNG image"),
    ],
)
def test_a_file_that_is_not_text_is_named_for_what_it_is(tmp_path, name, content, said):
    path = tmp_path / name
    if content == "xlsx":
        pd.DataFrame({"a": [1]}).to_excel(path.with_suffix(".xlsx"), index=False)
        path.write_bytes(path.with_suffix(".xlsx").read_bytes())
    elif content == "parquet":
        pd.DataFrame({"a": [1]}).to_parquet(path)
    else:
        path.write_bytes(content)
    assert _one_line(path) == f"error: {name}: {said}: is it the file you meant?"


def test_binary_data_is_not_told_to_be_saved_as_utf8(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(range(128, 256)) * 64)
    assert _one_line(path) == (
        "error: x.csv, row 1: expected UTF-8 text, but it is not text in any encoding charset-normalizer "
        "knows: is it a CSV file, the file you meant?"
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"employee_id,name\nE1,Ann\n", "a readable .xlsx workbook, but it is no workbook (is it a CSV file?)"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
            "a readable .xlsx workbook, but it is an old .xls workbook: save it as .xlsx",
        ),
    ],
)
def test_a_file_named_xlsx_that_is_no_workbook_says_what_it_is(tmp_path, content, said):
    path = tmp_path / "people.xlsx"
    path.write_bytes(content)
    assert _one_line(path) == f"error: people.xlsx: expected {said}"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "but the file is empty"),
        (b"\n \n", "but the file is empty"),
        (b"employee_id,name\n", "but it has no data row"),
    ],
)
def test_an_empty_file_and_a_header_alone_say_which(tmp_path, content, said):
    path = tmp_path / "people.csv"
    path.write_bytes(content)
    assert _one_line(path) == f"error: people.csv: expected a header row and at least one data row, {said}"


def test_an_unknown_kind_of_file_names_the_endings_read(tmp_path):
    (tmp_path / "people").write_text("a\n1\n")
    assert _one_line(tmp_path / "people") == (
        "error: people: expected a file name ending in one of .csv, .parquet, .pq, .tsv, .txt, .xlsm, .xlsx"
    )


def test_a_non_utf8_file_is_read_a_block_at_a_time(tmp_path):
    path = tmp_path / "big.csv"
    rows = [f"E{i},Person {i}" for i in range(400_000)]  # about 7 MB: several blocks
    rows[300_000] = "E300000,Zoë Ünal"
    path.write_bytes(("id,name\n" + "\n".join(rows) + "\n").encode("cp1252"))
    with pytest.raises(InputError) as caught:
        read(path)
    (problem,) = caught.value.problems
    assert (
        problem.row == 300_002 and "UTF-8 text, but it looks like" in problem.expected and "cp1252" in problem.expected
    )


# -- the config: a folder, a typo, something that is not a config ---------------------------------------


def _config_line(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    return str(problem)


def test_a_config_path_that_is_a_folder_or_missing_is_one_line(tmp_path, tiny_cycle):
    config = tiny_cycle()
    assert _config_line(tmp_path) == (
        f"error: {tmp_path}: expected a cycle config file (YAML), but it is a folder (did you mean {config}?)"
    )
    assert _config_line(tmp_path / "cycel.yml") == (
        f"error: {tmp_path / 'cycel.yml'}: expected a cycle config file (YAML), but there is no such file "
        f"(did you mean {config}?)"
    )
    assert _config_line(tmp_path / "nowhere" / "cycle.yml") == (
        f"error: {tmp_path / 'nowhere' / 'cycle.yml'}: expected a cycle config file (YAML), but there is no such "
        f"file (nor a folder {tmp_path / 'nowhere'})"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "expected a mapping of keys (cycle, inputs, ...), but it holds nothing (the file is empty)"),
        ("- people.csv\n", "expected a mapping of keys (cycle, inputs, ...), but it holds a list"),
        (
            "employee_id,name\n",
            "expected a mapping of keys (cycle, inputs, ...), but it holds a line of text (is it a YAML file?)",
        ),
        (
            "cycle: 2026-H1\n\tinputs: {}\n",
            "row 2: expected valid YAML (while scanning for the next token: found character '\\t' that cannot "
            "start any token at column 1; indent with spaces, not tabs)",
        ),
        (
            b"\xff\xfe\x00binary",
            "row 1: expected a cycle config file (YAML), but it is not UTF-8 text (is it a YAML file?)",
        ),
    ],
)
def test_a_config_that_is_not_one_says_what_it_holds_in_one_line(tmp_path, text, said):
    path = tmp_path / "cycle.yml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    line = _config_line(path)
    assert line == f"error: {path}{',' if said.startswith('row') else ':'} {said}"


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (
            lambda t: t.replace("  people: people.csv", "  peple: people.csv"),
            "key inputs.peple: value 'peple': expected an input name: one of people, reviews, criteria_scores, "
            "evidence, peer_feedback, deployments, changes, incidents, team_metrics, slos, services, teams, "
            "expectations, telemetry (did you mean people?)",
        ),
        (
            lambda t: t.replace("  evidence: evidence.csv", "  evidence: 42"),
            "key inputs.evidence: value '42': expected a file path, {path: FILE, ...} or "
            "{connection: URL, table: TABLE}",
        ),
        (
            lambda t: t.replace("  evidence: evidence.csv", "  evidence: {pth: evidence.csv}"),
            "key inputs.evidence.pth: value 'evidence.csv': expected no such key (did you mean path?)",
        ),
    ],
)
def test_a_misspelt_input_names_the_key_and_the_likely_meaning(tiny_cycle, edit, said):
    path = tiny_cycle(config=edit)
    assert any(line == f"error: {path}, {said}" for line in _config_lines(path)), _config_lines(path)


def _config_lines(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "it is a PNG image"),
        (b"employee_id,name\nE1,Ann\n", "it is no Parquet file (is it a CSV file?)"),
    ],
)
def test_a_file_named_parquet_that_is_not_says_what_it_is(tmp_path, content, said):
    path = tmp_path / "people.parquet"
    path.write_bytes(content)  # was pyarrow's "Parquet magic bytes not found in footer. Either the file is ..."
    assert _one_line(path) == f"error: people.parquet: expected a readable Parquet file, but {said}"


def test_a_leveling_framework_that_is_a_folder_is_one_line(tiny_cycle):
    config = load_config(tiny_cycle(config=lambda t: t + "leveling_framework: .\n"))
    with pytest.raises(ConfigError) as caught:  # `calib alignment` exited 3 (IsADirectoryError)
        load_leveling(config)
    assert [str(p) for p in caught.value.problems] == [
        "error: .: expected a leveling framework file (leveling_framework in the config), but it is a folder"
    ]  # cycle.yml is there, but is no leveling framework
