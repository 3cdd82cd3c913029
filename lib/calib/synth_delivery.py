"""The delivery side of the synthetic org: services, deployments, changes, incidents and SLOs.

Every team gets a delivery tier (elite, high, medium, low) that sets how often its services
deploy, how long its changes wait, how often a deployment causes an incident and how soon
service is restored; the tiers follow the DORA 2023 clusters (shared/reference/dora-and-slo.md).
Everything is drawn in whole arrays, so a million deployments take a second or two.
`calib.synth.generate_org` is the entry point; the helpers at the end are shared with it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

TIERS = ("elite", "high", "medium", "low")
TIER_SHARE = (0.15, 0.40, 0.30, 0.15)
DEPLOYS_PER_WEEKDAY = ((2.5, 5.0), (0.3, 1.0), (0.07, 0.2), (0.03, 0.05))  # per service, a range
WEEKEND = 0.08  # weekend days deploy at this fraction of a weekday's rate
LEAD_HOURS = (3.0, 30.0, 120.0, 480.0)  # median hours from change to production, per tier
CHANGE_FAILURE = (0.025, 0.07, 0.12, 0.20)  # share of production deployments causing an incident
RESTORE_HOURS = (0.4, 4.0, 30.0, 100.0)  # median hours from incident start to resolution
FAILED_RESULT = (0.025, 0.03, 0.05, 0.08)  # deployments whose own run failed (result FAILURE)
SLO_BURN = (0.3, 0.6, 1.0, 1.6)  # typical share of the monthly error budget spent
STAGING = 0.12
UNLINKED_PER_LINKED = 0.43  # about 70% of incidents are traced to a deployment
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
SEVERITY_SHARE = (0.05, 0.15, 0.40, 0.40)
SLOS = (("availability", 99.9), ("latency", 99.0))  # targets in percent, as Sloth and Pyrra write them
SERVICE_SUFFIXES = {
    "platform": ("gateway", "collector", "controller", "service"),
    "product": ("api", "service", "web", "worker"),
    "data": ("pipeline", "service"),
    "design": ("web",),
}
OWNER_WEIGHT = {"platform": 3.0, "product": 3.0, "data": 1.5, "design": 0.3}
MIN_SERVICES = 20
TEAMS_PER_SERVICE = 1.5


def delivery_frames(
    rng: np.random.Generator,
    teams: pd.DataFrame,
    *,
    start: dt.date,
    months: int,
    deployments: int | None,
    compact: bool,
    elite: str | None = None,
    improving: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Services, deployments, changes (unless `compact`), incidents and SLOs of `teams`.

    Parameters
    ----------
    rng
        The generator this part of the org draws from.
    teams
        Columns team and team_type, one row per team that may own services.
    start, months
        The period covered, from `start` for `months` whole months.
    deployments
        The total number of deployments; None draws each service's count from its rate.
    compact
        Give deployments a lead_time_hours column instead of writing a changes table.
    elite, improving
        A team forced to the elite tier, and a team whose SLO attainment improves month by
        month (both own a service); None plants neither.

    Returns
    -------
    dict of pandas.DataFrame
        services, deployments, changes (unless compact), incidents, slos: canonical columns.
    """
    names = teams["team"].to_numpy(dtype=object)
    kinds = teams["team_type"].to_numpy(dtype=object)
    owner, tier = _owners(rng, names, kinds, elite, improving)
    services = np.array([f"{names[t]}-{_suffix(rng, kinds[t])}" for t in owner], dtype=object)
    first = _day(start)
    month_starts = np.datetime64(start, "M") + np.arange(months)
    days = int((month_starts[-1] + 1).astype("datetime64[D]").astype(np.int64)) - first
    frames = {"services": pd.DataFrame({"service": services, "team": names[owner]})}
    frames.update(_deployments(rng, services, tier, first, days, deployments, compact))
    better = None if improving is None else names[owner] == improving
    frames["slos"] = _slos(rng, services, tier, month_starts, better)
    return frames


