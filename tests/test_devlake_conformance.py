"""Apache DevLake's own DORA test tables, read through calib's path and compared with DevLake.

The tables are not copied into the project: they are read from the repository's parent folder,
``../shared/external/devlake/`` (its README names each file, what DevLake's test expects of it,
and DevLake's definitions). Each scenario of ``dashboard_results.json`` (DevLake's DORA
dashboard SQL run on those tables) becomes a calib cycle in a temporary folder: the DevLake
tables are named in its config as they are (``format: devlake``), DevLake's ``project_mapping``
is the services input (``row_id`` -> service, ``project_name`` -> team: a DevLake project is a
calib team), the one cycle spans the dashboard's range, and two people with one review stand in
for the inputs calib requires. The cycle goes through ``load_cycle`` (read, adapter, parse,
schemas, cross-file checks) and ``calib.delivery.dora``; then every quantity is compared:

- per scenario, the four panels under both reports (2023 and 2021) as the dashboard shows them:
  value and level, or N/A;
- per scenario, the production deployments (id, day, finish) the panels count;
- per PR, the lead time against ``project_pr_metrics`` (DevLake's expected output);
- per incident, its link against ``project_incident_deployment_relationships``;
- per PagerDuty and Opsgenie incident, the restore time against ``lead_time_minutes``;
- per generated deployment commit, the deployment its id names.

Where calib differs from DevLake on purpose, the README's definitions table says so (the phrases
in DOCUMENTED) and the comparison asserts that exact difference instead of equality. The
incident fixture's links reach calib as a DevLake user exports them: ``incidents`` left-joined to
``project_incident_deployment_relationships`` (the adapter reads the joined ``deployment_id``).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from calib.delivery.benchmarks import grade
from calib.delivery.dora import (
    change_lead_times,
    periods_from_cycles,
    production_deployments,
    team_dora,
    team_incidents,
)
from calib.delivery.sources import load_cycle
from calib.errors import ConfigError, InputError
from calib.inputs import adapters
from calib.inputs.config import load_config
from calib.inputs.load import read_table
from calib.inputs.validate import CycleData

DEVLAKE = Path(__file__).resolve().parents[1].parent / "shared" / "external" / "devlake"  # ../shared from the repo
CYCLE = "devlake"
YEARS = ("2023", "2021")
PANELS = ("deployment_frequency", "lead_time", "change_failure_rate", "recovery")
LEAD_TIME = "dora_e2e/change_lead_time"
INCIDENT = "dora_e2e/connect_incident_to_deployment"
SCENARIOS: dict[str, dict[str, object]] = {
    "change_lead_time/project1": {
        "deployments": f"{LEAD_TIME}/cicd_deployment_commits.csv",
        "changes": f"{LEAD_TIME}/project_pr_metrics.csv",
        "mapping": f"{LEAD_TIME}/project_mapping.csv",
    },
    "change_lead_time/project2": {
        "deployments": f"{LEAD_TIME}/cicd_deployment_commits.csv",
        "changes": f"{LEAD_TIME}/project_pr_metrics.csv",
        "mapping": f"{LEAD_TIME}/project_mapping.csv",
    },
    "change_lead_time_two_weeks/project1": {
        "deployments": f"{LEAD_TIME}/cicd_deployment_commits.csv",
        "changes": f"{LEAD_TIME}/project_pr_metrics.csv",
        "mapping": f"{LEAD_TIME}/project_mapping.csv",
    },
    "connect_incident_to_deployment/project1": {
        "deployments": f"{INCIDENT}/prev_success_deployment_commit/cicd_deployment_commits_after.csv",
        "incidents": "joined",
        "mapping": f"{INCIDENT}/raw_tables/project_mapping.csv",
    },
    "connect_incident_to_deployment/project2": {
        "deployments": f"{INCIDENT}/prev_success_deployment_commit/cicd_deployment_commits_after.csv",
        "incidents": "joined",
        "mapping": f"{INCIDENT}/raw_tables/project_mapping.csv",
    },
    "deployment_generator/project1": {
        "deployments": "dora_e2e/deployment_generator/cicd_deployment_commits.csv",
        "mapping": "dora_e2e/deployment_generator/project_mapping.csv",
    },
    "gitlab_deployments/gl": {
        "deployments": "gitlab_e2e/snapshot_tables/cicd_deployment_commits.csv",
        "services": {"gitlab:GitlabProject:1:12345678": "gl"},
    },
    "pagerduty_incidents/pd": {
        "incidents": "pagerduty_e2e/snapshot_tables/issues.csv",
        "incident_service": "pagerduty",  # DevLake's issues table names no scope: the config does
        "services": {"pagerduty": "pd"},
    },
    "opsgenie_incidents/og": {
        "incidents": "opsgenie_e2e/snapshot_tables/issues.csv",
        "incident_service": "opsgenie",
        "services": {"opsgenie": "og"},
    },
}
DOCUMENTED = {  # difference -> the phrase naming it in the README's definitions table
    "median": "ordinary median",
    "no_deployments": "no production deployment",
    "minutes": "whole minutes",
    "lead_time_end": "end of a lead time",
    "recovery_2023": "failed deployment recovery time",
}
NEEDS = {  # the inputs a panel rests on
    "deployment_frequency": ("deployments",),
    "lead_time": ("deployments", "changes"),
    "change_failure_rate": ("deployments", "incidents"),
    "recovery": ("incidents",),
}


@dataclass(frozen=True)
class Quantity:
    """One quantity DevLake's tests or dashboard state, and whether calib agrees."""

    name: str
    agrees: bool
    detail: str
    documented: str | None = None  # the DOCUMENTED key when calib differs on purpose


