"""The scoped snapshot: one manager's cut, written as files, the only data an explorer kernel reads.

`write_scoped` writes what the explorer shows and nothing more: the cut's tables as Parquet (only
the columns the explorer and the alignment document read: no protected attributes, no peer
comments, no raw deployments), the team delivery and SLO tables, the cycle's settings as JSON
with every input path pointing inside the folder (never at the original inputs), the leveling
framework as JSON, and a manifest naming the manager. `load_scoped` reads it back into an
`Explorer` without touching anything outside the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from calib.apps.explorer.model import Explorer
from calib.frame import PEOPLE_COLUMNS, Normalized
from calib.inputs.config import CycleConfig
from calib.inputs.cycle import CycleData
from calib.inputs.leveling import Criterion, Leveling

FORMAT = 2  # raise when write_scoped writes something new: older folders are then rebuilt
COLUMNS = {  # input -> the columns kept (those present); anything else, extra columns included, is left out
    "people": (*PEOPLE_COLUMNS, "handle"),
    "reviews": (
        "cycle",
        "employee_id",
        "reviewer_id",
        "rating",
        "calibrated_rating",
        "potential",
        "promotion_recommended",
    ),
    "criteria_scores": ("cycle", "employee_id", "criterion", "score"),
    "evidence": ("employee_id", "date", "category", "criterion", "kind", "title", "url", "project"),
    "peer_feedback": ("cycle", "reviewer_id", "reviewee_id", "relationship", "criterion", "score"),
    "expectations": ("cycle", "employee_id", "expectation", "key_steps", "status"),
    "telemetry": ("cycle", "employee_id", "metric", "value"),
    "teams": ("team", "org", "team_type"),
    "services": ("service", "team"),
}
FRAME_COLUMNS = (
    "cycle",
    "employee_id",
    "reviewer_id",
    "rating",
    "calibrated_rating",
    "final_rating",
    "rating_value",
    "final_value",
    *PEOPLE_COLUMNS[1:],
    "evidence_delivery_n",
    "evidence_reliability_n",
    "evidence_influence_n",
)


def write_scoped(
    cut: Normalized, leveling: Leveling | None, manager_id: str, folder: Path, *, session: dict | None = None
) -> Path:
    """Write one manager's cut (calib.scope.filter_subtree) into `folder`; returns the folder.

    `session` says which calibration session's ratings the cut holds as after calibration (its name,
    status, event count, head hash and when it was read; calib.apps.explorer.model.SESSION_FIELDS).
    """
    from calib.files import write_text_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = cut.data
    protected = set(data.config.protected_attributes)
    written = []
    for name, columns in COLUMNS.items():
        if data.has(name):
            table = data[name]
            keep = [c for c in columns if c in table.columns and c not in protected]
            table[keep].reset_index(drop=True).to_parquet(folder / f"{name}.parquet", index=False)
            written.append(name)
    keep = [c for c in FRAME_COLUMNS if c in cut.frame.columns and c not in protected]
    cut.frame[keep].to_parquet(folder / "frame.parquet", index=False)
    cut.team_dora.to_parquet(folder / "team_dora.parquet", index=False)
    cut.team_slos.to_parquet(folder / "team_slos.parquet", index=False)
    settings = data.config.model_dump(
        mode="json", exclude={"inputs", "columns", "leveling_framework", "base_dir", "source"}
    )
    settings["inputs"] = {name: f"{name}.parquet" for name in written}
    write_text_atomic(folder / "config.json", json.dumps(settings, indent=1) + "\n")  # key order kept: work_queries
    framework = None
    if leveling is not None:
        criteria = [{"name": c.name, "description": c.description, "levels": c.levels} for c in leveling.criteria]
        framework = {"name": leveling.name, "criteria": criteria}
    write_text_atomic(folder / "leveling.json", json.dumps(framework, indent=1) + "\n")
    manifest = {"format": FORMAT, "manager_id": manager_id, "inputs": written, "session": session}
    write_text_atomic(folder / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    (folder / "done").write_text("ok\n")
    return folder


def load_scoped(folder: str | Path) -> Explorer:
    """The `Explorer` of a folder `write_scoped` wrote (a UsageError when it is not one)."""
    from calib.errors import UsageError

    folder = Path(folder)
    if not (folder / "done").is_file():
        raise UsageError(f"{folder} is not a scoped snapshot (written by `calib explore`)")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    settings = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config = CycleConfig.model_validate({**settings, "base_dir": folder.resolve(), "source": None})
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in manifest["inputs"]}
    normalized = Normalized(
        CycleData(config, tables, {}, []),
        pd.read_parquet(folder / "frame.parquet"),
        pd.read_parquet(folder / "team_dora.parquet"),
        pd.read_parquet(folder / "team_slos.parquet"),
    )
    framework = json.loads((folder / "leveling.json").read_text(encoding="utf-8"))
    leveling = None
    if framework is not None:
        criteria = tuple(Criterion(c["name"], c["description"], dict(c["levels"])) for c in framework["criteria"])
        leveling = Leveling(framework["name"], criteria)
    return Explorer(normalized, leveling, str(manifest["manager_id"]), manifest.get("session"))
