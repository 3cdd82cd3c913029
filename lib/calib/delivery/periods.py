"""Periods the delivery metrics are cut into (review cycles, calendar months) and their calendars.

A period is a named stretch of days, both ends inclusive. Its calendar, as the engine needs it:
the Monday on or before its start (weeks start Monday: `first_monday`), every week that overlaps
it (numbered from that Monday, edge weeks included) and every calendar month it touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

HALF_YEAR_DAYS = 182.5


@dataclass(frozen=True)
class Period:
    """A named stretch of days, both ends inclusive."""

    id: str
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def first_monday(self) -> pd.Timestamp:
        """The Monday on or before the start: week 0 begins there."""
        return self.start - pd.Timedelta(days=self.start.day_of_week)

    @property
    def weeks(self) -> int:
        """Weeks (Monday to Sunday) overlapping the period, edge weeks included."""
        return (self.end - self.first_monday).days // 7 + 1

    @property
    def months(self) -> list[int]:
        """The calendar months the period touches, as year * 12 + month."""
        return [m.year * 12 + m.month for m in pd.period_range(self.start, self.end, freq="M")]

    @property
    def days(self) -> int:
        """Days in the period."""
        return (self.end - self.start).days + 1


def periods_from_cycles(cycles: Sequence) -> list[Period]:
    """Periods for the configured review cycles."""
    return [Period(c.id, pd.Timestamp(c.start), pd.Timestamp(c.end)) for c in cycles]


def monthly_periods(start: pd.Timestamp, end: pd.Timestamp) -> list[Period]:
    """Calendar months from start's month to end's month, for trends."""
    months = pd.period_range(start, end, freq="M")
    return [Period(str(m), m.start_time, m.end_time.normalize()) for m in months]


def periods_table(periods: Sequence[Period]) -> ir.Table:
    """period, start, end (dates) and first_monday of each period, as an engine table."""
    frame = pd.DataFrame(
        {
            "period": [p.id for p in periods],
            "start": [p.start.date() for p in periods],
            "end": [p.end.date() for p in periods],
            "first_monday": [p.first_monday.date() for p in periods],
        }
    )
    schema = {"period": "string", "start": "date", "end": "date", "first_monday": "date"}
    return ibis.memtable(frame, schema=schema)


def calendar_grid(teams: Sequence[str], periods: Sequence[Period]) -> ir.Table:
    """Every (team, period, unit, bucket) that counts toward a median, empty ones included.

    Units are "week" (bucket = weeks since the period's first Monday) and "month" (bucket =
    year * 12 + month).
    """
    buckets = [(p.id, "week", week) for p in periods for week in range(p.weeks)]
    buckets += [(p.id, "month", month) for p in periods for month in p.months]
    calendar = pd.DataFrame(buckets, columns=["period", "unit", "bucket"])
    grid = pd.DataFrame({"team": list(teams)}).merge(calendar, how="cross")
    return ibis.memtable(grid, schema={"team": "string", "period": "string", "unit": "string", "bucket": "int64"})