@dataclass
class Loaded:
    """A scenario as calib loaded it; inputs that failed are left out and named in `failed`."""

    key: str
    project: str
    data: CycleData | None
    errors: list[str] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)


def devlake_folder() -> Path:
    """The fixtures' folder; a missing folder fails the tests (CI always lays it out)."""
    if not (DEVLAKE / "dashboard_results.json").is_file():
        pytest.fail(
            f"DevLake's test tables are missing: expected {DEVLAKE}, i.e. the repository's parent "
            "folder / shared/external/devlake, as CI lays it out; put (or link) shared/ beside the repository",
            pytrace=False,
        )
    return DEVLAKE


# -- building and loading a scenario -------------------------------------------------------------


def _joined_incidents(folder: Path, out: Path) -> Path:
    """DevLake's incidents left-joined to its incident -> deployment links, as a user exports them."""
    links = {
        row["id"]: row["deployment_id"]
        for row in _rows(folder / INCIDENT / "snapshot_tables" / "project_incident_deployment_relationships.csv")
    }
    with (folder / INCIDENT / "raw_tables" / "incidents.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [{**row, "deployment_id": links.get(row["id"], "")} for row in reader]
        columns = [*(reader.fieldnames or []), "deployment_id"]
    target = out / "incidents_with_deployments.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return target


def _write_cycle(folder: Path, key: str, scenario: dict, start: str, end: str, out: Path, skip: set[str]) -> Path:
    project = scenario["project"]
    spec = SCENARIOS[key]
    out.mkdir(parents=True, exist_ok=True)
    (out / "people.csv").write_text(
        "employee_id,name,manager_id,team,discipline,level\n"
        f"P1,Pat Lead,,{project},engineering,L5\nP2,Sam Dev,P1,{project},engineering,L3\n",
        encoding="utf-8",
    )
    (out / "reviews.csv").write_text(f"cycle,employee_id,reviewer_id,rating\n{CYCLE},P2,P1,Meets\n", encoding="utf-8")
    inputs = ["  people: people.csv", "  reviews: reviews.csv"]
    columns = ""
    if "mapping" in spec:
        inputs.append(f"  services: {{path: '{folder / spec['mapping']}'}}")
        columns = "columns:\n  services: {row_id: service, project_name: team}\n"
    else:
        lines = [f"{service},{team}" for service, team in spec["services"].items()]
        (out / "services.csv").write_text("service,team\n" + "\n".join(lines) + "\n", encoding="utf-8")
        inputs.append("  services: services.csv")
    for name in ("deployments", "changes", "incidents"):
        if name not in spec or name in skip:
            continue
        path = _joined_incidents(folder, out) if spec[name] == "joined" else folder / spec[name]
        extra = f", service: {spec['incident_service']}" if name == "incidents" and "incident_service" in spec else ""
        inputs.append(f"  {name}: {{path: '{path}', format: devlake{extra}}}")
    (out / "cycle.yml").write_text(
        f"cycle: {CYCLE}\ncycles:\n  - {{id: {CYCLE}, start: {start}, end: {end}}}\n"
        "rating_scale: [Below, Meets, Above]\ninputs:\n" + "\n".join(inputs) + "\n" + columns,
        encoding="utf-8",
    )
    return out / "cycle.yml"


def _load(folder: Path, key: str, scenario: dict, out: Path, engine: str | None = None) -> Loaded:
    """Load a scenario (on `engine`, default DuckDB); an input with errors is reported and left out."""
    start, end = (day[:10] for day in scenario["range"])
    loaded = Loaded(key, scenario["project"], None)
    for _attempt in range(4):
        path = _write_cycle(folder, key, scenario, start, end, out, loaded.failed)
        try:
            config = load_config(path).with_engine(engine)
        except ConfigError as exc:
            loaded.errors += [str(p) for p in exc.problems]
            loaded.failed |= {n for n in ("deployments", "changes", "incidents") if n in SCENARIOS[key]}
            return loaded
        try:
            loaded.data = load_cycle(config)
            return loaded
        except InputError as exc:
            shown = {str(spec.path): name for name, spec in config.inputs.items()}
            errors = [p for p in exc.problems if p.severity == "error"]
            loaded.errors += [str(p) for p in errors]
            loaded.failed |= {shown.get(p.file, p.file) for p in errors}
    return loaded


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- calib's figures ---------------------------------------------------------------------------


def _metrics(loaded: Loaded) -> dict[str, dict[str, object]]:
    """calib's metrics for the scenario's project under each report: year -> column -> value."""
    empty = {year: {} for year in YEARS}
    if loaded.data is None:
        return empty
    data = loaded.data
    dora = team_dora(data, periods_from_cycles(data.config.cycles))
    rows = dora[(dora["team"] == loaded.project) & (dora["period"] == CYCLE)]
    if rows.empty:
        return empty
    levels = [c for c in rows.columns if c.endswith("_level")]
    regraded = grade(rows.drop(columns=levels), "dora-2021")
    return {"2023": rows.iloc[0].to_dict(), "2021": regraded.iloc[0].to_dict()}


def _deployments(loaded: Loaded) -> pd.DataFrame | None:
    """calib's production deployments of the project inside the range (None: no deployments input)."""
    data = loaded.data
    if data is None or not data.has("deployments"):
        return None
    window = data.config.window
    deploys = production_deployments(data["deployments"], data["services"], data.config.dora.production_environment)
    inside = (deploys["day"] >= pd.Timestamp(window.start)) & (deploys["day"] <= pd.Timestamp(window.end))
    return deploys[(deploys["team"] == loaded.project) & inside]


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


# -- DevLake's figures -------------------------------------------------------------------------

SHOWN = {
    "deployment_frequency": re.compile(
        r"^(?P<value>[\d.]+) deployment days per (?P<unit>week|month)\((?P<level>\w+)\)$"
    ),
    "change_failure_rate": re.compile(r"^(?P<value>[\d.]+)%\((?P<level>\w+)\)$"),
    "lead_time": re.compile(r"^(?P<value>[\d.]+)\((?P<level>\w+)\)$"),
    "recovery": re.compile(r"^(?P<value>[\d.]+)\((?P<level>\w+)\)$"),
}


def _shown(panel: str, text: str) -> dict[str, str] | None:
    """A panel's text as value, level (and unit); None for N/A and "No data"."""
    if text.startswith("N/A") or text == "No data":
        return None
    match = SHOWN[panel].match(text)
    assert match, f"unexpected {panel} panel text {text!r}"
    return match.groupdict()


def _lower_median(values: Iterable[float]) -> float:
    """DevLake's median: the largest value whose percent_rank is at most 0.5."""
    ordered = sorted(values)
    n = len(ordered)
    ranks = [0.0 if n == 1 else (ordered.index(v)) / (n - 1) for v in ordered]
    return max(v for v, r in zip(ordered, ranks, strict=True) if r <= 0.5)


# -- comparisons -------------------------------------------------------------------------------


def _panel(loaded: Loaded, panels: dict, metrics: dict, panel: str, year: str) -> Quantity:
    name = f"{loaded.key} {panel}/{year}"
    shown = panels[f"{panel}/{year}"]["shown"][0][0]
    devlake = _shown(panel, shown)
    spec = SCENARIOS[loaded.key]
    broken = [n for n in NEEDS[panel] if n in loaded.failed]
    if broken:
        return Quantity(name, False, f"DevLake {shown!r}; calib could not load {', '.join(broken)}")
    row = metrics[year]
    column = {
        "deployment_frequency": "deployment_frequency",
        "lead_time": "lead_time",
        "change_failure_rate": "change_failure_rate",
        "recovery": "time_to_restore",
    }[panel]
    level = row.get(f"{column}_level")
    level = None if _missing(level) else str(level)
    if panel == "deployment_frequency":
        return _deployment_frequency(name, shown, devlake, row, level, panels[f"{panel}/{year}"], year)
    value = {
        "lead_time": row.get("lead_time_hours"),
        "change_failure_rate": row.get("change_failure_rate"),
        "recovery": row.get("time_to_restore_hours"),
    }[panel]
    if devlake is None:
        if level is None:
            return Quantity(name, True, "N/A in both")
        if panel == "recovery" and year == "2023" and "deployments" not in spec:
            # DevLake's 2023 panel measures from a deployment, so it needs deployments; calib's restore
            # time (incident start to resolution) does not: it is DevLake's 2021 figure, on the 2023
            # cut-offs (which are the 2021 ones: < 1 h, < 24 h, < 7 d)
            as_2021 = _shown("recovery", panels["recovery/2021"]["shown"][0][0])
            agrees = as_2021 is not None and (as_2021["value"], as_2021["level"]) == (f"{value:.1f}", level)
            detail = f"DevLake {shown!r}, its 2021 panel {as_2021}; calib {value:.4f} h ({level})"
            return Quantity(name, agrees, detail, documented="recovery_2023")
        return Quantity(name, False, f"DevLake {shown!r}; calib {value!r} ({level})")
    if level is None or _missing(value):
        return Quantity(name, False, f"DevLake {shown!r}; calib N/A")
    text = f"{value * 100:.1f}" if panel == "change_failure_rate" else f"{value:.1f}"
    agrees = text == devlake["value"] and level == devlake["level"]
    return Quantity(name, agrees, f"DevLake {shown!r}; calib {text}({level})")


def _deployment_frequency(
    name: str, shown: str, devlake: dict | None, row: dict, level: str | None, panel: dict, year: str
) -> Quantity:
    per_week, per_month = row.get("deploy_days_per_week"), row.get("deploy_days_per_month")
    if devlake is None:
        if level is None:
            return Quantity(name, True, "N/A in both")
        if level == "low" and row.get("deployments") == 0:
            return Quantity(name, True, f"DevLake {shown!r}; calib low on 0 deployments", documented="no_deployments")
        return Quantity(name, False, f"DevLake {shown!r}; calib {level}")
    figure = per_week if devlake["unit"] == "week" else per_month
    calib = f"{figure:g} deployment days per {devlake['unit']}({level})"
    if level == devlake["level"] and float(devlake["value"]) == figure:
        return Quantity(name, True, f"DevLake {shown!r}; calib {calib!r}")
    # the ordinary median of DevLake's own weekly and monthly rows, graded as calib grades
    weeks = [float(days) for _week, days in panel["raw1"]["rows"]]
    months = [float(days) for _month, days in panel["raw2"]["rows"]]
    lower = [float(v) for v in panel["raw0"]["rows"][0][:2]]
    explained = (
        per_week == float(np.median(weeks))
        and per_month == float(np.median(months))
        and lower == [_lower_median(weeks), _lower_median(months)]
        and _grade_days(lower[0], lower[1], row["deploy_days_per_half_year"], year) == devlake["level"]
    )
    return Quantity(
        name,
        explained,
        f"DevLake {shown!r}; calib {per_week:g}/week, {per_month:g}/month ({level})",
        documented="median",
    )


def _grade_days(per_week: float, per_month: float, per_half_year: float, year: str) -> str:
    frame = pd.DataFrame(
        [
            {
                "deploy_days_per_week": per_week,
                "deploy_days_per_month": per_month,
                "deploy_days_per_half_year": per_half_year,
                "lead_time_hours": np.nan,
                "change_failure_rate": np.nan,
                "time_to_restore_hours": np.nan,
            }
        ]
    )
    return str(grade(frame, f"dora-{year}").iloc[0]["deployment_frequency_level"])


def _deployment_list(loaded: Loaded, panels: dict) -> Quantity:
    name = f"{loaded.key} production deployments"
    days = sorted((d, day) for d, day in panels["deployment_frequency/2023"]["raw3"]["rows"])
    finished = {d: when for d, when, _ in panels["change_failure_rate/2023"]["raw1"]["rows"]}
    if "deployments" in loaded.failed:
        return Quantity(name, False, f"DevLake {days}; calib could not load the deployments")
    deploys = _deployments(loaded)
    if deploys is None:
        return Quantity(name, days == [], f"DevLake {days}; calib has no deployments input")
    calib = sorted(zip(deploys["deployment_id"], deploys["day"].dt.strftime("%Y-%m-%d"), strict=True))
    ends = {
        d: t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        for d, t in zip(deploys["deployment_id"], deploys["finished_at"], strict=True)
    }
    same_ends = all(ends.get(d) == when for d, when in finished.items())
    return Quantity(name, calib == days and same_ends, f"DevLake {days} {finished}; calib {calib} {ends}")


def scenario_quantities(loaded: Loaded, scenario: dict) -> list[Quantity]:
    """The dashboard's panels and the production deployments of one scenario."""
    metrics = _metrics(loaded)
    panels = scenario["panels"]
    out = [_deployment_list(loaded, panels)]
    out += [_panel(loaded, panels, metrics, panel, year) for panel in PANELS for year in YEARS]
    return out


def _devlake_cycle_minutes(
    first: pd.Timestamp, created: pd.Timestamp, merged: pd.Timestamp, deployed: pd.Timestamp
) -> int:
    """DevLake's pr_cycle_time: coding + review + deploy spans, each ceil to minutes, negative ones dropped."""
    spans = [(created - first), (merged - created), (deployed - merged)]
    return sum(math.ceil(s / pd.Timedelta(minutes=1)) for s in spans if s >= pd.Timedelta(0))


def pr_quantities(folder: Path, loaded: Loaded, panels: dict) -> list[Quantity]:
    """Per PR of project_pr_metrics: deployed or not, and the lead time against pr_cycle_time."""
    prs = _rows(folder / LEAD_TIME / "project_pr_metrics.csv")
    deployment_of = {
        r["id"]: r["cicd_deployment_id"] for r in _rows(folder / LEAD_TIME / "cicd_deployment_commits.csv")
    }
    finished = {d: pd.Timestamp(when, tz="UTC") for d, when, _ in panels["change_failure_rate/2023"]["raw1"]["rows"]}
    data = loaded.data
    leads = None
    if data is not None and data.has("changes") and data.has("deployments"):
        environment = data.config.dora.production_environment
        leads = change_lead_times(data["deployments"], data["services"], data["changes"], environment)
    out = []
    for pr in prs:
        name = f"project_pr_metrics {pr['id']}"
        if leads is None:
            out.append(Quantity(name, False, "calib could not load project_pr_metrics"))
            continue
        hours = leads.loc[leads["change_id"] == pr["id"], "hours"]
        if not pr["deployment_commit_id"]:
            out.append(Quantity(name, hours.empty, f"not deployed in DevLake; calib lead times {hours.tolist()}"))
            continue
        if len(hours) != 1:
            out.append(Quantity(name, False, f"DevLake {pr['pr_cycle_time']} min; calib lead times {hours.tolist()}"))
            continue
        when = {
            k: pd.Timestamp(pr[k])
            for k in ("first_commit_authored_date", "pr_created_date", "pr_merged_date", "pr_deployed_date")
        }
        devlake = _devlake_cycle_minutes(*when.values())
        start = min(when["first_commit_authored_date"], when["pr_created_date"])
        end = finished[deployment_of[pr["deployment_commit_id"]]]  # the deployment's finish, not the commit's
        expected = (end - start) / pd.Timedelta(minutes=1)
        minutes = float(hours.iloc[0]) * 60
        agrees = devlake == int(pr["pr_cycle_time"]) and abs(minutes - expected) < 1e-6
        out.append(
            Quantity(
                name,
                agrees,
                f"DevLake {pr['pr_cycle_time']} min (its rule gives {devlake}); calib "
                f"{minutes:.2f} min, {expected:.2f} from {start} to the deployment's finish {end}",
                documented="lead_time_end",
            )
        )
    return out


def link_quantities(folder: Path, loaded: Loaded) -> list[Quantity]:
    """Per DevLake incident -> deployment link: calib holds it and counts that deployment."""
    links = _rows(folder / INCIDENT / "snapshot_tables" / "project_incident_deployment_relationships.csv")
    data = loaded.data
    out = []
    for link in links:
        name = f"incident {link['id']} -> {link['deployment_id']}"
        if data is None or not data.has("incidents") or not data.has("deployments"):
            out.append(Quantity(name, False, "calib could not load the incidents or deployments"))
            continue
        incidents = data["incidents"].set_index("incident_id")
        deploys = production_deployments(data["deployments"], data["services"], data.config.dora.production_environment)
        held = (
            link["id"] in incidents.index
            and incidents.loc[link["id"], "caused_by_deployment_id"] == link["deployment_id"]
        )
        counted = link["deployment_id"] in set(deploys.loc[deploys["team"] == link["project_name"], "deployment_id"])
        out.append(Quantity(name, bool(held and counted), f"link held: {held}; deployment counted: {counted}"))
    return out


def incident_quantities(folder: Path, loaded: Loaded, table: str) -> list[Quantity]:
    """Per incident of a PagerDuty or Opsgenie snapshot: resolved or not, and whole minutes to resolve."""
    data = loaded.data
    out = []
    for row in _rows(folder / table):
        name = f"{table.split('_')[0]} incident {row['id']}"
        if data is None or not data.has("incidents"):
            out.append(Quantity(name, False, "calib could not load the incidents"))
            continue
        owned = team_incidents(data["incidents"], data["services"]).set_index("incident_id")
        if row["id"] not in owned.index:
            out.append(Quantity(name, False, "calib does not hold the incident"))
            continue
        hours = owned.loc[row["id"], "hours"]
        if not row["lead_time_minutes"]:
            out.append(Quantity(name, bool(pd.isna(hours)), f"unresolved in DevLake; calib {hours} h"))
            continue
        minutes = float(hours) * 60
        agrees = math.floor(minutes + 1e-9) == int(row["lead_time_minutes"])
        out.append(
            Quantity(
                name, agrees, f"DevLake {row['lead_time_minutes']} min; calib {minutes:.3f} min", documented="minutes"
            )
        )
    return out


def generated_id_quantities(folder: Path) -> list[Quantity]:
    """Per deployment commit DevLake generated from a pipeline: calib finds its deployment from the id."""
    path = folder / "dora_e2e" / "deployment_generator" / "cicd_deployment_commits.csv"
    commits = read_table(path, display_name=path.name)
    prs = pd.DataFrame(
        {
            "id": [f"pr{i}" for i in range(len(commits))],
            "deployment_commit_id": commits["id"].to_numpy(),
            "created_date": "2022-03-07T00:00:00Z",
        },
        index=commits.index,
    )
    out = adapters.adapt(prs, "devlake", "changes", "project_pr_metrics")
    return [
        Quantity(f"generated deployment commit {commit}", found == deployment, f"DevLake {deployment}; calib {found}")
        for commit, deployment, found in zip(
            commits["id"], commits["cicd_deployment_id"], out["deployment_id"].reindex(commits.index), strict=True
        )
    ]


# -- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conformance(tmp_path_factory) -> dict[str, object]:
    """Every scenario loaded and every quantity compared, once for the module."""
    folder = devlake_folder()
    results = json.loads((folder / "dashboard_results.json").read_text(encoding="utf-8"))["scenarios"]
    assert sorted(results) == sorted(SCENARIOS), "dashboard_results.json has other scenarios than this test knows"
    root = tmp_path_factory.mktemp("devlake")
    loaded = {key: _load(folder, key, results[key], root / key.replace("/", "__")) for key in SCENARIOS}
    groups: dict[str, list[Quantity]] = {key: scenario_quantities(loaded[key], results[key]) for key in SCENARIOS}
    groups["per-PR lead times"] = pr_quantities(
        folder, loaded["change_lead_time/project1"], results["change_lead_time/project1"]["panels"]
    )
    groups["incident links"] = link_quantities(folder, loaded["connect_incident_to_deployment/project1"])
    groups["incident durations"] = incident_quantities(
        folder, loaded["pagerduty_incidents/pd"], "pagerduty_e2e/snapshot_tables/issues.csv"
    ) + incident_quantities(folder, loaded["opsgenie_incidents/og"], "opsgenie_e2e/snapshot_tables/issues.csv")
    groups["generated deployment ids"] = generated_id_quantities(folder)
    return {"loaded": loaded, "groups": groups}


def _report(quantities: list[Quantity]) -> str:
    return "\n".join(f"  {q.name}: {q.detail}" for q in quantities if not q.agrees)


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_every_devlake_table_loads_without_errors(conformance, key):
    loaded = conformance["loaded"][key]
    assert loaded.errors == [], "\n".join(loaded.errors)


@pytest.mark.parametrize(
    "group", [*SCENARIOS, "per-PR lead times", "incident links", "incident durations", "generated deployment ids"]
)
def test_calib_agrees_with_devlake(conformance, group):
    quantities = conformance["groups"][group]
    assert quantities, "nothing compared"
    assert all(q.agrees for q in quantities), f"{group}: calib differs from DevLake:\n{_report(quantities)}"


def test_agreement_count(conformance):
    quantities = [q for group in conformance["groups"].values() for q in group]
    agreeing = sum(q.agrees for q in quantities)
    documented = sorted({q.documented for q in quantities if q.agrees and q.documented})
    print(
        f"\nDevLake conformance: {agreeing} of {len(quantities)} quantities agree "
        f"(documented differences used: {', '.join(documented) or 'none'})"
    )
    assert agreeing == len(quantities), f"{agreeing} of {len(quantities)} agree:\n{_report(quantities)}"


def test_every_documented_difference_is_in_the_readme_definitions_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Definitions") :]
    missing = [phrase for phrase in DOCUMENTED.values() if phrase not in table]
    assert missing == [], f"README's definitions table does not name: {missing}"
