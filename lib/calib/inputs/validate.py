"""Load every input of a cycle, check it, and hand on typed frames, or fail with every problem.

Checks within one table are pandera schemas (`calib.inputs.schemas`); checks across tables
(ids that must name a person, the manager chain, dates inside the cycles) live here, and so do
the warnings on usable but suspicious data (events dated after today or after the last cycle,
self-reviews, SLO targets that read as tiny percentages, small teams, ...).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from calib.errors import InputError, Problem, WorkbenchError, with_article
from calib.inputs import adapters as adapters
from calib.inputs.config import CycleConfig, InputName
from calib.inputs.contract import CONTRACT, is_in, parse, times_without_zones
from calib.inputs.cycle import EVENT_INPUTS as EVENT_INPUTS  # re-exported: their first home
from calib.inputs.cycle import CycleData as CycleData
from calib.inputs.cycle import Source as Source
from calib.inputs.cycle import file_source as file_source
from calib.inputs.load import read_table
from calib.inputs.ratings import canonical_labels
from calib.inputs.schemas import failure_rows, schema_for

SMALL_TEAM = 3  # teams smaller than this get a warning
LOW_SLO_TARGET = Decimal("0.5")  # a target read below 50% is more likely a typo (1.5 for 98.5) than an SLO
EVENTS: dict[InputName, tuple[tuple[str, str, bool], ...]] = {  # (column, what, also after the last cycle)
    # deployments, changes, incidents and SLO windows: calib.delivery.checks.LATE, in the engine
    "evidence": (("date", "evidence item", False),),  # outside the cycles it is an error already
}


def read_inputs(
    config: CycleConfig, *, skip: tuple[InputName, ...] = EVENT_INPUTS, today: dt.date | None = None
) -> tuple[dict[InputName, pd.DataFrame], dict[InputName, Source], list[Problem]]:
    """Read, type and check every input the config names but those in `skip`, without raising.

    The event inputs (deployments, changes, incidents) are read and checked in the delivery engine:
    `calib.delivery.sources.load_cycle` runs both and raises one InputError listing every problem.

    Parameters
    ----------
    config
        The cycle config.
    skip
        Inputs left to the engine.
    today
        The date events must not be after (a warning); default: the date today.

    Returns
    -------
    tables, sources, problems
        The frames that loaded, their lineage, and every error and warning found. The warnings
        that need every table (small teams, people without a review, ...) are only looked for when
        there is no error.
    """
    tables: dict[InputName, pd.DataFrame] = {}
    sources: dict[InputName, Source] = {}
    problems: list[Problem] = []
    for name, spec in config.inputs.items():
        if name in skip:
            continue
        path = config.input_path(name)
        shown = _shown(config, name)
        try:
            frame = read_input(config, name, path, shown)
        except WorkbenchError as exc:
            problems.extend(getattr(exc, "problems", []))
            continue
        written = frame
        frame, parse_problems = parse(written, name, shown)
        if spec.format == "canonical":  # an adapter writes a vendor's times its own way
            problems.extend(times_without_zones(written, frame, name, shown))
        frame = _canonical_values(frame, name, config)
        problems.extend(parse_problems)
        unreadable = {(p.row, p.column) for p in parse_problems}  # one message per cell
        problems.extend(p for p in _schema_problems(frame, name, config, shown) if (p.row, p.column) not in unreadable)
        tables[name] = frame
        sources[name] = file_source(name, path, len(frame), spec.format)
    if "people" in tables:  # cross-table checks on whatever loaded; unreadable cells are already reported
        problems.extend(_cross_table_problems(tables, config))
    if not any(p.severity == "error" for p in problems) and {"people", "reviews"} <= set(tables):
        today = dt.date.today() if today is None else today
        problems.extend(_warnings(tables, config) + _suspicious(tables, config, today))
    return tables, sources, problems


def with_service(frame: pd.DataFrame, service: str) -> pd.DataFrame:
    """The config's service on every row that names none."""
    filled = frame["service"].fillna(service) if "service" in frame.columns else service
    return frame.assign(service=filled)


