"""The cycle config: one typed object, loaded once from YAML and passed down explicitly.

Paths inside the YAML are relative to the YAML file's folder.
"""

from __future__ import annotations

import datetime as dt
import difflib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calib.errors import ConfigError, Problem
from calib.inputs.policy import MetricPolicy

InputName = Literal[
    "people",
    "reviews",
    "criteria_scores",
    "evidence",
    "peer_feedback",
    "deployments",
    "changes",
    "incidents",
    "team_metrics",
    "slos",
    "services",
    "teams",
    "expectations",
    "telemetry",
]
REQUIRED_INPUTS: tuple[InputName, ...] = ("people", "reviews")
SERVICE_INPUTS: tuple[InputName, ...] = ("deployments", "incidents", "slos")  # rows that belong to a service
DATABASE_INPUTS: tuple[InputName, ...] = ("deployments", "changes", "incidents", "slos")  # may be database tables
DEFAULT_LEVELS = [f"L{i}" for i in range(1, 11)]
YAML_LIMIT = 10 << 20  # bytes: a config or leveling framework larger than this is not one (a data file named .yml?)
ENGINES = ("duckdb", "postgres", "postgresql", "pyspark", "sc")  # what `engine:` may name (before ://)
ENGINES_EXPECTED = (
    "duckdb (the default), pyspark (a local Spark session), a postgresql://user@host/db URL "
    "or an sc://host:15002 Spark Connect URL"
)


def engine_kind(text: str) -> str | None:
    """The kind of engine `text` names (duckdb, postgres, pyspark, sc), or None when it names none calib runs on."""
    scheme = text.split("://", 1)[0].strip().lower() if "://" in text else text.strip().lower()
    return ("postgres" if scheme == "postgresql" else scheme) if scheme in ENGINES else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CycleWindow(_Strict):
    """A review cycle and the dates it covers (both ends inclusive)."""

    id: str
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> CycleWindow:
        if self.end < self.start:
            raise ValueError(f"an end on or after the start ({self.start})")
        return self


class InputSpec(_Strict):
    """Where one input lives and how to read it.

    A file (`path`), or a table (`table`, for deployments, changes, incidents and SLO windows: read
    where they live, see calib.delivery.sources) in the database `connection` names, or without a
    connection in the cycle's engine (e.g. a Spark catalog table, `lake.deployments`).
    `format` picks an adapter for a vendor's export (team_metrics: devlake or fourkeys);
    `sheet` picks an Excel sheet by name or 0-based position; `service` names the service of
    every row that names none (an export without a service column, e.g. PagerDuty incidents).
    """

    path: Path | None = None
    connection: str | None = None  # a database (an Ibis URL: postgres://user@host/db); ${VAR} from the environment
    table: str | None = None  # the table in that database
    format: Literal["canonical", "devlake", "fourkeys"] = "canonical"
    sheet: str | int | None = None
    service: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> InputSpec:
        if (self.path is None) == (self.table is None):
            raise ValueError("either a path or a table (in the database `connection` names, or in the cycle's engine)")
        if self.connection is not None and self.table is None:
            raise ValueError("a connection and a table together")
        return self


class DoraSettings(_Strict):
    """How delivery metrics are computed and graded."""

    benchmark: Literal["dora-2021", "dora-2023"] = "dora-2023"
    production_environment: str = "production"
    min_sample: Annotated[int, Field(ge=1)] = 10  # fewer events than this: labelled small sample


class SessionSettings(_Strict):
    """Where calibration sessions are stored (calib.sessions) and the potential scale they use.

    `store` is a SQLite file path (relative to this file's folder) or a database URL such as
    `postgresql://host/db`; unset, the store is `reports/sessions.sqlite` in the working directory.
    `anchors` is the file every committed change appends the log's head to (relative to this
    file's folder; unset: `STORE.anchors` beside a SQLite store, none for a server). `key_file`
    holds the key that new sessions' hashes are keyed with (readable only by its owner; the
    environment variable CALIB_SESSION_KEY takes precedence).
    """

    store: str | None = None
    anchors: str | None = None
    key_file: str | None = None
    potential_scale: list[str] = Field(default_factory=lambda: ["low", "medium", "high"], min_length=2)


