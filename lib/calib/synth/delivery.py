"""The synthetic org's other signals: peer feedback, the evidence log, services and delivery.

Everything here sees people's latent performance, never a manager's rating effect: these are
the cross-links that make a planted lenient or severe manager identifiable. Delivery follows
a tier per team (elite, high, medium, low) setting how often its services deploy, how long
changes wait, how often a deployment causes an incident and how soon service is restored, as
in the DORA 2023 clusters (shared/reference/dora-and-slo.md). Everything is drawn in whole
arrays: a million deployments take a second or two. `calib.synth.org.generate_org` is the entry.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from calib.synth.model import Cycle, Org

CRITERIA = ("Mastery", "Impact", "Autonomy", "Collaboration")
PEER_CENTER = 3.22  # peers score an average colleague a little above 3
PEER_COMMENTS = (  # by score band: below 3, 3 to 3.5, 4 and up
    ("Needs more support to land work on time", "Hard to reach when we were blocked",
     "Reviews often came late", "Scope kept slipping without a heads-up"),
    ("Dependable, does what was agreed", "Solid reviews and steady delivery", "Good partner on the migration",
     "Communicates clearly in standups"),
    ("Unblocked our launch more than once", "The person everyone asks about the hard parts",
     "Raised the bar in design reviews", "Calm and fast during incidents"),
)
EVIDENCE_KINDS = (  # (category, kind): the column order of the share tables below
    ("delivery", "pr"), ("delivery", "design_doc"), ("delivery", "launch"), ("delivery", "ticket"),
    ("reliability", "incident"), ("reliability", "postmortem"), ("reliability", "oncall"), ("reliability", "slo_fix"),
    ("influence", "mentoring"), ("influence", "kudos"), ("influence", "talk"), ("influence", "rfc_review"),
)
CATEGORY_SHARE = np.array([  # rows: engineering, product, design, data, manager, invisible crew
    [0.62, 0.18, 0.20], [0.68, 0.04, 0.28], [0.68, 0.00, 0.32], [0.62, 0.10, 0.28], [0.35, 0.12, 0.53],
    [0.12, 0.55, 0.33]])
DELIVERY_SHARE = np.array([  # pr, design_doc, launch, ticket; rows as CATEGORY_SHARE
    [0.62, 0.10, 0.08, 0.20], [0.00, 0.35, 0.35, 0.30], [0.00, 0.55, 0.30, 0.15], [0.45, 0.25, 0.10, 0.20],
    [0.05, 0.45, 0.30, 0.20], [0.20, 0.50, 0.05, 0.25]])
RELIABILITY_SHARE = (0.30, 0.20, 0.35, 0.15)
INFLUENCE_SHARE = (0.30, 0.35, 0.10, 0.25)
EVIDENCE_TITLES = (  # per kind, one "{}" each for a topic
    ("Add {} behind a flag", "Refactor {}", "Fix flaky tests in {}", "Speed up {}"),
    ("Design doc: {}", "Proposal to rework {}", "Options paper on {}", "Spec for {}"),
    ("Launched {}", "Rolled out {} to all users", "Beta of {}", "General availability of {}"),
    ("Fixed a bug in {}", "Edge cases in {}", "Cleanup of {}", "Migrated {}"),
    ("Incident lead: {} outage", "Resolved degraded {}", "Paged: errors in {}", "Mitigated {} latency"),
    ("Postmortem: {} outage", "Postmortem: {} data delay", "Follow-ups from the {} incident", "Blameless review of {}"),
    ("On-call week covering {}", "On-call handover notes for {}", "Runbook for {}", "Alert tuning for {}"),
    ("Brought {} back within SLO", "Cut error-budget burn of {}", "New SLO for {}", "Latency fix in {}"),
    ("Mentored a new hire on {}", "Pairing sessions on {}", "Onboarding guide for {}", "Coached an intern through {}"),
    ("Kudos for help with {}", "Thanks from support for {}", "Shout-out: {}", "Peer award for {}"),
    ("Tech talk: lessons from {}", "Brown-bag on {}", "Conference talk on {}", "Demo day: {}"),
    ("Reviewed the RFC on {}", "Design review of {}", "Architecture review: {}", "Feedback on {}"),
)
EVIDENCE_TOPICS = (
    "the checkout flow", "payment retries", "search ranking", "the notification service", "cache invalidation",
    "the billing pipeline", "feature flags", "the mobile login", "rate limiting", "the data warehouse",
    "event schemas", "the deploy pipeline", "alerting rules", "the onboarding funnel", "API pagination",
    "dashboard performance",
)
EVIDENCE_LINKS = (  # per kind: url = prefix + team + middle + number
    ("https://git.example.com/", "/monorepo/pull/"), ("https://docs.example.com/", "/doc-"),
    ("https://launches.example.com/", "/"), ("https://tickets.example.com/", "/browse/T-"),
    ("https://incidents.example.com/", "/INC-"), ("https://docs.example.com/", "/postmortem-"),
    ("https://oncall.example.com/", "/shift/"), ("https://git.example.com/", "/monorepo/pull/"),
    ("https://wiki.example.com/", "/mentoring-"), ("https://wiki.example.com/", "/kudos-"),
    ("https://wiki.example.com/", "/talk-"), ("https://docs.example.com/", "/rfc-"),
)
NO_LINK = (0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.15, 0.20, 0.10, 0.04)  # per kind
EVIDENCE_CRITERION = ("Mastery", "Impact", "Impact", "Autonomy", "Autonomy", "Mastery", "Autonomy", "Impact",
                      "Collaboration", "Collaboration", "Collaboration", "Mastery")  # the usual one, per kind
BUNCHED_LATE = 0.72  # share of a bunched team's items forced into the last fifth of the cycle
TIERS = ("elite", "high", "medium", "low")
TIER_SHARE = (0.15, 0.40, 0.30, 0.15)
DEPLOYS_PER_WEEKDAY = ((2.5, 5.0), (0.3, 1.0), (0.1, 0.3), (0.05, 0.08))  # per service, a range
WEEKEND = 0.08  # weekend days deploy at this fraction of a weekday's rate
LEAD_HOURS = (3.0, 30.0, 120.0, 480.0)  # median hours from change to production
CHANGE_FAILURE = (0.025, 0.07, 0.12, 0.20)  # share of production deployments causing an incident
RESTORE_HOURS = (0.4, 4.0, 30.0, 100.0)  # median hours from incident start to resolution
FAILED_RESULT = (0.025, 0.03, 0.05, 0.08)  # deployments whose own run failed (result FAILURE)
SLO_BURN = (0.3, 0.6, 1.0, 1.6)  # typical share of the monthly error budget spent
STAGING = 0.12
UNLINKED_PER_LINKED = 0.43  # about 70% of incidents are traced to a deployment
SEVERITIES, SEVERITY_SHARE = ("sev1", "sev2", "sev3", "sev4"), (0.05, 0.15, 0.40, 0.40)
SLOS = (("availability", 99.9), ("latency", 99.0))  # targets in percent, as Sloth and Pyrra write them
SERVICE_SUFFIXES = {"platform": ("gateway", "collector", "controller", "service"),
                    "product": ("api", "service", "web", "worker"), "data": ("pipeline", "service"), "design": ("web",)}
OWNER_WEIGHT = {"platform": 3.0, "product": 3.0, "data": 1.5, "design": 0.3}
MIN_SERVICES, TEAMS_PER_SERVICE = 20, 1.5


def peer_feedback_frame(
    rng: np.random.Generator, org: Org, cycles: list[Cycle], person: np.ndarray, cycle: np.ndarray
) -> pd.DataFrame:
    """3-6 scores per review: teammates, a neighbouring team, the org, the skip level, calibrators.

    A score sees the reviewee's latent performance and the writer's own leniency only.
    `person` and `cycle` give the reviews (person index, cycle index), one row each.
    """
    n, team, boss = len(person), org.team[person], org.manager[person]
    members, start, size = _groups(org.team)
    place = np.empty(len(org.team), int)
    place[members] = np.arange(len(members)) - start[org.team[members]]
    spin, others = rng.integers(0, np.maximum(size[team] - 1, 1)), np.maximum(size[team] - 1, 1)
    picks = [members[start[team] + (place[person] + 1 + (spin + j) % others) % size[team]] for j in range(4)]
    team_org = np.zeros(len(size), int)
    team_org[org.team] = org.org  # one org per team (the leadership team is never a neighbour)
    side = rng.choice([-1, 1], n)
    near = np.where(_same_org(team + side, team, team_org), team + side, team - side)
    near = np.where(_same_org(near, team, team_org), near, team)
    picks.append(members[start[near] + rng.integers(0, size[near])])
    in_org, org_start, org_size = _groups(org.org)
    home = org.org[person]
    picks += [in_org[org_start[home] + rng.integers(0, org_size[home])] for _ in range(2)]
    picks.append(np.where(rng.random(n) < 0.5, org.manager[boss], -1))  # the skip level, or nobody
    by_boss, boss_start, boss_size = _groups(np.where(org.manager >= 0, org.manager, len(org.team)))
    above = org.manager[boss]
    sibling = by_boss[boss_start[above] + rng.integers(0, np.maximum(boss_size[above], 1))]
    picks.append(np.where((above >= 0) & (rng.random(n) < 0.3), sibling, -1))  # a peer of the manager
    source = np.repeat(np.repeat([0, 1, 2], [len(picks) - 2, 1, 1]), n)  # colleague, skip level, calibrator
    row, writer = np.tile(np.arange(n), len(picks)), np.concatenate(picks)
    ends = np.array([c.end for c in cycles])[cycle]
    ok = (writer >= 0) & (writer != person[row]) & (writer != boss[row]) & (org.hire[writer] <= ends[row])
    row, writer, source = row[ok], writer[ok], source[ok]
    order = np.lexsort((rng.random(len(row)) * np.where(source == 1, 0.6, 1.0), row))  # random, skip level early
    row, writer, source = row[order], writer[order], source[order]
    first = ~pd.DataFrame({"r": row, "w": writer}).duplicated().to_numpy()
    row, writer, source = row[first], writer[first], source[first]
    kept = pd.Series(row).groupby(row).cumcount().to_numpy() < rng.integers(3, 7, n)[row]
    row, writer, source, m = row[kept], writer[kept], source[kept], int(kept.sum())
    colleague = np.where(org.discipline[writer] != org.discipline[person[row]], "cross_functional", "peer")
    colleague = np.where(org.manager[writer] == person[row], "report", colleague)
    raw = PEER_CENTER + 0.8 * org.perf[person[row], cycle[row]] + org.leniency[writer] + rng.normal(0, 0.45, m)
    score = np.clip(np.rint(raw * 2) / 2, 1, 5)
    comment = np.array(PEER_COMMENTS, dtype=object)[np.digitize(score, [3, 4]), rng.integers(0, 4, m)]
    criterion = np.array(CRITERIA, dtype=object)[rng.integers(0, len(CRITERIA), m)]
    return pd.DataFrame({
        "cycle": np.array([c.id for c in cycles], dtype=object)[cycle[row]],
        "reviewer_id": org.ids[writer],
        "reviewee_id": org.ids[person[row]],
        "relationship": np.where(source == 1, "skip_level", np.where(source == 2, "calibrator", colleague)),
        "criterion": np.where(rng.random(m) < 0.6, criterion, None),
        "score": score,
        "comment": np.where(rng.random(m) < 0.75, comment, None),
    })


def _groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices sorted by code, and where each code starts in that order and how many it has."""
    members = np.argsort(codes, kind="stable")
    size = np.bincount(codes)
    return members, np.cumsum(size) - size, size