def _shown(config: CycleConfig, name: InputName) -> str:
    return str(config.inputs[name].path)


def _canonical_values(frame: pd.DataFrame, name: InputName, config: CycleConfig) -> pd.DataFrame:
    """Spellings a person would call the same: rating labels in any case (SLO targets: in the engine)."""
    if name == "reviews":
        for column in ("rating", "calibrated_rating"):
            if column in frame.columns:
                frame[column] = canonical_labels(frame[column], config)
    return frame


def _written(value: float) -> Decimal:
    """A number as the person wrote it (its shortest repr): 99.9, not 99.900000000000005684..."""
    return Decimal(repr(float(value)))


def low_slo_target(shown: str, row: int, value: float) -> Problem | None:
    """A warning when an SLO target reads below 50%: 1.5 is likelier a typo for 98.5 than an SLO of 1.5%."""
    if not 0 < value <= 100:
        return None
    written = _written(value)
    percent = written if written > 1 else written * 100
    if percent / 100 >= LOW_SLO_TARGET:
        return None
    meant = 100 - percent
    expected = (
        f"an SLO target of 50% or more ({_plain(written)} is read as {_plain(percent)}%: "
        f"did you mean {_plain(meant / 100)} or {_plain(meant)}?)"
    )
    return Problem(shown, row, "target", _plain(written), expected, "warning")


