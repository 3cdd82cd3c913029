"""A cycle's inputs once read and checked: the tables, their lineage and the warnings.

`CycleData` holds the small inputs as pandas frames and the delivery events (deployments,
changes, incidents) as tables of the delivery engine (`calib.delivery.engine`); `Source` is one
input's lineage: a file and its hash, or a database table and where it lives (no password).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from calib.errors import Problem
from calib.inputs.config import CycleConfig, InputName

# read, checked and measured in the engine (calib.delivery): events and SLO windows grow with time
EVENT_INPUTS: tuple[InputName, ...] = ("deployments", "changes", "incidents", "slos")


@dataclass(frozen=True)
class Source:
    """Lineage of one input: a file (its hash) or a database table (connection without password)."""

    name: InputName
    path: Path | None
    bytes: int | None
    sha256: str | None
    rows: int
    format: str
    engine: str | None = None  # where its rows were read: duckdb, postgres, ...; None for pandas
    connection: str | None = None  # a database input's connection string, password removed
    table: str | None = None
    queried_at: str | None = None  # when the engine counted its rows (UTC, ISO 8601)

    @property
    def shown(self) -> str:
        """The file's name, or the table and where it lives."""
        if self.path is not None:
            return self.path.name
        return f"{self.table} on {self.connection}"


@dataclass
class CycleData:
    """The typed, checked inputs of a cycle. Frames are indexed by source row number."""

    config: CycleConfig
    tables: dict[InputName, pd.DataFrame]
    sources: dict[InputName, Source]
    warnings: list[Problem] = field(default_factory=list)
    events: dict[InputName, Any] = field(default_factory=dict)  # Ibis tables on `engine` (calib.delivery)
    engine: Any = None  # the calib.delivery.engine.Engine holding `events`

    def __getitem__(self, name: InputName) -> pd.DataFrame:
        """An input as a pandas frame indexed by source row; event tables are fetched from the engine (whole)."""
        if name not in self.tables and name in self.events:
            table = self.events[name]
            frame = self.engine.execute(table.order_by("_row"), f"{name} rows")
            self.tables[name] = frame.set_index("_row").rename_axis(None)
        return self.tables[name]

    def has(self, name: InputName) -> bool:
        """Whether this input was given."""
        return name in self.tables or name in self.events

    def table(self, name: InputName) -> Any:
        """An event input as the engine's table (Ibis), else the pandas frame."""
        return self.events[name] if name in self.events else self.tables[name]


def file_source(name: InputName, path: Path, rows: int, fmt: str, engine: str | None = None) -> Source:
    """Lineage of an input file: its size and SHA-256 (read in blocks), rows and format."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return Source(name, path, path.stat().st_size, digest.hexdigest(), rows, fmt, engine)
