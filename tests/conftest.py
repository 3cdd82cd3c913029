"""Shared fixtures: a tiny hand-checkable cycle written into a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from pg_server import postgres_server, store_url  # noqa: F401  (fixtures: a throwaway PostgreSQL, a fresh store)
from spark_session import spark  # noqa: F401  (fixture: the local Spark session the tests share)

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent

TINY_CONFIG = """\
cycle: 2026-H1
cycles:
  - {id: 2025-H2, start: 2025-07-01, end: 2025-12-31}
  - {id: 2026-H1, start: 2026-01-01, end: 2026-06-30}
rating_scale: [Does not meet, Partially meets, Meets, Exceeds, Far exceeds]
levels: [L1, L2, L3, L4, L5, L6]
protected_attributes: [gender]
min_group_size: 5
inputs:
  people: people.csv
  reviews: reviews.csv
  evidence: evidence.csv
  deployments: deployments.csv
  incidents: incidents.csv
  slos: slos.csv
  services: services.csv
"""

TINY_FILES = {
    "people.csv": """\
employee_id,name,manager_id,team,discipline,level,gender
E1,Ada Top,,lead,engineering,L6,woman
E2,Bo Manager,E1,api,engineering,L5,man
E3,Cy Dev,E2,api,engineering,L3,man
E4,Di Dev,E2,api,product,L4,woman
E5,Ed Dev,E2,api,engineering,L2,
E6,Fa Lead,E1,lead,design,L5,woman
E7,Gu Lead,E1,lead,data,L4,man
""",
    "reviews.csv": """\
cycle,employee_id,reviewer_id,rating,calibrated_rating
2026-H1,E2,E1,Meets,
2026-H1,E3,E2,Exceeds,Meets
2026-H1,E4,E2,meets,
2026-H1,E5,E2,Partially meets,
2026-H1,E6,E1,Far exceeds,
2026-H1,E7,E1,Meets,
2025-H2,E3,E2,Meets,
""",
    "evidence.csv": """\
employee_id,date,category,kind,title,url
E3,2026-02-01,delivery,pr,Ship the API,https://git.example/1
E3,2026-06-20,reliability,postmortem,Outage review,https://docs.example/2
E4,2026-03-03,influence,mentoring,Mentored Ed,
""",
    "deployments.csv": """\
deployment_id,service,finished_at,result,environment,lead_time_hours
D1,api-svc,2026-01-05T10:00:00Z,SUCCESS,production,2
D2,api-svc,2026-01-05T15:00:00Z,SUCCESS,production,4
D3,api-svc,2026-01-07T09:00:00Z,FAILURE,production,1
D4,api-svc,2026-01-08T09:00:00Z,SUCCESS,staging,1
D5,api-svc,2026-01-14T09:00:00Z,SUCCESS,production,30
""",
    "incidents.csv": """\
incident_id,service,started_at,resolved_at,caused_by_deployment_id,severity
I1,api-svc,2026-01-05T16:00:00Z,2026-01-05T18:30:00Z,D2,sev2
I2,api-svc,2026-02-01T00:00:00Z,2026-02-01T00:30:00Z,,sev3
""",
    "slos.csv": """\
service,slo_name,target,window_days,good_events,total_events
api-svc,availability,99.9,30,999500,1000000
api-svc,latency,0.99,30,985000,1000000
""",
    "services.csv": """\
service,team
api-svc,api
""",
}


@pytest.fixture
def tiny_cycle(tmp_path: Path) -> Callable[..., Path]:
    """Write the tiny cycle, with files replaced or config text changed, and return the config path.

    Call with `files={"people.csv": "..."}` to replace a file's text (None removes the file) and
    `config=lambda text: ...` to edit the YAML.
    """

    def make(files: dict[str, str | bytes | None] | None = None, config: Callable[[str], str] | None = None) -> Path:
        contents: dict[str, str | bytes | None] = {**TINY_FILES, **(files or {})}
        for name, text in contents.items():
            if text is None:
                continue
            target = tmp_path / name
            if isinstance(text, bytes):
                target.write_bytes(text)
            else:
                target.write_text(textwrap.dedent(text), encoding="utf-8")
        config_path = tmp_path / "cycle.yml"
        config_path.write_text(config(TINY_CONFIG) if config else TINY_CONFIG, encoding="utf-8")
        return config_path

    return make