def _plain(number: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 98.5, 0.985, 30."""
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _schema_problems(frame: pd.DataFrame, name: InputName, config: CycleConfig, shown: str) -> list[Problem]:
    schema = schema_for(name, config, frame.columns)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return [_problem(shown, *row) for row in failure_rows(exc.failure_cases)]
    return []


def _problem(shown: str, column: str | None, row: int | None, value: object, expected: str) -> Problem:
    if expected == "column_in_dataframe":
        return Problem(shown, 1, str(value), None, f"a column named {value!s} in the header")
    if expected == "not_nullable":
        return Problem(shown, row, column, None, "a value (this column may not be empty)")
    if expected.startswith("dtype("):
        expected = f"values of type {expected[6:-1]}"
    shown_value = None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return Problem(shown, row, column, shown_value, expected)


# -- across tables -----------------------------------------------------------------------------


def _cross_table_problems(tables: dict[InputName, pd.DataFrame], config: CycleConfig) -> list[Problem]:
    people = tables["people"]
    if not {"employee_id", "manager_id"} <= set(people.columns):
        return []
    ids = pd.Index(people["employee_id"])
    people_file = _shown(config, "people")
    problems = _unknown(people, "manager_id", ids, people_file, f"the employee_id of a person in {people_file}")
    problems += _manager_loops(people, people_file)
    person_refs: dict[InputName, tuple[str, ...]] = {
        "reviews": ("employee_id", "reviewer_id"),
        "criteria_scores": ("employee_id",),
        "evidence": ("employee_id",),
        "peer_feedback": ("reviewer_id", "reviewee_id"),
        "expectations": ("employee_id",),
        "telemetry": ("employee_id",),
    }
    for name, columns in person_refs.items():
        if name in tables:
            for column in columns:
                problems += _unknown(
                    tables[name], column, ids, _shown(config, name), f"the employee_id of a person in {people_file}"
                )
    if "evidence" in tables and "date" in tables["evidence"].columns:
        problems += _outside_cycles(tables["evidence"], config)
    return problems


def _unknown(
    frame: pd.DataFrame,
    column: str,
    known: pd.Index,
    shown: str,
    expected: str,
    severity: str = "error",
) -> list[Problem]:
    if column not in frame.columns:  # already reported as a missing column
        return []
    values = frame[column]
    bad = values.notna() & ~is_in(values, known)
    return [Problem(shown, int(row), column, str(v), expected, severity) for row, v in values[bad].items()]


def _manager_loops(people: pd.DataFrame, shown: str) -> list[Problem]:
    """Every manager chain must end at a person with no manager."""
    manager_of = dict(zip(people["employee_id"], people["manager_id"], strict=True))
    row_of = dict(zip(people["employee_id"], people.index, strict=True))
    state: dict[str, str] = {}  # "open" while on the current path, "done" once known to end
    problems = []
    for start in manager_of:
        path: list[str] = []
        node = start
        while isinstance(node, str) and node in manager_of and node not in state:
            state[node] = "open"
            path.append(node)
            node = manager_of[node]
        if isinstance(node, str) and state.get(node) == "open":
            loop = path[path.index(node) :]
            chain = " -> ".join([*loop, node])
            problems.append(
                Problem(
                    shown,
                    int(row_of[node]),
                    "manager_id",
                    manager_of[node],
                    f"a manager chain that ends at the top, not the loop {chain}",
                )
            )
        for visited in path:
            state[visited] = "done"
    return problems


def _outside_cycles(evidence: pd.DataFrame, config: CycleConfig) -> list[Problem]:
    start = pd.Timestamp(min(c.start for c in config.cycles))
    end = pd.Timestamp(max(c.end for c in config.cycles))
    dates = evidence["date"]
    bad = dates.notna() & ((dates < start) | (dates > end))
    expected = f"a date inside the configured cycles, {start.date()} to {end.date()}"
    return [
        Problem(_shown(config, "evidence"), int(row), "date", str(d.date()), expected) for row, d in dates[bad].items()
    ]


def _suspicious(tables: dict[InputName, pd.DataFrame], config: CycleConfig, today: dt.date) -> list[Problem]:
    """Warnings on usable values that are probably wrong: future events, self-reviews."""
    warnings = []
    last_end = max(c.end for c in config.cycles)
    for name, columns in EVENTS.items():
        if name not in tables:
            continue
        for column, what, cycle_bound in columns:
            if column in tables[name].columns:
                warnings += _late_events(
                    tables[name][column], _shown(config, name), column, what, today, last_end if cycle_bound else None
                )
    if "reviews" in tables and {"employee_id", "reviewer_id"} <= set(tables["reviews"].columns):
        reviews = tables["reviews"]
        own = reviews["reviewer_id"].notna() & (reviews["reviewer_id"] == reviews["employee_id"])
        for row, who in reviews.loc[own, "employee_id"].items():
            expected = f"a reviewer other than the person reviewed ({who} reviews themself: no second view)"
            warnings.append(Problem(_shown(config, "reviews"), int(row), "reviewer_id", str(who), expected, "warning"))
    return warnings


def _late_events(
    when: pd.Series, shown: str, column: str, what: str, today: dt.date, last_end: dt.date | None
) -> list[Problem]:
    """One warning per value dated after today, or (when `last_end` is given) after the last cycle."""
    aware = isinstance(when.dtype, pd.DatetimeTZDtype)

    def day_after(day: dt.date) -> pd.Timestamp:
        return pd.Timestamp(day + dt.timedelta(days=1), tz="UTC" if aware else None)

    future = when.notna() & (when >= day_after(today))
    late = when.notna() & ~future & (when >= day_after(last_end)) if last_end else future & False
    problems = []
    for row, value in when[future | late].items():
        shown_value = value.isoformat() if aware else str(value.date())
        if future[row]:
            expected = (
                f"a date no later than today ({today}): {with_article(what)} in the future is a typo or a wrong clock"
            )
        else:
            expected = (
                f"a date inside the configured cycles (the last ends {last_end}): this {what} counts for no cycle"
            )
        problems.append(Problem(shown, int(row), column, shown_value, expected, "warning"))
    return problems


def _warnings(tables: dict[InputName, pd.DataFrame], config: CycleConfig) -> list[Problem]:
    people = tables["people"]
    people_file = _shown(config, "people")
    warnings = []
    sizes = people.groupby("team").size()
    for team, size in sizes[sizes < SMALL_TEAM].items():
        warnings.append(
            Problem(
                people_file,
                None,
                "team",
                str(team),
                f"at least {SMALL_TEAM} people per team (has {size}); its figures are fragile",
                "warning",
            )
        )
    if "evidence" in tables:
        evidence = tables["evidence"]
        no_url = evidence["url"].isna()
        for row in evidence.index[no_url]:
            warnings.append(
                Problem(
                    _shown(config, "evidence"),
                    int(row),
                    "url",
                    None,
                    "a link to the evidence, so the room can check it",
                    "warning",
                )
            )
    else:
        warnings.append(
            Problem(
                "config",
                None,
                "inputs",
                "evidence",
                "an evidence log; without it no evidence packet can be shown",
                "warning",
            )
        )
    if "services" in tables:
        owned = set(tables["services"]["team"].unique())
        for team in sorted(set(people["team"].unique()) - owned):
            warnings.append(
                Problem(
                    _shown(config, "services"),
                    None,
                    "team",
                    str(team),
                    "at least one service owned by each team; this team has no delivery or SLO context",
                    "warning",
                )
            )
    if not any(config.has(name) for name in ("deployments", "team_metrics")):
        warnings.append(
            Problem(
                "config",
                None,
                "inputs",
                None,
                "deployments or team_metrics; without them there is no delivery context",
                "warning",
            )
        )
    if "telemetry" in tables:
        telemetry = tables["telemetry"]
        banned = telemetry["metric"].map(config.metric_policy.kind) == "forbidden"
        for metric in sorted(set(telemetry.loc[banned, "metric"])):
            warnings.append(
                Problem(
                    _shown(config, "telemetry"),
                    None,
                    "metric",
                    metric,
                    "no forbidden metric (calib.inputs.policy); these rows are ignored everywhere",
                    "warning",
                )
            )
    reviews = tables["reviews"]
    reviewed = set(reviews.loc[reviews["cycle"] == config.cycle, "employee_id"])
    unreviewed = people.loc[~people["employee_id"].isin(reviewed)]
    if len(unreviewed):
        warnings.append(
            Problem(
                _shown(config, "reviews"),
                None,
                "employee_id",
                None,
                f"a review in {config.cycle} for every person; {len(unreviewed)} "
                f"{'has' if len(unreviewed) == 1 else 'have'} none ({', '.join(sorted(unreviewed['employee_id'])[:5])}"
                f"{', ...' if len(unreviewed) > 5 else ''})",
                "warning",
            )
        )
    return warnings


def read_input(config: CycleConfig, name: InputName, path: Path, shown: str) -> pd.DataFrame:
    """One input file as canonical columns: read (headers renamed), service filled, vendor format adapted.

    Raises
    ------
    InputError
        The file cannot be read (or is a folder), or lacks a column its format needs.
    """
    spec = config.inputs[name]
    if path.is_dir():
        raise InputError([_folder(config, name, path)])
    frame = read_table(
        path,
        display_name=shown,
        rename=config.columns.get(name),
        expected_columns=[c.name for c in CONTRACT[name]]
        if spec.format == "canonical"
        else adapters.expected_columns(spec.format, name),
        sheet=spec.sheet,
    )
    if spec.service is not None:
        frame = with_service(frame, spec.service)
    if spec.format != "canonical":
        frame = adapters.adapt(frame, spec.format, name, shown)
    return frame


def _folder(config: CycleConfig, name: InputName, path: Path) -> Problem:
    """A folder where the config names a file: said with the config's key (a folder of Parquet files
    is an event input the engine reads where it lies; one without any comes here)."""
    spec = config.inputs[name]
    parquet = name in EVENT_INPUTS and spec.format == "canonical" and spec.sheet is None
    if not parquet:
        expected = f"a file, but {path} is a folder"
    elif any(path.glob("*.parquet")):
        expected = (
            f"a file or a folder of .parquet files with the same columns, but those in {path} did not read together"
        )
    else:
        expected = f"a file or a folder of .parquet files, but {path} is a folder without any"
    return Problem(config.shown_source, None, f"inputs.{name}", str(spec.path), expected, column_label="key")
