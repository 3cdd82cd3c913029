"""Reading what `calib analyze` wrote, so the report and the dashboard show exactly that."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from calib.errors import InputError, Problem


@dataclass(frozen=True)
class Results:
    """findings.json as a dict, its findings as a frame, and every table by name."""

    document: dict
    findings: pd.DataFrame
    tables: dict[str, pd.DataFrame]

    def table(self, name: str) -> pd.DataFrame:
        """One table, or an empty frame when the analysis did not produce it (e.g. no evidence input)."""
        return self.tables.get(name, pd.DataFrame())


def load_results(folder: str | Path) -> Results:
    """Read folder/findings.json and folder/tables/*.csv (ids stay text)."""
    folder = Path(folder)
    path = folder / "findings.json"
    if not path.is_file():
        raise InputError([Problem(str(path), None, None, None, "the findings.json written by `calib analyze`")])
    document = json.loads(path.read_text(encoding="utf-8"))
    findings = pd.DataFrame(document["findings"])
    tables = {}
    for csv in sorted((folder / "tables").glob("*.csv")):
        tables[csv.stem] = pd.read_csv(csv, dtype={c: "str" for c in _ID_COLUMNS}, keep_default_na=True)
    return Results(document, findings, tables)


_ID_COLUMNS = ["employee_id", "manager_id", "reviewer_id", "reviewee_id", "group", "subject", "team",
               "reference_employee_id", "cycle", "period", "previous_cycle"]


def inputs_fingerprint(sources: dict) -> str:
    """A digest of the config and every input's sha256: reuse an analysis only when it matches."""
    text = json.dumps(sources, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
