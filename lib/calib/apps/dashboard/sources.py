"""The dashboard's data: `Sources` (the config, the analysis results, the frames behind them) and loading it.

`load_sources` reads an analysis folder (analysing now, cached, when none is given) and the
normalized frames from its snapshot/ (written by `calib serve`) or, for a folder written by `calib
analyze`, from the inputs; nothing is recomputed. `Sources` selects the rows in view on integer
codes computed once, memoizes what the filters do not change, and knows how people are shown:
names, or stable pseudonyms in blind mode (`calib.privacy`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from calib.apps.dashboard.filters import ALL, FILTER_COLUMNS, Filters
from calib.privacy import Redaction, pseudonyms, redaction

SNAPSHOT_FRAMES = (
    "frame", "people", "evidence", "criteria_scores", "peer_feedback", "telemetry", "teams", "expectations"
)


@dataclass
class Sources:
    """Everything the dashboard shows: the config, the analysis results, the frames behind them."""

    config: object  # calib.inputs.config.CycleConfig
    results: object  # calib.analyses.results.Results
    frame: pd.DataFrame  # the calibration frame, every cycle
    people: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # evidence, criteria_scores, ...
    names: dict[str, str] = field(default_factory=dict)  # employee id -> name
    pseudonyms: dict[str, str] = field(default_factory=dict)  # employee id -> stable pseudonym
    _index: dict | None = None
    _known: set[str] | None = None
    _memo: dict = field(default_factory=dict)

    def memo(self, key: tuple, make: Callable[[], object]) -> object:
        """A value that depends only on `key` (e.g. a chart the filters do not change), made once."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def rows(self, filters: Filters, *, ignore: tuple[str, ...] = ()) -> pd.DataFrame:
        """The rows of the frame in view: `select`, on integer codes computed once (fast at 10k people)."""
        return self.frame[self._select(filters, ignore=ignore)]

    def _select(self, filters: Filters, *, ignore: tuple[str, ...] = ()) -> np.ndarray:
        """The boolean mask of the rows in view, on integer codes computed once."""
        if self._index is None:
            self._index = {}
            for column in ("cycle", *FILTER_COLUMNS.values()):
                if column in self.frame.columns:
                    codes, uniques = pd.factorize(self.frame[column].astype(str))
                    self._index[column] = (codes, {str(v): i for i, v in enumerate(uniques)})
        mask = self._mask("cycle", filters.cycle)
        for name, column in FILTER_COLUMNS.items():
            value = getattr(filters, name)
            if value != ALL and name not in ignore and column in self._index:
                mask &= self._mask(column, value)
        return mask

    def positions(self, filters: Filters) -> np.ndarray:
        """Positions in the frame of the rows in view (found once per filter): for reading one column fast."""
        found = self.memo(("positions in view", filters), lambda: np.flatnonzero(self._select(filters)))
        return found  # type: ignore[return-value]

    def _mask(self, column: str, value: str) -> np.ndarray:
        codes, lookup = self._index[column]
        code = lookup.get(str(value))
        return codes == code if code is not None else np.zeros(len(codes), dtype=bool)

    def where(self, name: str, column: str, value: str) -> pd.DataFrame:
        """The rows of the frame (`name` "frame") or of a table whose `column` is `value`, in their order.

        The positions of each value are found once per table and column (then a lookup: fast at 10k
        people); `apply_session` replaces columns of the frame, never its rows, so they stay right.
        """
        table = self.frame if name == "frame" else self.tables.get(name)
        if table is None or column not in table.columns:
            return pd.DataFrame()
        index = self.memo(("positions", name, column), lambda: _positions(table[column]))
        found = index.get(str(value))  # type: ignore[union-attr]
        return table.iloc[found] if found is not None else table.iloc[0:0]

    def known_subjects(self) -> set[str]:
        """Every employee id and team: finding subjects that name someone or something in particular."""
        if self._known is None:
            self._known = set(self.names) | set(self.frame["team"].dropna().astype(str).unique())
        return self._known

    def table(self, name: str) -> pd.DataFrame | None:
        """An optional input (None when the cycle has none)."""
        return self.tables.get(name)

    def redaction(self, blind: bool) -> Redaction:
        """How people are shown (`calib.privacy`): names, or pseudonyms everywhere in blind mode."""
        key = ("redaction", blind)
        return self.memo(key, lambda: redaction(self.people, blind=blind))  # type: ignore[return-value]

    def labels(self, blind: bool) -> dict[str, str]:
        """Display labels of people: names, or pseudonyms in blind mode."""
        return self.redaction(blind).labels

    def scrub(self, text: str) -> str:
        """Free text with every id, name, handle and e-mail replaced (blind mode)."""
        return str(self.redaction(True)(text))


def _positions(values: pd.Series) -> dict[str, np.ndarray]:
    """Each distinct value (as text) -> the positions of the rows holding it."""
    return pd.Series(np.arange(len(values))).groupby(values.astype(str).to_numpy()).indices


def load_sources(config: str | Path, results: str | Path = "", cache: str | Path = "") -> Sources:
    """Load the config and the analysis folder (analysing now, cached, when `results` is empty).

    The normalized frames come from the analysis folder's snapshot/ (written by `calib serve`), or,
    for a folder written by `calib analyze`, from the inputs.
    """
    from calib.analyses.results import load_results
    from calib.apps.serve import CACHE_ROOT, ensure_analysis
    from calib.inputs.config import load_config

    if not results:
        results = ensure_analysis(config, cache or CACHE_ROOT, log=lambda *_: None)
    loaded = load_config(config)
    found = load_results(results)
    snapshot = Path(results) / "snapshot"
    if (snapshot / "done").is_file():
        frames = {p.stem: pd.read_parquet(p) for p in snapshot.glob("*.parquet") if p.stem in SNAPSHOT_FRAMES}
    else:
        from calib.delivery.sources import load_cycle
        from calib.frame import normalize

        normalized = normalize(load_cycle(loaded))
        frames = {name: normalized.data[name] for name in SNAPSHOT_FRAMES[1:] if normalized.data.has(name)}
        frames["frame"] = normalized.frame
    return make_sources(loaded, found, frames)


def make_sources(config, results, frames: dict[str, pd.DataFrame]) -> Sources:
    """Sources from loaded frames (`frame` and `people` required)."""
    people = frames["people"]
    ids = people["employee_id"].astype(str)
    names = dict(zip(ids, people["name"].astype(str), strict=True)) if "name" in people.columns else {}
    extra = {k: v for k, v in frames.items() if k not in ("frame", "people")}
    return Sources(config, results, frames["frame"], people, extra, names, pseudonyms(ids))
