"""Delivery inputs typed and checked in the engine: every problem found by a query, listed with a cap.

The same checks as the rest of the inputs (`calib.inputs.schemas`, `calib.inputs.validate`), for
deployments, changes and incidents, run where the rows are: values that do not read as their kind,
empty required cells, unknown results, negative lead times, repeated ids, resolutions before starts;
and, across tables, deployment references that name no deployment, services no team owns and events
dated after today or after the last cycle. Each problem names the file or table, the row (or, in a
database table, the row's id), the column, the value and what was expected. A query counts every
row with a problem and lists the first `EXAMPLES` of them; the rest are counted (`Problem.more`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir
import pandas as pd

from calib.delivery import expressions
from calib.delivery.engine import ROW, Engine
from calib.errors import Problem, Severity, with_article
from calib.inputs.config import InputName
from calib.inputs.contract import CONTRACT, EXPECTED_TEXT, ZONED, Col
from calib.inputs.schemas import DEPLOY_RESULTS
from calib.inputs.validate import low_slo_target

EXAMPLES = 20  # rows listed per problem; the others are counted
RAW = "_raw_"  # prefix of the columns holding a cell as written, for messages
ZONELESS = "_zoneless_"  # prefix of the columns saying a time was written without a zone (and read as UTC)
UTC = dt_.Timestamp(timezone="UTC", scale=6)
NAIVE = dt_.Timestamp(scale=6)  # a date, as calib.inputs.contract gives it: midnight, no time zone
SPREADSHEET_TIMES = (  # read as calib.inputs.contract reads them (month first), after ISO 8601
    "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p",
    "%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%d %B %Y", "%B %d, %Y", "%d %b %Y", "%b %d, %Y",
)  # fmt: skip
UNIQUE_IDS: dict[InputName, tuple[str, str]] = {
    "changes": ("change_id", "a change_id used only once"),
    "incidents": ("incident_id", "an incident_id used only once"),
}
SLO_KEY = ("service", "slo_name", "window_end")  # an SLO window: once per table (window_end when given)
TARGETS = "(0, 1] as a ratio, or in (0, 100] as a percent"
LOW_SLO_PERCENT = 50  # a target read below 50% is likelier a typo (1.5 for 98.5) than an SLO
LATE: dict[InputName, tuple[tuple[str, str, bool], ...]] = {  # (column, what, also after the last cycle)
    "deployments": (("finished_at", "deployment", True),),
    "changes": (("created_at", "change", True),),
    "incidents": (("started_at", "incident", True), ("resolved_at", "resolution", False)),
    "slos": (("window_end", "SLO window", True),),
}


@dataclass(frozen=True)
class Check:
    """One expectation about the rows of a table: `bad` finds the rows that break it."""

    column: str | None
    expected: str
    bad: Callable[[ir.Table], ir.BooleanValue]
    value: Callable[[ir.Table], ir.Value] | None = None
    severity: Severity = "error"
    shown: Callable[[object], str | None] | None = None  # how a value is written in the message (default: str)


# -- typing -------------------------------------------------------------------------------------


def _text(column: ir.Value, *, strip: bool) -> ir.StringValue:
    """Text, empty as missing (trimmed first when the source is a text file); integral numbers without a .0."""
    kind = column.type()
    if kind.is_string():
        return _stripped(column).nullif("") if strip else column
    if kind.is_floating():
        whole = column == column.floor()
        return ibis.ifelse(whole, column.cast("int64").cast("string"), column.cast("string"))
    return column.cast("string")


def _stripped(text: ir.StringValue) -> ir.StringValue:
    """Whitespace trimmed from both ends, trimming only cells whose first or last character could be
    whitespace (DuckDB's trim with a set of characters costs as much as reading the file)."""
    edges = (text.ascii_str() <= 32) | (text.right(1).ascii_str() <= 32)
    return ibis.ifelse(edges, text.strip(), text)


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime(text: str, formats: dt_.Array(dt_.string)) -> NAIVE:
    """DuckDB: the time `text` reads as in the first of `formats` that fits; NULL when none does."""


def _read_time(text: ir.StringValue, *, duckdb: bool) -> ir.TimestampValue:
    """ISO 8601 text as a UTC time; on DuckDB also the forms spreadsheets write (03/31/2026 14:05)."""
    iso = text.try_cast(UTC)
    if not duckdb:
        return iso
    return iso.coalesce(_try_strptime(text, ibis.literal(list(SPREADSHEET_TIMES))).cast(UTC))


def _typed(column: ir.Value, kind: str, *, strip: bool, duckdb: bool = False) -> ir.Value:
    if kind in ("id", "text", "upper", "lower"):
        text = _text(column, strip=strip)
        return text.upper() if kind == "upper" else text.lower() if kind == "lower" else text
    if kind in ("number", "integer"):
        number = (
            column.cast("float64") if column.type().is_numeric() else _text(column, strip=strip).try_cast("float64")
        )
        if kind == "number":
            return number
        whole = number.round()  # as numpy's isclose: a float's rounding error is still whole
        return ibis.ifelse((number - whole).abs() <= 1e-8 + 1e-5 * whole.abs(), number, ibis.null("float64"))
    if kind in ("datetime", "date"):
        if column.type().is_timestamp() or column.type().is_date():
            time = column.cast(UTC)
        else:
            time = _read_time(_text(column, strip=strip), duckdb=duckdb)
        return time if kind == "datetime" else time.cast(NAIVE).truncate("D")  # the UTC day, at midnight
    raise ValueError(f"columns of kind {kind} are not read in the engine")


def with_types(raw: ir.Table, name: InputName, *, strip: bool = False, duckdb: bool = False) -> ir.Table:
    """The canonical columns given their types; other columns dropped.

    Beside each column that arrived as text and has to be read as a number or a time,
    `_raw_<column>` keeps the text of the cells that did not read, for messages. `strip`: the
    source is a text file whose cells may carry spaces (a file already read by `calib.inputs.load` was stripped there;
    Parquet and database values are kept as they are, as before).
    """
    present = [c for c in CONTRACT[name] if c.name in raw.columns]
    typed = {c.name: _typed(raw[c.name], c.kind, strip=strip, duckdb=duckdb) for c in present}
    written = {  # only where the text did not read: nearly always empty, so cheap to keep
        f"{RAW}{c.name}": ibis.ifelse(typed[c.name].isnull(), _text(raw[c.name], strip=strip), ibis.null("string"))
        for c in present
        if c.kind in EXPECTED_TEXT
        and (raw[c.name].type().is_string() or (c.kind == "integer" and raw[c.name].type().is_floating()))
    }
    zoneless = {  # read as UTC for want of a zone: calib.delivery.event_times counts them
        f"{ZONELESS}{c.name}": typed[c.name].notnull() & ~_zoned(_text(raw[c.name], strip=strip))
        for c in present
        if c.kind in ("date", "datetime") and raw[c.name].type().is_string()
    }
    return raw.select(ROW, **typed, **written, **zoneless)


def _zoned(text: ir.StringValue) -> ir.BooleanValue:
    """Whether a time is written with its zone; a final Z, the usual form, spares the regular expression."""
    return ibis.ifelse(text.right(1).isin(["Z", "z"]), True, text.re_search(ZONED))


def canonical(checked: ir.Table) -> ir.Table:
    """The typed table handed on: `_row` and the canonical columns; SLO targets in percent as ratios.

    99.9 becomes 0.999 exactly: the quotient is rounded to 12 places, as the decimal 99.9 / 100
    is (in floating point 99.9 / 100 is 0.9990000000000001, which 999 good events of 1000 miss).
    """
    table = checked.select(ROW, *[c for c in checked.columns if c != ROW and not c.startswith((RAW, ZONELESS))])
    if "target" in table.columns and "slo_name" in table.columns:
        percent = (table.target > 1) & (table.target <= 100)
        table = table.mutate(target=ibis.ifelse(percent, (table.target / 100).round(12), table.target))
    return table


# -- the checks ---------------------------------------------------------------------------------


def missing_columns(columns: Sequence[str], name: InputName, shown: str) -> list[Problem]:
    """A required column that is not in the header."""
    return [
        Problem(shown, 1, c.name, None, f"a column named {c.name} in the header")
        for c in CONTRACT[name]
        if c.required and c.name not in columns
    ]


def row_checks(name: InputName, columns: Sequence[str]) -> list[Check]:
    """The checks of one table on its own (`columns`: those of the table `with_types` made)."""
    present: list[Col] = [c for c in CONTRACT[name] if c.name in columns]
    checks = []
    for col in present:
        raw = f"{RAW}{col.name}" if f"{RAW}{col.name}" in columns else col.name
        if raw != col.name:  # text to be read as a number or a time
            checks.append(
                Check(
                    col.name,
                    EXPECTED_TEXT[col.kind],
                    lambda t, c=col.name, r=raw: t[r].notnull() & t[c].isnull(),
                    lambda t, r=raw: t[r],
                )
            )
        if not col.nullable:  # empty: neither read nor kept as unreadable text
            checks.append(
                Check(
                    col.name,
                    "a value (this column may not be empty)",
                    lambda t, c=col.name, r=raw: t[c].isnull() & t[r].isnull(),
                )
            )
    if name == "deployments":
        allowed = ", ".join(DEPLOY_RESULTS)
        checks.append(
            Check(
                "result",
                f"one of {allowed}",
                lambda t: t.result.notnull() & ~t.result.isin(DEPLOY_RESULTS),
                lambda t: t.result,
            )
        )
        if "lead_time_hours" in columns:
            checks.append(
                Check(
                    "lead_time_hours",
                    "a number of at least 0",
                    lambda t: t.lead_time_hours < 0,
                    lambda t: t.lead_time_hours,
                )
            )
    if name == "slos":
        checks += _slo_checks(columns)
    if name == "incidents" and "resolved_at" in columns:
        checks.append(
            Check(
                "resolved_at",
                "a time on or after started_at",
                lambda t: t.resolved_at.notnull() & t.started_at.notnull() & (t.resolved_at < t.started_at),
                lambda t: t.resolved_at,
            )
        )
    return checks


def _slo_checks(columns: Sequence[str]) -> list[Check]:
    """An SLO row's numbers: a target as a ratio or a percent, a window, counts that fit together."""
    bounds = [
        ("target", f"a target in {TARGETS}", lambda t: (t.target <= 0) | (t.target > 100)),
        ("window_days", "a number above 0", lambda t: t.window_days <= 0),
        ("good_events", "a number of at least 0", lambda t: t.good_events < 0),
        ("total_events", "a number of at least 0", lambda t: t.total_events < 0),
    ]  # fmt: skip
    checks = [
        Check(column, expected, bad, lambda t, c=column: t[c]) for column, expected, bad in bounds if column in columns
    ]
    if {"good_events", "total_events"} <= set(columns):
        checks.append(
            Check(
                "good_events",
                "good_events no larger than total_events",
                lambda t: t.good_events > t.total_events,
                lambda t: t.good_events,
            )
        )
    return checks


def low_slo_targets(engine: Engine, table: ir.Table, shown: str) -> list[Problem]:
    """Warnings for targets read below 50% (1.5 is likelier a typo for 98.5 than an SLO of 1.5%).

    The rows are found by a query; the message, which says what was likely meant, is written by
    `calib.inputs.validate.low_slo_target`.
    """
    if "target" not in table.columns:
        return []
    target = table.target
    low = (target > 0) & (
        ((target > 1) & (target < LOW_SLO_PERCENT)) | ((target <= 1) & (target < LOW_SLO_PERCENT / 100))
    )
    rows = engine.execute(
        table.filter(low).select(ROW, "target").order_by(ROW).limit(EXAMPLES + 1), f"targets of {shown}"
    )
    problems = [low_slo_target(shown, int(row[ROW]), float(row["target"])) for _, row in rows.iterrows()]
    return [p for p in problems[:EXAMPLES] if p is not None]


def run_checks(
    engine: Engine, table: ir.Table, checks: Sequence[Check], shown: str, *, key: str | None = None
) -> list[Problem]:
    """Count the rows breaking each check in one query, then list the first few of each.

    Parameters
    ----------
    key
        For a database table without row numbers: the id column that names a row in messages.
    """
    if not checks:
        return []
    return counted_checks(engine, table, checks, shown, key=key)[1]


def counted_checks(
    engine: Engine, table: ir.Table, checks: Sequence[Check], shown: str, *, key: str | None = None
) -> tuple[int, list[Problem]]:
    """The table's rows, and its problems (as `run_checks`), counted in the same query."""
    aggregates = {f"c{i}": expressions.count_true(check.bad(table)) for i, check in enumerate(checks)}
    counts = engine.execute(table.aggregate(_rows=table.count(), **aggregates), f"checks of {shown}").iloc[0]
    problems = []
    for i, check in enumerate(checks):
        total = int(counts[f"c{i}"])  # count_true: 0, never NULL
        if total:
            problems += _examples(engine, table, check, shown, total, key)
    return int(counts["_rows"]), problems


def _examples(engine: Engine, table: ir.Table, check: Check, shown: str, total: int, key: str | None) -> list[Problem]:
    value = check.value(table) if check.value is not None else ibis.null("string")
    columns = {ROW: table[ROW], "_value": value}
    if key:
        columns["_key"] = table[key]
    rows = engine.execute(table.filter(check.bad(table)).select(**columns).order_by(ROW).limit(EXAMPLES), shown)
    problems = [
        Problem(
            shown,
            int(row[ROW]),
            check.column,
            (check.shown or _shown_value)(row["_value"]),
            check.expected,
            check.severity,
            key=f"{key} {row['_key']}" if key else None,
        )
        for _, row in rows.iterrows()
    ]
    if problems and total > len(problems):
        last = problems[-1]
        problems[-1] = Problem(**{**last.__dict__, "more": total - len(problems)})
    return problems


def _shown_value(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def duplicate_ids(
    engine: Engine, table: ir.Table, name: InputName, shown: str, *, key: str | None = None
) -> list[Problem]:
    """Rows repeating what an earlier row has (a change_id, an incident_id, an SLO window): the repeats are reported."""
    if name == "slos":
        columns = [c for c in SLO_KEY if c in table.columns]
        column, expected = ",".join(columns), f"each ({', '.join(columns)}) once; this repeats an earlier row"
    elif name in UNIQUE_IDS and UNIQUE_IDS[name][0] in table.columns:
        (column, expected), columns = UNIQUE_IDS[name], [UNIQUE_IDS[name][0]]
    else:
        return []
    required = [c for c in columns if c != "window_end"]  # a missing value is reported on its own
    ids = table.filter(*[table[c].notnull() for c in required])
    counted = ids.group_by(columns).agg(_n=ibis._.count()).filter(ibis._._n > 1)  # no row: a lighter pass
    repeats = counted.aggregate(n=(counted._n - 1).sum().coalesce(0))
    total = int(engine.execute(repeats, f"repeated ids in {shown}").iloc[0, 0])
    if not total:
        return []
    repeated = counted.select(*columns).rename({f"_key_{c}": c for c in columns})
    same = [ids[c].identical_to(repeated[f"_key_{c}"]) for c in columns]
    rows = ids.join(repeated, same)
    # Numbered within each repeated id (a window per id, never over the whole table); ties in `_row`
    # (equal rows of a table numbered by a hash) still leave one first row and the rest repeats.
    repeats = rows.mutate(_nth=ibis.row_number().over(group_by=columns, order_by=rows[ROW])).filter(ibis._._nth > 0)
    check = Check(column, expected, lambda t: t[columns[0]].notnull(), lambda t: t[columns[0]])
    return _examples(engine, repeats, check, shown, total, key)


def unknown_references(
    engine: Engine,
    table: ir.Table,
    column: str,
    known: Sequence[ir.Column],
    shown: str,
    expected: str,
    *,
    key: str | None = None,
) -> list[Problem]:
    """Warnings for values of `column` found in none of the `known` columns (anti-joins, no distinct)."""
    if column not in table.columns:
        return []
    unknown = table.filter(table[column].notnull())
    for ids in known:
        listed = ids.name("_known").as_table()
        unknown = unknown.anti_join(listed, unknown[column] == listed._known)
    check = Check(column, expected, lambda t: t[column].notnull(), lambda t: t[column], "warning")
    return run_checks(engine, unknown, [check], shown, key=key)


def unowned_services(
    engine: Engine, tables: Sequence[tuple[str, ir.Table]], services: ir.Table, listed: str
) -> list[Problem]:
    """One warning per service named in each (shown, table) of `tables` that the services input does not list.

    One query for all the tables.
    """
    named = [
        table.select("service", _in=ibis.literal(i)).filter(ibis._.service.notnull()).distinct()
        for i, (_, table) in enumerate(tables)
    ]
    if not named:
        return []
    union = named[0].union(*named[1:], distinct=False) if len(named) > 1 else named[0]
    unowned = union.anti_join(services.select("service"), "service").order_by(["_in", "service"])
    expected = f"a service listed in {listed}; it counts for no team"
    return [
        Problem(tables[int(row["_in"])][0], None, "service", str(row["service"]), expected, "warning")
        for _, row in engine.execute(unowned, "services no team owns").iterrows()
    ]


def late_checks(table: ir.Table, name: InputName, today: dt.date, last_end: dt.date) -> list[Check]:
    """Warnings for events dated after today, or after the last cycle's end (where that matters)."""
    checks = []
    for column, what, cycle_bound in LATE.get(name, ()):
        if column not in table.columns:
            continue
        kind = table[column].type()
        future = _midnight(today + dt.timedelta(days=1), kind)
        checks.append(
            Check(
                column,
                f"a date no later than today ({today}): {with_article(what)} in the future is a typo or a wrong clock",
                lambda t, c=column, f=future: t[c] >= f,
                lambda t, c=column: t[c],
                "warning",
                _shown_time,
            )
        )
        if cycle_bound:
            after = _midnight(last_end + dt.timedelta(days=1), kind)
            checks.append(
                Check(
                    column,
                    f"a date inside the configured cycles (the last ends {last_end}): this {what} counts for no cycle",
                    lambda t, c=column, f=future, a=after: (t[c] >= a) & (t[c] < f),
                    lambda t, c=column: t[c],
                    "warning",
                    _shown_time,
                )
            )
    return checks


def _shown_time(value: object) -> str | None:
    """A time as ISO 8601 with its offset; a date (no time zone) as a date."""
    if value is None or pd.isna(value):
        return None
    when = pd.Timestamp(value)
    return when.isoformat() if when.tzinfo is not None else str(when.date())


def _midnight(day: dt.date, kind: dt_.DataType) -> ir.TimestampScalar:
    """The start of `day` (UTC) as a literal comparable with a column of `kind` (a time or a date)."""
    if kind.is_timestamp() and kind.timezone is not None:
        return ibis.timestamp(f"{day} 00:00:00+00:00").cast(UTC)
    return ibis.timestamp(f"{day} 00:00:00").cast(NAIVE)
