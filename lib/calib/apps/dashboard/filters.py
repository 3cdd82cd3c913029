"""What the room is looking at: the `Filters` and the rows of the calibration frame they select.

`Filters` holds the cycle, org, discipline, level, rating manager and blind mode; `ALL` means no
restriction and `FILTER_COLUMNS` names the frame column each filter restricts. `select` is the plain
selection (`Sources.rows` is the same on precomputed codes); `isin` is the fast text membership test
the tabs use to keep the managers, teams and seam pairs in view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ALL = "(all)"


@dataclass(frozen=True)
class Filters:
    """What the room is looking at; ALL means no restriction."""

    cycle: str
    org: str = ALL
    discipline: str = ALL
    level: str = ALL
    manager: str = ALL  # the rating manager's employee id (reviews.reviewer_id)
    blind: bool = False


FILTER_COLUMNS = {"org": "org", "discipline": "discipline", "level": "level", "manager": "reviewer_id"}


def select(frame: pd.DataFrame, filters: Filters, *, ignore: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of the calibration frame in view (`ignore` names filters to leave out)."""
    mask = np.asarray(frame["cycle"].astype(str) == filters.cycle, dtype=bool)
    for name, column in FILTER_COLUMNS.items():
        value = getattr(filters, name)
        if value != ALL and name not in ignore and column in frame.columns:
            mask = mask & np.asarray(frame[column].astype(str).eq(value).fillna(False), dtype=bool)
    return frame[mask]


def isin(values: pd.Series, wanted: set[str]) -> np.ndarray:
    """`values.isin(wanted)` as text, fast for large sets (pandas converts each wanted value to Arrow)."""
    return np.fromiter((v in wanted for v in values.astype(str).tolist()), dtype=bool, count=len(values))