def _same_org(other: np.ndarray, team: np.ndarray, team_org: np.ndarray) -> np.ndarray:
    """Whether team `other` exists, is not the leadership team (the last) and is in `team`'s org."""
    inside = (other >= 0) & (other < len(team_org) - 1) & (team < len(team_org) - 1)
    return inside & (team_org[np.clip(other, 0, len(team_org) - 1)] == team_org[team])


def evidence_frame(rng: np.random.Generator, rows: pd.DataFrame) -> pd.DataFrame:
    """The impact log: 6-30 items per review, more for stronger and more senior people.

    Parameters
    ----------
    rng
        The generator this part of the org draws from.
    rows
        One row per review: employee_id, team, group (a row of CATEGORY_SHARE), level, perf,
        bunched (items crowd into the last fifth of the cycle), first and last (the days,
        since the epoch, that items may fall on).

    Returns
    -------
    pandas.DataFrame
        The canonical evidence columns, by review, then date.
    """
    group = rows["group"].to_numpy()
    center = np.log(13) + 0.22 * rows["perf"].to_numpy() + 0.06 * (rows["level"].to_numpy() - 4)
    count = np.clip(np.rint(np.exp(rng.normal(center, 0.35))), 6, 30).astype(int)
    count[group == 5] = rng.integers(22, 29, int((group == 5).sum()))
    of = np.repeat(np.arange(len(rows)), count)
    n = len(of)
    shares = np.hstack([CATEGORY_SHARE[:, :1] * DELIVERY_SHARE, CATEGORY_SHARE[:, 1:2] * np.array(RELIABILITY_SHARE),
                        CATEGORY_SHARE[:, 2:] * np.array(INFLUENCE_SHARE)])
    kind = choose(rng, shares[group[of]])
    spread = rng.random(n)
    spread = np.where(rows["bunched"].to_numpy()[of] & (rng.random(n) < BUNCHED_LATE), 0.8 + 0.2 * spread, spread)
    first, last = rows["first"].to_numpy()[of], rows["last"].to_numpy()[of]
    day = first + np.floor(spread * (last - first + 1)).astype(np.int64)
    topics = len(EVIDENCE_TOPICS)
    titles = np.array([t.format(x) for ts in EVIDENCE_TITLES for t in ts for x in EVIDENCE_TOPICS], dtype=object)
    title = titles[(kind * 4 + rng.integers(0, 4, n)) * topics + rng.integers(0, topics, n)]
    prefix, middle = (np.array(part, dtype=object)[kind] for part in zip(*EVIDENCE_LINKS, strict=True))
    number = pd.Series(rng.integers(100, 10_000, n)).astype(str).to_numpy(dtype=object)
    url = prefix + rows["team"].to_numpy(dtype=object)[of] + middle + number
    usual = np.array(EVIDENCE_CRITERION, dtype=object)[kind]
    anyone = np.array(CRITERIA, dtype=object)[rng.integers(0, len(CRITERIA), n)]
    which = rng.random(n)
    frame = pd.DataFrame({
        "employee_id": rows["employee_id"].to_numpy(dtype=object)[of],
        "date": iso_days(day),
        "category": np.array([c for c, _ in EVIDENCE_KINDS], dtype=object)[kind],
        "criterion": np.where(which < 0.6, usual, np.where(which < 0.75, anyone, None)),
        "kind": np.array([k for _, k in EVIDENCE_KINDS], dtype=object)[kind],
        "title": title,
        "url": np.where(rng.random(n) < np.array(NO_LINK)[kind], None, url),
    })
    return frame.iloc[np.lexsort((day, of))]