class CycleConfig(_Strict):
    """A review cycle: what is under review, on which scale, from which inputs."""

    cycle: str
    cycles: list[CycleWindow]
    rating_scale: list[str | float]
    levels: list[str] = Field(default_factory=lambda: list(DEFAULT_LEVELS))
    disciplines: list[str] | None = None  # when given, people.discipline must be one of these
    protected_attributes: list[str] = Field(default_factory=list)
    min_group_size: Annotated[int, Field(ge=1)] = 5
    score_range: tuple[float, float] = (1, 5)  # criteria and peer-feedback scores, both ends allowed
    inputs: dict[InputName, InputSpec]
    columns: dict[InputName, dict[str, str]] = Field(default_factory=dict)  # vendor header -> ours
    dora: DoraSettings = Field(default_factory=DoraSettings)
    guideline_curve: dict[str, float] | None = None  # rating label -> expected share; never enforced
    metric_policy: MetricPolicy = Field(default_factory=MetricPolicy)  # extends calib.inputs.policy's defaults
    links: dict[str, str] = Field(default_factory=dict)  # reference links: process, leveling framework, ...
    leveling_framework: Path | None = None  # YAML of criteria x levels (relative to this file)
    work_queries: dict[str, str] = Field(default_factory=dict)  # "finding your work" URL templates
    sessions: SessionSettings = Field(default_factory=SessionSettings)  # calibration session store
    engine: str | None = None  # where the delivery stage runs (ENGINES); None: DuckDB, or the inputs' database
    base_dir: Path = Path(".")
    source: Path | None = None

    @field_validator("inputs", mode="before")
    @classmethod
    def _paths_as_specs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str | None) -> str | None:
        if value is not None and engine_kind(value) is None:
            scheme = value.split("://", 1)[0] if "://" in value else value  # never the URL: it may hold a password
            raise ValueError(f"engine::{ENGINES_EXPECTED}, not {scheme!r}")
        return value

    @field_validator("rating_scale")
    @classmethod
    def _scale(cls, value: list[str | float]) -> list[str | float]:
        if len(value) < 2:
            raise ValueError("at least two ratings, lowest first")
        if len({str(v) for v in value}) != len(value):
            raise ValueError("each rating once")
        if all(isinstance(v, int | float) for v in value) and list(value) != sorted(value):
            raise ValueError("numbers listed lowest first")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CycleConfig:
        ids = [c.id for c in self.cycles]
        if len(set(ids)) != len(ids):
            raise ValueError(f"cycles::each cycle id once, got {ids}")
        if self.cycle not in ids:
            raise ValueError(f"cycle::one of the cycles listed ({', '.join(ids)}), got {self.cycle!r}")
        for name, spec in self.inputs.items():
            if spec.table is not None and name not in DATABASE_INPUTS:
                which = "connection" if spec.connection is not None else "table"
                raise ValueError(f"inputs.{name}.{which}::a file: only {', '.join(DATABASE_INPUTS)} may be tables")
            if spec.service is not None and name not in SERVICE_INPUTS:
                raise ValueError(f"inputs.{name}.service::service only on {', '.join(SERVICE_INPUTS)}")
        missing = [name for name in REQUIRED_INPUTS if name not in self.inputs]
        if missing:
            raise ValueError(f"inputs::an input named {', '.join(missing)} (required)")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("levels::each level once")
        if self.guideline_curve is not None:
            unknown = sorted(set(self.guideline_curve) - set(self.rating_labels))
            if unknown:
                raise ValueError(f"guideline_curve::labels from rating_scale, got {', '.join(unknown)}")
            shares = list(self.guideline_curve.values())
            if min(shares) < 0 or abs(sum(shares) - 1) > 0.01:
                raise ValueError(f"guideline_curve::non-negative shares summing to 1, got a sum of {sum(shares):g}")
        return self

    # -- derived ---------------------------------------------------------------------------
    @property
    def window(self) -> CycleWindow:
        """The window of the cycle under review."""
        return next(c for c in self.cycles if c.id == self.cycle)

    @property
    def rating_labels(self) -> list[str]:
        """The rating scale as text labels, lowest first (numbers shown without a trailing .0)."""
        return [_label(v) for v in self.rating_scale]

    def input_path(self, name: InputName) -> Path:
        """The absolute path of an input file."""
        return (self.base_dir / self.inputs[name].path).resolve()

    def shown(self, name: InputName) -> str:
        """How messages name an input: its path as written, or its table (never a password)."""
        spec = self.inputs[name]
        return str(spec.path) if spec.path is not None else f"table {spec.table}"

    def has(self, name: InputName) -> bool:
        """Whether the config names this input."""
        return name in self.inputs

    @property
    def shown_source(self) -> str:
        """How messages name this config file: its path from the working directory when under it."""
        if self.source is None:
            return "config"
        try:
            return str(self.source.relative_to(Path.cwd()))
        except ValueError:
            return str(self.source)
    def with_engine(self, engine: str | None, *, named_by: str = "--engine") -> CycleConfig:
        """This config with the delivery stage on `engine` (None: as configured).

        Raises
        ------
        ConfigError
            When `engine` names no engine calib runs on (the value shown without anything after ://).
        """
        if engine is None:
            return self
        if engine_kind(engine) is None:
            scheme = engine.split("://", 1)[0] if "://" in engine else engine
            raise ConfigError([Problem(named_by, None, None, scheme, ENGINES_EXPECTED)])
        return self.model_copy(update={"engine": engine})


