"""The synthetic org's shape: cycles and people as arrays, shared by `org` and `delivery`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Cycle:
    """A half-year cycle; `start` and `end` are days since the epoch, both included."""

    id: str
    start: int
    end: int


@dataclass(frozen=True)
class Org:
    """One synthetic org: arrays over people (in construction order) and a table of teams.

    `team` indexes `teams`, whose last row is the leadership team; `org` is the director
    whose org a person is in (the CTO has a code of their own); `manager` is a person index,
    -1 at the top; `perf` is the latent performance, one column per cycle; `rank` orders
    people by employee id; `planted` maps a planted pattern to its team's index.
    """

    role: np.ndarray
    team: np.ndarray
    org: np.ndarray
    manager: np.ndarray
    discipline: np.ndarray
    level: np.ndarray
    gender: np.ndarray
    hire: np.ndarray
    perf: np.ndarray
    leniency: np.ndarray
    invisible: np.ndarray
    rank: np.ndarray
    ids: np.ndarray
    teams: pd.DataFrame
    planted: dict[str, int]
    plant: bool