def _owners(
    rng: np.random.Generator, names: np.ndarray, kinds: np.ndarray, elite: str | None, improving: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The owning team of each service (one per team that owns any) and each service's tier."""
    count = len(names)
    wanted = min(count, max(MIN_SERVICES, round(count / TEAMS_PER_SERVICE)))
    must = np.flatnonzero(np.isin(names, [t for t in (elite, improving) if t is not None]))
    rest = np.setdiff1d(np.arange(count), must)
    weight = np.array([OWNER_WEIGHT.get(k, 1.0) for k in kinds[rest]])
    chosen = rng.choice(rest, size=wanted - len(must), replace=False, p=weight / weight.sum())
    owner = np.sort(np.concatenate([must, chosen]))
    tier = rng.choice(len(TIERS), size=count, p=TIER_SHARE)
    tier[names == elite] = 0
    tier[names == improving] = 1
    return owner, tier[owner]


def _suffix(rng: np.random.Generator, kind: str) -> str:
    options = SERVICE_SUFFIXES.get(kind, ("service",))
    return options[int(rng.integers(len(options)))]


def _deployments(
    rng: np.random.Generator,
    services: np.ndarray,
    tier: np.ndarray,
    first: int,
    days: int,
    total: int | None,
    compact: bool,
) -> dict[str, pd.DataFrame]:
    low, high = np.array(DEPLOYS_PER_WEEKDAY).T
    rate = low[tier] + (high[tier] - low[tier]) * rng.random(len(services))
    weekday = (first + np.arange(days) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    expected = rate[:, None] * np.where(weekday >= 5, WEEKEND, 1.0)[None, :]
    if total is None:
        counts = rng.poisson(expected)
    else:
        counts = rng.multinomial(total, (expected / expected.sum()).ravel()).reshape(expected.shape)
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    service, day = np.divmod(cell, days)
    clock = np.clip(rng.normal(14.5, 2.5, len(cell)) * 3600, 0, 86399).astype(np.int64)
    finished = (first + day) * 86400 + clock
    order = np.argsort(finished, kind="stable")
    service, finished = service[order], finished[order]
    n = len(finished)
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
        lead = np.array(LEAD_HOURS)[tier[service]] * np.exp(rng.normal(0, 0.9, n))
        frame["lead_time_hours"] = lead.round(2)
    else:
        per = rng.integers(1, 5, n)
        of = np.repeat(np.arange(n), per)
        lead = np.array(LEAD_HOURS)[tier[service[of]]] * np.exp(rng.normal(0, 0.9, len(of)))
        frames["changes"] = pd.DataFrame({
            "change_id": make_ids("C", len(of), 7),
            "deployment_id": ids[of],
            "created_at": iso_seconds(finished[of] - np.ceil(lead * 3600).astype(np.int64)),
        })
    frames["incidents"] = _incidents(rng, services, tier, service, finished, ids, production & success, first, days)
    return frames


def _incidents(
    rng: np.random.Generator,
    services: np.ndarray,
    tier: np.ndarray,
    service: np.ndarray,
    finished: np.ndarray,
    ids: np.ndarray,
    eligible: np.ndarray,
    first: int,
    days: int,
) -> pd.DataFrame:
    """Incidents caused by production deployments shortly before them, plus unexplained ones."""
    failure = np.array(CHANGE_FAILURE)[tier[service]] * eligible
    caused = np.flatnonzero(rng.random(len(service)) < failure)
    linked_start = finished[caused] + 300 + rng.exponential(5400, len(caused)).astype(np.int64)
    expected = np.bincount(service, weights=failure, minlength=len(services))
    unlinked = rng.poisson(UNLINKED_PER_LINKED * expected + 0.5 * days / 365)
    other = np.repeat(np.arange(len(services)), unlinked)
    other_start = first * 86400 + (rng.random(len(other)) * days * 86400).astype(np.int64)
    where = np.concatenate([service[caused], other])
    started = np.concatenate([linked_start, other_start])
    cause = np.concatenate([ids[caused], np.full(len(other), None, dtype=object)])
    order = np.argsort(started, kind="stable")
    where, started, cause = where[order], started[order], cause[order]
    restore = np.array(RESTORE_HOURS)[tier[where]] * np.exp(rng.normal(0, 0.8, len(where)))
    resolved = started + 60 + (restore * 3600).astype(np.int64)
    return pd.DataFrame({
        "incident_id": make_ids("INC", len(where), 5),
        "service": services[where],
        "started_at": iso_seconds(started),
        "resolved_at": iso_seconds(resolved),
        "caused_by_deployment_id": cause,
        "severity": np.array(SEVERITIES)[rng.choice(len(SEVERITIES), len(where), p=SEVERITY_SHARE)],
    })


def _slos(
    rng: np.random.Generator,
    services: np.ndarray,
    tier: np.ndarray,
    month_starts: np.ndarray,
    improving: np.ndarray | None,
) -> pd.DataFrame:
    """One row per SLO and month; attainment = good / total, budget spent = burn."""
    has_latency = rng.random(len(services)) < 0.6
    slo_service = np.concatenate([np.arange(len(services)), np.flatnonzero(has_latency)])
    slo_kind = np.repeat([0, 1], [len(services), int(has_latency.sum())])
    order = np.lexsort((slo_kind, slo_service))
    slo_service, slo_kind = slo_service[order], slo_kind[order]
    months = len(month_starts)
    month_ends = (month_starts + 1).astype("datetime64[D]") - 1
    month_days = (month_ends - month_starts.astype("datetime64[D]")).astype(np.int64) + 1
    volume = np.exp(rng.normal(np.log(5e6), 1.0, len(services)))[slo_service]
    total = np.rint(volume[:, None] * month_days / 30 * np.exp(rng.normal(0, 0.08, (len(slo_service), months))))
    burn = np.array(SLO_BURN)[tier[slo_service]][:, None] * np.exp(rng.normal(0, 0.45, total.shape))
    if improving is not None and improving.any():
        trend = 2.5 * (0.3 / 2.5) ** (np.arange(months) / max(months - 1, 1))
        mine = improving[slo_service]
        burn[mine] = trend * np.exp(rng.normal(0, 0.12, (int(mine.sum()), months)))
    target = np.array([t for _, t in SLOS])[slo_kind]
    bad = np.minimum(total, np.rint(total * burn * (1 - target[:, None] / 100)))
    return pd.DataFrame({
        "service": np.repeat(services[slo_service], months),
        "slo_name": np.repeat(np.array([n for n, _ in SLOS])[slo_kind], months),
        "target": np.repeat(target, months),
        "window_days": 30,
        "good_events": (total - bad).astype(np.int64).ravel(),
        "total_events": total.astype(np.int64).ravel(),
        "window_end": np.tile(np.datetime_as_string(month_ends), len(slo_service)),
    })


# -- helpers shared with calib.synth ---------------------------------------------------------


def make_ids(prefix: str, n: int, width: int) -> np.ndarray:
    """`prefix` + a zero-padded running number from 1 (wider when `n` needs it)."""
    numbers = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(max(width, len(str(n))))
    return (prefix + numbers).to_numpy(dtype=object)


def iso_seconds(seconds: np.ndarray) -> np.ndarray:
    """Seconds since the epoch as 2026-03-31T14:05:00Z."""
    return np.datetime_as_string(seconds.astype("datetime64[s]"), timezone="UTC").astype(object)


def iso_days(days: np.ndarray) -> np.ndarray:
    """Days since the epoch as 2026-03-31."""
    return np.datetime_as_string(days.astype("datetime64[D]")).astype(object)


def _day(value: dt.date) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


def choose(rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
    """One index per row of `shares` (rows sum to 1), drawn with those probabilities."""
    cumulative = np.cumsum(shares, axis=1)
    picked = (rng.random(len(shares))[:, None] >= cumulative).sum(axis=1)
    return np.minimum(picked, shares.shape[1] - 1)