def _label(value: str | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_config(path: str | Path) -> CycleConfig:
    """Read and check a cycle config.

    Raises
    ------
    ConfigError
        With one problem per mistake, naming the file and the key.
    """
    path = Path(path)
    name = str(path)
    raw = read_yaml(path, name, "a cycle config file (YAML)")
    if not isinstance(raw, dict):
        expected = f"a mapping of keys (cycle, inputs, ...), but it holds {_kind(raw)}"
        raise ConfigError([Problem(name, None, None, None, expected)])
    raw = {**raw, "base_dir": path.resolve().parent, "source": path.resolve()}
    try:
        return CycleConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([_problem(name, err) for err in exc.errors()]) from None


def read_yaml(path: Path, shown: str, what: str, like: str = "cycle") -> Any:
    """A small YAML file's contents, or one line saying why not.

    Parameters
    ----------
    path
        The file.
    shown
        How messages name it.
    what
        What it should be, e.g. "a cycle config file (YAML)".
    like
        Part of the name of the file meant, when a folder is given: the one YAML file there with it is named.

    Raises
    ------
    ConfigError
        It is missing (with the likeliest file meant), a folder, too large, not UTF-8 or not YAML.
    """

    def fail(expected: str, row: int | None = None) -> ConfigError:
        return ConfigError([Problem(shown, row, None, None, f"{what}, but {expected}")])

    if path.is_dir():
        meant = sorted(
            p.name for p in path.iterdir() if p.suffix.lower() in (".yml", ".yaml") and like in p.name.lower()
        )
        hint = f" (did you mean {path / meant[0]}?)" if len(meant) == 1 else ""
        raise fail(f"it is a folder{hint}")
    try:
        if path.stat().st_size > YAML_LIMIT:
            raise fail(f"it holds {path.stat().st_size:,} bytes: is it the file you meant?")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise fail(f"there is no such file{_likeliest(path)}") from None
    except UnicodeDecodeError as exc:
        raise fail("it is not UTF-8 text (is it a YAML file?)", exc.object[: exc.start].count(b"\n") + 1) from None
    except OSError as exc:
        raise fail(f"it cannot be read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        said = [getattr(exc, "context", None), getattr(exc, "problem", None)]
        said = ": ".join(" ".join(str(part).split()) for part in said if part) or " ".join(str(exc).split())
        at = "" if mark is None else f" at column {mark.column + 1}"
        tabs = "; indent with spaces, not tabs" if "'\\t'" in said else ""
        row = None if mark is None else mark.line + 1
        raise ConfigError([Problem(shown, row, None, None, f"valid YAML ({said}{at}{tabs})")]) from None


def _likeliest(path: Path) -> str:
    """' (did you mean ...?)' naming a YAML file beside `path` whose name is close to its name."""
    folder = path.parent
    if not folder.is_dir():
        return f" (nor a folder {folder})"
    names = [p.name for p in folder.iterdir() if p.suffix.lower() in (".yml", ".yaml")]
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    return f" (did you mean {folder / close[0]}?)" if close else ""


def _kind(value: Any) -> str:
    """What a YAML document holds, for a message."""
    if value is None:
        return "nothing (the file is empty)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a line of text (is it a YAML file?)"
    return f"a single value ({value!r})"


def _problem(name: str, err: Any) -> Problem:
    loc = [str(part) for part in err["loc"]]
    key = ".".join(part for part in loc if part != "[key]") or None
    value = err.get("input")
    shown = None if isinstance(value, dict | list) or value is None else str(value)
    kind = err["type"]
    if kind == "missing":
        expected = "this key (it is required)"
        shown = None
    elif kind == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], _KNOWN_KEYS, n=1, cutoff=0.7)
        hint = f"did you mean {close[0]}?" if close else "a typo? see data_samples/cycle.yml for the known keys"
        expected = f"no such key ({hint})"
    elif kind == "literal_error" and loc[:1] == ["inputs"] and loc[-1] == "[key]":
        close = difflib.get_close_matches(str(value), typing.get_args(InputName), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        expected = f"an input name: one of {', '.join(typing.get_args(InputName))}{hint}"
    elif kind == "model_type" and loc[:1] == ["inputs"] and len(loc) == 2:
        expected = "a file path, {path: FILE, ...} or {connection: URL, table: TABLE}"
    else:
        expected = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
        if "::" in expected:  # a check across keys names the key it is about
            key, expected = expected.split("::", 1)
            shown = None
    return Problem(name, None, key, shown, expected, column_label="key")


_KNOWN_KEYS = sorted(
    {
        field
        for model in (CycleConfig, CycleWindow, InputSpec, DoraSettings, SessionSettings, MetricPolicy)
        for field in model.model_fields
    }
)