def delivery_frames(
    rng: np.random.Generator, teams: pd.DataFrame, *, start: dt.date, months: int, deployments: int | None,
    compact: bool, tiers: dict[str, str] | None = None, improving: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Services, deployments, changes (unless `compact`), incidents and SLOs of `teams`.

    Parameters
    ----------
    rng
        The generator this part of the org draws from.
    teams
        Columns team and team_type, one row per team that may own services.
    start, months
        The period covered: `months` whole months from `start`.
    deployments
        The total number of deployments; None draws each service's count from its rate.
    compact
        Give deployments a lead_time_hours column instead of making a changes table.
    tiers
        Teams that own a service in a given tier (one of TIERS); the others are drawn.
        Services of a team forced to "elite" deploy on every working day.
    improving
        A team owning a service whose SLO attainment improves month by month.

    Returns
    -------
    dict of pandas.DataFrame
        services, deployments, changes (unless compact), incidents, slos: canonical columns.
    """
    names, kinds = teams["team"].to_numpy(dtype=object), teams["team_type"].to_numpy(dtype=object)
    tiers = dict(tiers or {})
    owner, tier = _owners(rng, names, kinds, tiers, improving)
    services = np.array([f"{names[t]}-{_suffix(rng, kinds[t])}" for t in owner], dtype=object)
    first = int(np.datetime64(start, "D").astype(np.int64))
    month_starts = np.datetime64(start, "M") + np.arange(months)
    days = int((month_starts[-1] + 1).astype("datetime64[D]").astype(np.int64)) - first
    frames = {"services": pd.DataFrame({"service": services, "team": names[owner]})}
    elite = np.isin(names[owner], [t for t, level in tiers.items() if level == "elite"])
    frames.update(_deployments(rng, services, tier, elite, first, days, deployments, compact))
    frames["slos"] = _slos(rng, services, tier, month_starts, names[owner] == improving)
    return frames


def _owners(
    rng: np.random.Generator, names: np.ndarray, kinds: np.ndarray, tiers: dict[str, str], improving: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The owning team of each service (a team owns one or none) and each service's tier."""
    wanted = min(len(names), max(MIN_SERVICES, round(len(names) / TEAMS_PER_SERVICE)))
    must = np.flatnonzero(np.isin(names, [*tiers, *([improving] if improving else [])]))
    rest = np.setdiff1d(np.arange(len(names)), must)
    weight = np.array([OWNER_WEIGHT.get(k, 1.0) for k in kinds[rest]])
    chosen = rng.choice(rest, size=wanted - len(must), replace=False, p=weight / weight.sum())
    owner = np.sort(np.concatenate([must, chosen]))
    spread = (rng.permutation(len(owner)) + 0.5) / len(owner)  # the tier shares exactly, in random order
    tier = np.searchsorted(np.cumsum(TIER_SHARE), spread)
    for team, level in tiers.items():
        tier[names[owner] == team] = TIERS.index(level)
    return owner, tier


def _suffix(rng: np.random.Generator, kind: str) -> str:
    options = SERVICE_SUFFIXES.get(kind, ("service",))
    return options[int(rng.integers(len(options)))]


def _deployments(
    rng: np.random.Generator, services: np.ndarray, tier: np.ndarray, elite: np.ndarray, first: int, days: int,
    total: int | None, compact: bool,
) -> dict[str, pd.DataFrame]:
    low, high = np.array(DEPLOYS_PER_WEEKDAY).T
    rate = low[tier] + (high[tier] - low[tier]) * rng.random(len(services))
    rate[elite] = high[0]  # a planted elite team deploys on every working day
    weekday = (first + np.arange(days) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    expected = rate[:, None] * np.where(weekday >= 5, WEEKEND, 1.0)[None, :]
    if total is None:
        counts = rng.poisson(expected)
    else:
        counts = rng.multinomial(total, (expected / expected.sum()).ravel()).reshape(expected.shape)
    service, day = np.divmod(np.repeat(np.arange(counts.size), counts.ravel()), days)
    finished = (first + day) * 86400 + np.clip(rng.normal(14.5, 2.5, len(day)) * 3600, 0, 86399).astype(np.int64)
    order = np.argsort(finished, kind="stable")
    service, finished, n = service[order], finished[order], len(order)
    ids = make_ids("D", n, 7)
    production = rng.random(n) >= STAGING
    success = rng.random(n) >= np.array(FAILED_RESULT)[tier[service]]
    frame = pd.DataFrame({
        "deployment_id": ids,
        "service": services[service],
        "finished_at": iso_seconds(finished),
        "result": np.where(success, "SUCCESS", "FAILURE"),
        "environment": np.where(production, "production", "staging"),
    })
    frames = {"deployments": frame}
    if compact:
        frame["lead_time_hours"] = (np.array(LEAD_HOURS)[tier[service]] * np.exp(rng.normal(0, 0.9, n))).round(2)
    else:
        of = np.repeat(np.arange(n), rng.integers(1, 5, n))
        lead = np.array(LEAD_HOURS)[tier[service[of]]] * np.exp(rng.normal(0, 0.9, len(of)))
        frames["changes"] = pd.DataFrame({
            "change_id": make_ids("C", len(of), 7),
            "deployment_id": ids[of],
            "created_at": iso_seconds(finished[of] - np.ceil(lead * 3600).astype(np.int64)),
        })
    frames["incidents"] = _incidents(rng, services, tier, service, finished, ids, production & success, first, days)
    return frames


def _incidents(
    rng: np.random.Generator, services: np.ndarray, tier: np.ndarray, service: np.ndarray, finished: np.ndarray,
    ids: np.ndarray, eligible: np.ndarray, first: int, days: int,
) -> pd.DataFrame:
    """Incidents caused by production deployments shortly before them, plus unexplained ones."""
    failure = np.array(CHANGE_FAILURE)[tier[service]] * eligible
    caused = np.flatnonzero(rng.random(len(service)) < failure)
    linked_start = finished[caused] + 300 + rng.exponential(5400, len(caused)).astype(np.int64)
    expected = np.bincount(service, weights=failure, minlength=len(services))
    other = np.repeat(np.arange(len(services)), rng.poisson(UNLINKED_PER_LINKED * expected + 0.5 * days / 365))
    other_start = first * 86400 + (rng.random(len(other)) * days * 86400).astype(np.int64)
    started = np.concatenate([linked_start, other_start])
    order = np.argsort(started, kind="stable")
    where, started = np.concatenate([service[caused], other])[order], started[order]
    cause = np.concatenate([ids[caused], np.full(len(other), None, dtype=object)])[order]
    restore = np.array(RESTORE_HOURS)[tier[where]] * np.exp(rng.normal(0, 0.8, len(where)))
    return pd.DataFrame({
        "incident_id": make_ids("INC", len(where), 5),
        "service": services[where],
        "started_at": iso_seconds(started),
        "resolved_at": iso_seconds(started + 60 + (restore * 3600).astype(np.int64)),
        "caused_by_deployment_id": cause,
        "severity": np.array(SEVERITIES)[rng.choice(len(SEVERITIES), len(where), p=SEVERITY_SHARE)],
    })


def _slos(
    rng: np.random.Generator, services: np.ndarray, tier: np.ndarray, month_starts: np.ndarray, improving: np.ndarray
) -> pd.DataFrame:
    """One row per SLO and month: attainment = good / total, error budget spent = burn."""
    has_latency = rng.random(len(services)) < 0.6
    slo_service = np.concatenate([np.arange(len(services)), np.flatnonzero(has_latency)])
    slo_kind = np.repeat([0, 1], [len(services), int(has_latency.sum())])
    order = np.lexsort((slo_kind, slo_service))
    slo_service, slo_kind, months = slo_service[order], slo_kind[order], len(month_starts)
    month_ends = (month_starts + 1).astype("datetime64[D]") - 1
    month_days = (month_ends - month_starts.astype("datetime64[D]")).astype(np.int64) + 1
    volume = np.exp(rng.normal(np.log(5e6), 1.0, len(services)))[slo_service]
    total = np.rint(volume[:, None] * month_days / 30 * np.exp(rng.normal(0, 0.08, (len(slo_service), months))))
    burn = np.array(SLO_BURN)[tier[slo_service]][:, None] * np.exp(rng.normal(0, 0.45, total.shape))
    mine = improving[slo_service]
    trend = 2.5 * (0.3 / 2.5) ** (np.arange(months) / max(months - 1, 1))  # budget burn falls 2.5 -> 0.3
    burn[mine] = trend * np.exp(rng.normal(0, 0.12, (int(mine.sum()), months)))
    target = np.array([t for _, t in SLOS])[slo_kind]
    bad = np.minimum(total, np.rint(total * burn * (1 - target[:, None] / 100)))
    return pd.DataFrame({
        "service": np.repeat(services[slo_service], months),
        "slo_name": np.repeat(np.array([name for name, _ in SLOS])[slo_kind], months),
        "target": np.repeat(target, months),
        "window_days": 30,
        "good_events": (total - bad).astype(np.int64).ravel(),
        "total_events": total.astype(np.int64).ravel(),
        "window_end": np.tile(np.datetime_as_string(month_ends), len(slo_service)),
    })


EXPECTATIONS = (  # (expectation with a "{}" for a topic, its key steps separated by "; ")
    ("Deliver {} end to end", "Write and review the design doc; Ship the first milestone behind a flag; "
                              "Roll out to all users and measure the result"),
    ("Improve the reliability of {}", "Agree an SLO with the team; Fix the top two causes of error-budget burn; "
                                      "Add alerts and a runbook"),
    ("Lead the migration of {}", "Agree the plan with the teams that depend on it; Move the first consumers; "
                                 "Remove the old path"),
    ("Grow the team's knowledge of {}", "Run a brown-bag session; Pair with a newer teammate every month; "
                                        "Write an onboarding guide"),
    ("Reduce the toil around {}", "Measure the on-call load it causes; Automate the most frequent manual step; "
                                  "Share the results at the team review"),
    ("Clarify the direction for {}", "Interview its main users; Write an options paper; Get a decision at the "
                                     "product review"),
    ("Raise the quality bar for {}", "Add tests for the riskiest paths; Review its design docs within two days; "
                                     "Track escaped defects"),
    ("Mentor a new hire on {}", "Set goals for their first 90 days; Meet every week; Hand over a starter project"),
)
EXPECTATION_STATUS = ("not started", "on track", "at risk", "done")
STATUS_SHARE = ((0.03, 0.07, 0.15, 0.75), (0.08, 0.42, 0.15, 0.35))  # rows: an earlier cycle, the last one


def expectations_frame(rng: np.random.Generator, reviews: pd.DataFrame, last_cycle: str) -> pd.DataFrame:
    """2-4 expectations per review, each with key steps and a status.

    Parameters
    ----------
    rng
        A stream of its own, drawn after every other table so those stay as they were.
    reviews
        One row per review: cycle, employee_id.
    last_cycle
        The newest cycle: its expectations are still in flight (more on track, fewer done).

    Returns
    -------
    pandas.DataFrame
        cycle, employee_id, expectation, key_steps, status; by review, as `reviews`.
    """
    n = len(reviews)
    count = rng.integers(2, 5, n)
    picks = np.argsort(rng.random((n, len(EXPECTATIONS))), axis=1)  # distinct templates per review
    of = np.repeat(np.arange(n), count)
    slot = np.arange(len(of)) - np.repeat(np.cumsum(count) - count, count)
    template = picks[of, slot]
    topic = rng.integers(0, len(EVIDENCE_TOPICS), len(of))
    last = reviews["cycle"].to_numpy(dtype=object)[of] == last_cycle
    status = choose(rng, np.array(STATUS_SHARE)[last.astype(int)])
    texts = np.array([t.format(x) for t, _ in EXPECTATIONS for x in EVIDENCE_TOPICS], dtype=object)
    return pd.DataFrame({
        "cycle": reviews["cycle"].to_numpy(dtype=object)[of],
        "employee_id": reviews["employee_id"].to_numpy(dtype=object)[of],
        "expectation": texts[template * len(EVIDENCE_TOPICS) + topic],
        "key_steps": np.array([steps for _, steps in EXPECTATIONS], dtype=object)[template],
        "status": np.array(EXPECTATION_STATUS, dtype=object)[status],
    })


def handles(names: pd.Series) -> pd.Series:
    """A code-host handle per person from their name ("Kenji O'Brien" -> "kenji-obrien"); no draws.

    Letters and digits are kept, anything else separates words; a handle already taken gets
    "-2", "-3", ... in the order of `names`.
    """
    base = names.str.lower().str.replace(r"[^a-z0-9\s-]", "", regex=True).str.strip()
    base = base.str.replace(r"[\s-]+", "-", regex=True)
    seen = base.groupby(base).cumcount()
    return base.where(seen == 0, base + "-" + (seen + 1).astype(str))


# -- helpers shared with calib.synth.org ---------------------------------------------------------


def make_ids(prefix: str, n: int, width: int) -> np.ndarray:
    """`prefix` + a zero-padded running number from 1 (wider when `n` needs it)."""
    numbers = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(max(width, len(str(n))))
    return (prefix + numbers).to_numpy(dtype=object)


def iso_seconds(seconds: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Seconds since the epoch as text like 2026-03-31T14:05:00Z (Arrow's cast: fast)."""
    text = pa.array(np.asarray(seconds).astype("datetime64[s]")).cast(pa.string())  # "2026-03-31 14:05:00"
    text = pc.binary_replace_slice(text, start=10, stop=11, replacement="T")
    return pd.array(pc.binary_join_element_wise(text, "Z", ""), dtype="str")


def iso_days(days: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Days since the epoch as text like 2026-03-31."""
    return pd.array(pa.array(np.asarray(days).astype("datetime64[D]")).cast(pa.string()), dtype="str")


def choose(rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
    """One index per row of `shares` (rows sum to 1), drawn with those probabilities."""
    picked = (rng.random(len(shares))[:, None] >= np.cumsum(shares, axis=1)).sum(axis=1)
    return np.minimum(picked, shares.shape[1] - 1)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """`frame` as UTF-8 CSV with "\\n" line ends, quoting only the values that need it.

    Built on Arrow's string kernels: pandas' `to_csv` takes seconds per million rows.
    Missing values are empty cells; numbers are written as Arrow casts them (4.0 as 4).
    """
    quote, comma, newline, nothing = (pa.scalar(t, pa.large_string()) for t in ('"', ",", "\n", ""))
    cells = []
    for name in frame.columns:
        text = pa.array(frame[name], from_pandas=True).cast(pa.large_string())
        data = text.buffers()[2]  # every character of the column: a cheap first look
        if data is not None and any(c in data.to_pybytes() for c in (b",", b'"', b"\n", b"\r")):
            needs = pc.match_substring_regex(text, '[",\r\n]')
            escaped = pc.replace_substring(text, '"', '""')
            text = pc.if_else(needs, pc.binary_join_element_wise(quote, escaped, quote, nothing), text)
        cells.append(text)
    header = ",".join(f'"{c}"' if any(x in c for x in '",\r\n') else c for c in frame.columns)
    with path.open("wb") as handle:
        handle.write((header + "\n").encode("utf-8"))
        if len(frame):
            rows = pc.binary_join_element_wise(*cells, comma, null_handling="replace", null_replacement="")
            rows = pc.binary_join_element_wise(rows, newline, nothing)
            offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset : rows.offset + len(rows) + 1]
            handle.write(memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]])
