"""One exception hierarchy for everything a user can get wrong.

Errors carry `Problem` records (file, row, column, value, expected) and are rendered
once, at the edge: the CLI, a notebook or the dashboard. Nothing below the edge prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Literal

Severity = Literal["error", "warning"]
SHOWN_VALUE_CHARS = 200  # a longer value is cut in messages (a runaway cell must not flood the terminal)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or suspicious) with one value of one input.

    `row` is the row a person sees when they open the file: the header is row 1,
    so the first data row of a CSV is row 2 (its line number in a text editor) and
    an Excel row is the sheet's own row number.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    severity: Severity = "error"
    column_label: str = "column"  # "key" for a config key
    more: int = 0  # further rows with this problem that a query counted but did not list
    key: str | None = None  # where a database table has no row numbers: the row's id, e.g. "id D17"

    def __str__(self) -> str:
        where = [self.file]
        if self.key is not None:
            where.append(self.key)
        elif self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"{self.column_label} {self.column}")
        got = "" if self.value is None else f"value {shortened(self.value)}: "
        return f"{self.severity}: {', '.join(where)}: {got}expected {self.expected}"


def shortened(value: str) -> str:
    """A value as messages quote it: whole up to `SHOWN_VALUE_CHARS`, else its start and its length."""
    if len(value) <= SHOWN_VALUE_CHARS:
        return repr(value)
    return f"{value[: SHOWN_VALUE_CHARS // 2]!r}... ({len(value):,} characters)"


def with_article(noun: str) -> str:
    """`noun` after "a" or "an", by how it is said: an evidence item, an SLO window, a deployment."""
    spoken_vowel = noun[:1].lower() in "aeiou" or noun[:1] in "FHLMNRSX" and noun[1:2].isupper()
    return f"{'an' if spoken_vowel else 'a'} {noun}"


class WorkbenchError(Exception):
    """Base class of every error the workbench reports to a user."""


class ConfigError(WorkbenchError):
    """The cycle config is missing, unreadable or inconsistent."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InputError(WorkbenchError):
    """One or more inputs failed validation; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class EngineError(WorkbenchError):
    """The delivery engine named cannot be started or reached (one line, never a password)."""


class PolicyError(WorkbenchError):
    """An analysis was asked to rank people by a contextual metric or use a forbidden one."""


class UsageError(WorkbenchError):
    """A command was asked for something it cannot do (e.g. an org too small for its managers)."""


SHOWN_PER_KIND = 20  # problems of one kind (file, column, expectation) listed before "and N more"


def render_problems(problems: list[Problem], shown_per_kind: int = SHOWN_PER_KIND) -> list[str]:
    """One line per problem, errors first; long runs of the same mistake end with a count."""
    ordered = sorted(problems, key=lambda p: (p.severity != "error", p.file, p.column or "", p.expected, p.row or 0))
    lines = []
    for (severity, file, column, _expected), group in groupby(
        ordered, key=lambda p: (p.severity, p.file, p.column, p.expected)
    ):
        items = list(group)
        lines.extend(str(p) for p in items[:shown_per_kind])
        hidden = max(len(items) - shown_per_kind, 0) + sum(p.more for p in items)
        if hidden:
            where = f"{file}, column {column}" if column else file
            lines.append(f"{severity}: {where}: ... and {hidden} more rows like these")
    return lines
