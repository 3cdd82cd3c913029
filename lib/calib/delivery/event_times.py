"""Warnings on the times of delivery events, found by queries in the engine.

- A column whose times mix a zone (`Z`, `+02:00`) with none: those without one were read as UTC,
  which shifts them by the writer's offset. `calib.delivery.checks.with_types` marks each time
  written without a zone while it reads the text; one query counts them per column.
- Changes created at or after their deployment finished in production: lead time leaves them
  out (`calib.delivery.dora`, as Four Keys does), so the count is said, with the first of them.

Each is one line per column or input, naming the file or table, the first row (or a database
row's id), the value and the count. Portable Ibis expressions: they run on every engine.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from calib.delivery import expressions
from calib.delivery.checks import ZONELESS
from calib.delivery.engine import ROW, Engine
from calib.errors import Problem
from calib.inputs.contract import mixed_zones


def zone_counts(checked: ir.Table) -> tuple[ir.Table, list[str]]:
    """Per time column marked by `with_types`: how many were written without a zone (`n<i>`), how
    many were read (`t<i>`) and the first row without one (`r<i>`); one row, not yet run."""
    columns = [c.removeprefix(ZONELESS) for c in checked.columns if c.startswith(ZONELESS)]
    counted = {}
    for i, column in enumerate(columns):
        zoneless = checked[f"{ZONELESS}{column}"]
        counted |= {
            f"n{i}": expressions.count_true(zoneless),
            f"t{i}": checked[column].count(),
            f"r{i}": checked[ROW].min(where=zoneless),
        }
    return checked.aggregate(**counted), columns


def times_without_zones(
    engine: Engine, raw: ir.Table, checked: ir.Table, shown: str, *, key: str | None = None
) -> list[Problem]:
    """One warning per column whose times mix zones and no zones: those without one were read as UTC.

    Parameters
    ----------
    raw, checked
        The input as read, and as `calib.delivery.checks.with_types` typed it. The counts come
        from `checked` in one query; only when a column mixes both is its first time without a
        zone looked up in `raw`, as written.
    key
        For a database table without row numbers: the id column that names a row in messages.
    """
    query, columns = zone_counts(checked)
    if not columns:
        return []
    counts = engine.execute(query, f"time zones in {shown}").iloc[0]
    problems = []
    for i, column in enumerate(columns):
        naive, read = int(counts[f"n{i}"] or 0), int(counts[f"t{i}"] or 0)
        if 0 < naive < read:
            row = int(counts[f"r{i}"])
            value, named = _written(engine, raw, row, column, key)
            problems.append(mixed_zones(shown, column, row, value, naive, read - naive, key=named))
    return problems


def _written(engine: Engine, raw: ir.Table, row: int, column: str, key: str | None) -> tuple[str | None, str | None]:
    """A cell as written and, where a database table names rows by id, its row's id (None when unreadable)."""
    cells = {"_value": raw[column].cast("string")} | ({"_key": raw[key].cast("string")} if key else {})
    try:
        found = engine.execute(raw.filter(raw[ROW] == row).select(**cells).limit(1), f"row {row}")
    except Exception:  # a file only the careful reader could read (calib.delivery.sources): no text to show
        return None, None
    if found.empty or found["_value"].isna().iloc[0]:
        return None, None
    return str(found["_value"].iloc[0]).strip(), f"{key} {found['_key'].iloc[0]}" if key else None


def late_changes(changes: ir.Table, deployments: ir.Table, environment: str, key: str | None = None) -> ir.Table:
    """The changes created at or after their deployment finished in production, with `_finished`; not yet run.

    Read as `calib.delivery.dora` reads them: a change names its deployment by deployment_id (or by
    the deployment_commit_id of one of its rows), which finished at the latest of its successful
    rows in the `environment` of production.
    """
    prod = deployments.filter((deployments.environment == environment.lower()) & (deployments.result == "SUCCESS"))
    finished = prod.group_by("deployment_id").agg(_finished=prod.finished_at.max())
    kept = [key] if key and key in changes.columns else []
    named = changes.select(ROW, "deployment_id", "created_at", *kept)
    joined = expressions.deployment_ids(named, "deployment_id", deployments).join(finished, "deployment_id")
    return joined.filter(joined.created_at >= joined._finished)


def changes_after_deployment(
    engine: Engine, changes: ir.Table, deployments: ir.Table, environment: str, shown: str, *, key: str | None = None
) -> list[Problem]:
    """One warning for the changes created at or after their deployment finished (`late_changes`):
    lead time leaves them out, so the warning counts them and shows the first by row."""
    if not {"deployment_id", "created_at"} <= set(changes.columns):
        return []
    late = late_changes(changes, deployments, environment, key)
    counts = engine.execute(
        late.aggregate(n=late.count(), first=late[ROW].min()), f"changes after deployments in {shown}"
    )
    total = int(counts["n"].iloc[0] or 0)
    if not total:
        return []
    first = engine.execute(
        late.filter(late[ROW] == int(counts["first"].iloc[0])).limit(1), f"a change of {shown}"
    ).iloc[0]
    these = "1 change like this is" if total == 1 else f"{total:,} changes like this are"
    expected = (
        f"a time before its deployment {first['deployment_id']} finished in production "
        f"({pd.Timestamp(first['_finished']).isoformat()}): {these} left out of lead time"
    )
    named_by = f"{key} {first[key]}" if key and key in first.index else None
    created = pd.Timestamp(first["created_at"]).isoformat()
    return [Problem(shown, int(first[ROW]), "created_at", created, expected, "warning", key=named_by)]
