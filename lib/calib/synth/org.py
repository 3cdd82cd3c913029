"""A seeded synthetic org with known patterns planted in it, for the sample, tests and benchmarks.

`generate_org` draws every canonical input of half-year review cycles from one seed (numpy's
`default_rng`, whole arrays at a time, no wall clock), so a seed always gives the same frames
and `write_org` the same bytes. Each person has a latent performance that peers, criteria
scores and the evidence log see; only the manager's rating carries the planted distortions
(data_samples/README.md lists them). Peer feedback, the evidence log and delivery, which see
only the latent performance, are drawn in `calib.synth.delivery`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from calib.synth.delivery import (
    CRITERIA,
    choose,
    delivery_frames,
    evidence_frame,
    expectations_frame,
    handles,
    iso_days,
    make_ids,
    peer_feedback_frame,
    write_csv,
)
from calib.synth.model import Cycle, Org

RATINGS = ("Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds")
GUIDELINE = (0.05, 0.15, 0.50, 0.20, 0.10)  # the curve the quota manager follows to the person
LEVELS = tuple(f"L{i}" for i in range(1, 9))
DISCIPLINES = ("engineering", "product", "design", "data")
INPUTS = ("people", "reviews", "criteria_scores", "evidence", "peer_feedback", "deployments", "changes", "incidents",
          "slos", "services", "teams", "expectations")
LARGE_ORG = 1_000  # above this many people: lead_time_hours on deployments, no changes table
AREAS = ("Platform", "Commerce", "Growth", "Data")
TEAM_KINDS = ("platform", "product", "data", "design")
TEAMS = tuple(  # (team, area, kind); more teams than this repeat it with a suffix: payments-2
    (name, area, kind)
    for area, kind, names in (
        ("Platform", "platform", "infrastructure observability developer-experience identity networking storage ci-cd "
                                 "security databases release-engineering"),
        ("Commerce", "product", "payments checkout billing pricing catalog orders fulfilment subscriptions tax "
                                "fraud-prevention"),
        ("Growth", "product", "onboarding search notifications mobile-app web-app accounts referrals lifecycle "
                              "experimentation"),
        ("Growth", "design", "design-systems"),
        ("Data", "data", "data-platform analytics ml-platform recommendations forecasting data-quality insights "
                         "ranking data-engineering data-science"),
    )
    for name in names.split()
)
LEADERSHIP = ("leadership", "Office of the CTO", "leadership")  # the CTO and the directors
PLANTED_TEAMS = {"lenient": "checkout", "severe": "search", "quota": "analytics", "elite": "payments",
                 "bunched": "notifications", "invisible": "observability"}
PLANTED_SIZES = {"lenient": 10, "severe": 10, "quota": 10, "elite": 8, "bunched": 8, "invisible": 9}
PLANTED_TIERS = {"elite": "elite", "invisible": "high", "lenient": "medium", "severe": "medium"}
RATING_EFFECT = {"lenient": 1.0, "severe": -1.0, "elite": -0.8}  # on the manager's ratings only
WOMEN_TOP_RATIO = 0.5  # women ICs' rate of top ratings over men's, when planting (rating only)
INVISIBLE_COUNT = 4
CENTER = 3.22  # the average rating score sits a little above Meets
IC_LEVEL_SHARE = (0.12, 0.24, 0.28, 0.20, 0.11, 0.05)  # L2..L7
MANAGER_LEVEL_SHARE = (0.35, 0.45, 0.20)  # L5..L7
DISCIPLINE_SHARE = np.array([  # rows: team kinds as TEAM_KINDS; columns: DISCIPLINES
    [1.00, 0.00, 0.00, 0.00], [0.54, 0.26, 0.12, 0.08], [0.50, 0.00, 0.00, 0.50], [0.25, 0.00, 0.75, 0.00]])
GENDERS = ("woman", "man", "nonbinary", "")  # "" = not disclosed
GENDER_SHARE = (0.30, 0.64, 0.03, 0.03)
CITIES = ("Berlin", "London", "Lisbon", "Toronto", "Bangalore")
CITY_SHARE = (0.30, 0.25, 0.15, 0.15, 0.15)
FIRST_NAMES = (  # for women, men, and anyone; a person's gender picks the list
    "Aisha Amara Ana Anjali Astrid Beatriz Bianca Carmen Chiara Chloe Daniela Deepa Elena Emma Esther Fatima Freya "
    "Grace Hana Ingrid Isabel Jana Jia Julia Kavya Keiko Lara Layla Leila Lina Lucia Maja Mariam Marta Mei Mira Nadia "
    "Naledi Nia Nkechi Noor Olga Olivia Priya Rachel Rosa Sakura Sara Sofia Sunita Tamar Thandi Valentina Wanjiru Xin "
    "Yara Yuki Zainab Zoe Adaeze Camila Divya Eun-ji Farah Hannah Ifeoma Jasmine Katarzyna Lerato Mariana Meera Naomi "
    "Paula Ritu Shira Tuyet Veronika Ximena",
    "Aarav Abdul Adebayo Ahmed Alejandro Andrei Arjun Ben Bruno Carlos Chidi Daniel David Diego Dmitri Emeka Erik "
    "Felipe Florian Gabriel Hassan Hiroshi Ibrahim Ivan Jakub James Jamal Javier Jin Jonas Jorge Kenji Kofi Kwame "
    "Lars Leon Liam Lucas Luis Marco Mateo Mehmet Mohammed Nikhil Noah Olumide Omar Oscar Pablo Pedro Rahul Rafael "
    "Ravi Samuel Santiago Sebastian Sipho Stefan Takeshi Tariq Thomas Tomasz Tuan Uche Vikram Wei Yusuf Yosef Hao "
    "Arnav Bilal Cheng Dawit Finn Goran Haruto Idris Malik Nikolai Rohan Sven",
    "Alex Ari Avery Charlie Eden Jamie Jesse Jordan Kai Kiran Morgan Noa Quinn Riley Robin Rowan Sam Sasha Sky Taylor "
    "Remy Andie Dana Emery",
)
LAST_NAMES = (
    "Abebe,Adeyemi,Ahmed,Alvarez,Andersen,Bauer,Becker,Bianchi,Brown,Castro,Chen,Cohen,Costa,da Silva,Dang,Das,"
    "Dubois,Eriksson,Fernandes,Fischer,Garcia,Ghosh,Goldberg,Gomez,Gupta,Haddad,Hansen,Hernandez,Hoang,Hoffmann,"
    "Horvat,Huang,Ibrahim,Iyer,Jansen,Jensen,Johnson,Kang,Kaplan,Khan,Kim,Kowalski,Kumar,Lambert,Larsen,Lee,"
    "Lehmann,Li,Lim,Lopez,Martin,Martinez,Mendes,Meyer,Mishra,Moreau,Murphy,Mwangi,Nakamura,Nascimento,Nguyen,"
    "Novak,Nowak,O'Brien,Okafor,Okonkwo,Olsen,Ortiz,Osei,Ozturk,Park,Patel,Pereira,Petrov,Pham,Popescu,Qureshi,"
    "Ramirez,Rao,Reddy,Reyes,Richter,Rodriguez,Romano,Rossi,Russo,Sahin,Santos,Sato,Schmidt,Schneider,Shah,Sharma,"
    "Silva,Singh,Smith,Sokolov,Suzuki,Tanaka,Tran,Turner,van den Berg,Vargas,Verma,Volkov,Wagner,Walker,Wang,Weber,"
    "Williams,Wilson,Wojcik,Wu,Xu,Yamamoto,Yang,Yilmaz,Yusuf,Zhang,Zhou,Zimmermann,Banerjee,Chukwu,Diallo,Eze,"
    "Friedman,Kariuki,Mensah,Petersen,Quispe,Soto"
).split(",")
CTO, DIRECTOR, MANAGER, IC = range(4)
LEVELING_KEYS = (  # cycle.yml lines for the alignment documents (calib.outputs.alignment.model)
    "leveling_framework: leveling.yml          # criteria x levels, relative to this file",
    "links:                                    # reference links at the top of every alignment document",
    "  process: https://handbook.example.com/people/performance-reviews",
    "  leveling_framework: https://handbook.example.com/people/engineering-levels",
    "work_queries:                             # fields: {handle} {employee_id} {name} {start} {end} {cycle}",
    '  merged_prs: "https://github.com/search?q=is:pr+is:merged+author:{handle}+merged:>={start}&type=pullrequests"',
    '  reviewed_prs: "https://github.com/search?q=is:pr+reviewed-by:{handle}+-author:{handle}+updated:>={start}'
    '&type=pullrequests"',
    '  kudos: "https://kudos.example.com/search?to={handle}&from={start}&until={end}"',
    '  docs: "https://docs.example.com/search?author={handle}&modified_after={start}"',
)


def generate_org(
    *,
    people: int = 300,
    managers: int = 40,
    seed: int = 20260630,
    deployments: int | None = None,
    start: dt.date = dt.date(2025, 7, 1),
    months: int = 12,
    plant: bool = True,
) -> dict[str, pd.DataFrame]:
    """Every canonical input of a synthetic org; the same arguments give the same frames.

    Parameters
    ----------
    people
        Everyone: a CTO, a director per ten teams, a manager per team and the ICs.
    managers
        Team leads; each leads one team of 4 to 12 ICs.
    seed
        Seeds numpy's `default_rng`; each group of tables draws from its own spawned stream.
    deployments
        Total deployments over the period; None draws them from each service's deploy rate.
    start, months
        First day (1 January or 1 July) and length of the period; a cycle per half year.
    plant
        Plant the patterns listed in data_samples/README.md (teams in `PLANTED_TEAMS`).

    Returns
    -------
    dict of pandas.DataFrame
        Keyed by input name, in the order of `INPUTS`: text cells, dates like 2026-03-31,
        times like 2026-03-31T14:05:00Z. Orgs of more than `LARGE_ORG` people get
        lead_time_hours on deployments instead of a changes table.

    Raises
    ------
    ValueError
        When the period is not whole half years, or people and managers do not fit.
    """
    cycles = half_years(start, months)
    root = np.random.default_rng(seed)
    org_rng, review_rng, peer_rng, evidence_rng, delivery_rng = root.spawn(5)
    org = build_org(org_rng, people, managers, cycles, plant)
    person, cycle = _reviewed(org, cycles)
    frames = {"people": _people_frame(org_rng, org)}
    frames["reviews"], frames["criteria_scores"] = _reviews(review_rng, org, cycles, person, cycle)
    team_names = org.teams["team"].to_numpy(dtype=object)
    starts, ends = (np.array([getattr(c, end) for c in cycles])[cycle] for end in ("start", "end"))
    frames["evidence"] = evidence_frame(evidence_rng, pd.DataFrame({
        "employee_id": org.ids[person], "team": team_names[org.team[person]],
        "group": np.where(org.invisible[person], 5, np.where(org.role[person] == IC, org.discipline[person], 4)),
        "level": org.level[person], "perf": org.perf[person, cycle],
        "bunched": (org.team[person] == org.planted.get("bunched", -1)) & (cycle == len(cycles) - 1),
        "first": np.maximum(starts, org.hire[person]), "last": ends,
    }))
    frames["peer_feedback"] = peer_feedback_frame(peer_rng, org, cycles, person, cycle)
    named = {pattern: team_names[code] for pattern, code in org.planted.items()}
    frames.update(delivery_frames(
        delivery_rng, org.teams.iloc[:-1], start=start, months=months, deployments=deployments,
        compact=people > LARGE_ORG, tiers={named[r]: t for r, t in PLANTED_TIERS.items() if r in named},
        improving=named.get("invisible"),
    ))
    frames["teams"] = org.teams
    (expectation_rng,) = root.spawn(1)  # a stream of its own, after the others: they stay as they were
    frames["expectations"] = expectations_frame(expectation_rng, frames["reviews"], cycles[-1].id)
    return {name: frames[name].reset_index(drop=True) for name in INPUTS if name in frames}


def half_years(start: dt.date, months: int) -> list[Cycle]:
    """The half-year cycles of a period, with ids like 2025-H2."""
    if start.day != 1 or start.month not in (1, 7) or months <= 0 or months % 6:
        raise ValueError("the period must start on 1 January or 1 July and last 6, 12, ... months")
    cycles = []
    for k in range(months // 6):
        begin = dt.date(start.year + (start.month + 6 * k - 1) // 12, (start.month + 6 * k - 1) % 12 + 1, 1)
        end = _day(dt.date(begin.year, begin.month + 5, 30 if begin.month == 1 else 31))
        cycles.append(Cycle(f"{begin.year}-H{1 if begin.month == 1 else 2}", _day(begin), end))
    return cycles


def build_org(rng: np.random.Generator, people: int, managers: int, cycles: list[Cycle], plant: bool) -> Org:
    """People, reporting lines, teams and latent performance (see `generate_org`)."""
    catalog, replica = np.arange(managers) % len(TEAMS), np.arange(managers) // len(TEAMS)
    names = [TEAMS[c][0] + (f"-{r + 1}" if r else "") for c, r in zip(catalog, replica, strict=True)]
    kind = np.array([TEAM_KINDS.index(TEAMS[c][2]) for c in catalog])
    area = np.array([AREAS.index(TEAMS[c][1]) for c in catalog])
    codes, director_of = np.unique(replica * len(AREAS) + area, return_inverse=True)
    n_dir = len(codes)
    n_ic = people - 1 - n_dir - managers
    planted = {r: names.index(t) for r, t in PLANTED_TEAMS.items() if plant and t in names}
    sizes = _team_sizes(rng, n_ic, managers, {planted[r]: PLANTED_SIZES[r] for r in planted})
    role = np.repeat([CTO, DIRECTOR, MANAGER, IC], [1, n_dir, managers, n_ic])
    ic_team = np.repeat(np.arange(managers), sizes)
    team = np.concatenate([np.full(1 + n_dir, managers), np.arange(managers), ic_team])
    org = np.concatenate([[n_dir], np.arange(n_dir), director_of, director_of[ic_team]])
    manager = np.concatenate([[-1], np.zeros(n_dir, int), 1 + director_of, 1 + n_dir + ic_team])
    pos = np.arange(n_ic) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # place within the team
    crew = (ic_team == planted.get("invisible", -1)) & (pos < INVISIBLE_COUNT)
    invisible = np.concatenate([np.zeros(people - n_ic, bool), crew])

    ic_kind = kind[ic_team]
    ic_discipline = choose(rng, DISCIPLINE_SHARE[ic_kind])
    product_team = (ic_kind == 1) & (pos < 2)  # every product team has a PM and a designer
    ic_discipline[product_team] = pos[product_team] + 1
    ic_discipline[(ic_kind == 3) & (pos == 0)] = 2
    lead_discipline = np.select([kind == 3, (kind == 2) & (rng.random(managers) < 0.5)], [2, 3], 0)
    discipline = np.concatenate([[0], np.array([0, 0, 1, 3])[codes % 4], lead_discipline, ic_discipline])
    level = np.concatenate([
        np.full(1 + n_dir, 8), 5 + rng.choice(3, managers, p=MANAGER_LEVEL_SHARE),
        2 + rng.choice(6, n_ic, p=IC_LEVEL_SHARE),
    ])
    discipline[invisible] = 0
    level[invisible] = 4 + rng.integers(0, 2, invisible.sum())
    gender = rng.choice(len(GENDERS), people, p=GENDER_SHARE)
    hire = _hire_days(rng, role, level, cycles[-1].end - 45)
    perf = _performance(rng, team, managers, len(cycles))
    if plant:
        first = cycles[0].start
        mates = np.isin(team, list(planted.values()))  # planted teams are reviewed in every cycle
        hire[mates] = np.minimum(hire[mates], first - 30)
        others = (team == planted.get("invisible", -1)) & (role == IC) & ~invisible
        hire[others] = np.maximum(hire[others], first - 1270)  # the crew are the team's veterans
        hire[invisible] = first - rng.integers(4 * 365, 6 * 365, invisible.sum())
        typical = perf[role == IC].mean(axis=0)
        for pattern in ("lenient", "severe", "quota", "elite"):  # average teams (elite: a bit better)
            mates = (team == planted.get(pattern, -1)) & (role == IC)
            if mates.any():
                perf[mates] += typical + (0.3 if pattern == "elite" else 0.0) - perf[mates].mean(axis=0)
        perf[invisible] = 0.9 + rng.normal(0, 0.15, (invisible.sum(), len(cycles)))
    rank = np.empty(people, int)
    rank[np.lexsort((np.arange(people), hire))] = np.arange(people)  # ids in order of hiring
    org_names = np.array([a + (f" {r + 1}" if r else "") for a, r in zip(
        np.array(AREAS)[codes % 4], codes // 4, strict=True)], dtype=object)
    teams = pd.DataFrame({
        "team": [*names, LEADERSHIP[0]],
        "org": [*org_names[director_of], LEADERSHIP[1]],
        "team_type": [*np.array(TEAM_KINDS)[kind], LEADERSHIP[2]],
    })
    return Org(role, team, org, manager, discipline, level, gender, hire, perf, rng.normal(0, 0.3, people),
               invisible, rank, make_ids("E", people, 4)[rank], teams, planted, plant)


def _team_sizes(rng: np.random.Generator, n_ic: int, n_teams: int, fixed: dict[int, int]) -> np.ndarray:
    """4 to 12 ICs a team, `fixed` ones as given, summing to `n_ic`."""
    sizes = np.full(n_teams, 4)
    sizes[list(fixed)] = list(fixed.values())
    free = np.setdiff1d(np.arange(n_teams), list(fixed))
    spare = n_ic - sizes.sum()
    if not 0 <= spare <= 8 * len(free):
        raise ValueError(f"{n_ic} ICs do not make {n_teams} teams of 4 to 12; change people or managers")
    extra = rng.multinomial(spare, rng.dirichlet(np.full(len(free), 2.0)))
    while (over := np.clip(extra - 8, 0, None)).any():  # pour the overflow into teams with room
        extra -= over
        room = 8 - extra
        extra += rng.multinomial(over.sum(), room / room.sum())
    sizes[free] += extra
    return sizes


def _hire_days(rng: np.random.Generator, role: np.ndarray, level: np.ndarray, asof: int) -> np.ndarray:
    """Hire dates from tenures that grow with level and role; nobody joins in the last 45 days."""
    base = np.select([role == CTO, role == DIRECTOR, role == MANAGER], [7.0, 3.0, 1.5], 0.0)
    ic = role == IC
    years = base + rng.gamma(np.where(ic, 1.6, 2.0), np.where(ic, 0.9 + 0.35 * (level - 2), 1.5))
    return asof - np.rint(np.minimum(years, 12.0) * 365.25).astype(np.int64)


def _performance(rng: np.random.Generator, team: np.ndarray, n_teams: int, n_cycles: int) -> np.ndarray:
    """Latent performance: heavy-tailed, a little right-skewed, a small team effect, drifting."""
    t = rng.standard_t(3, len(team))
    quality = np.append(rng.normal(0, 0.15, n_teams), 0.0)[team]
    first = np.clip(0.55 * t + 0.4 * np.maximum(t - 0.5, 0) + 0.4 * np.minimum(t + 1, 0), -3, 3) + quality
    drift = rng.normal(0, 0.35, (len(team), n_cycles))
    drift[:, 0] = 0
    return first[:, None] + drift.cumsum(axis=1)


def _reviewed(org: Org, cycles: list[Cycle]) -> tuple[np.ndarray, np.ndarray]:
    """(person, cycle) of every review: everyone but the CTO, once hired; by cycle, then id."""
    person, cycle = [], []
    for k, c in enumerate(cycles):
        who = np.flatnonzero((org.role != CTO) & (org.hire <= c.end))
        person.append(who[np.argsort(org.rank[who])])
        cycle.append(np.full(len(who), k))
    return np.concatenate(person), np.concatenate(cycle)


def _people_frame(rng: np.random.Generator, org: Org) -> pd.DataFrame:
    n = len(org.role)
    home = rng.choice(len(CITIES), len(org.teams), p=CITY_SHARE)
    moved = rng.random(n) < np.select([org.role == IC, org.role == MANAGER], [0.25, 0.0], 0.6)  # teams sit together
    city = np.where(moved, rng.choice(len(CITIES), n, p=CITY_SHARE), home[org.team])
    frame = pd.DataFrame({
        "employee_id": org.ids,
        "name": _names(rng, org.gender),
        "manager_id": np.where(org.manager >= 0, org.ids[org.manager], None),
        "team": org.teams["team"].to_numpy(dtype=object)[org.team],
        "discipline": np.array(DISCIPLINES, dtype=object)[org.discipline],
        "level": np.array(LEVELS, dtype=object)[org.level - 1],
        "track": np.where(org.role == IC, "ic", "manager"),
        "location": np.array(CITIES, dtype=object)[city],
        "hire_date": iso_days(org.hire),
        "gender": np.array(GENDERS, dtype=object)[org.gender],
    })
    frame["gender"] = frame["gender"].replace("", None)
    frame.insert(2, "handle", handles(frame["name"]).to_numpy(dtype=object))  # derived, no draws
    return frame.iloc[np.argsort(org.rank)]


def _names(rng: np.random.Generator, gender: np.ndarray) -> np.ndarray:
    """Unique full names; women and men get names from their list, the rest from either."""
    names = np.empty(len(gender), dtype=object)
    for group, firsts in enumerate(f.split() for f in FIRST_NAMES):
        who = np.flatnonzero(np.minimum(gender, 2) == group)
        space = len(firsts) * len(LAST_NAMES)
        if len(who) > space:
            raise ValueError(f"only {space} distinct names for {len(who)} people")
        picks = rng.choice(space, len(who), replace=False)
        names[who] = [f"{firsts[p // len(LAST_NAMES)]} {LAST_NAMES[p % len(LAST_NAMES)]}" for p in picks]
    return names


def _lead(org: Org, pattern: str) -> int:
    """The person who manages a planted team, or -1."""
    code = org.planted.get(pattern, -1)
    leads = np.flatnonzero((org.role == MANAGER) & (org.team == code))
    return int(leads[0]) if len(leads) else -1


def _reviews(
    rng: np.random.Generator, org: Org, cycles: list[Cycle], person: np.ndarray, cycle: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ratings by the manager, calibrated ratings, potential, promotion, criteria scores."""
    n, perf, boss = len(person), org.perf[person, cycle], org.manager[person]
    effect = np.zeros(len(org.role))
    for pattern, size in RATING_EFFECT.items():
        if pattern in org.planted:
            effect[_lead(org, pattern)] = size
    score = CENTER + 0.8 * perf + 0.08 * (org.level[person] - 4.5) + effect[boss] + rng.normal(0, 0.28, n)
    rating = np.clip(np.rint(score), 1, 5).astype(int)
    crew = org.invisible[person]
    rating[crew] = np.minimum(rating[crew], 3)  # judged by PRs and tickets, of which they have few
    quota = boss == _lead(org, "quota") if "quota" in org.planted else np.zeros(n, bool)
    for k in range(len(cycles)):  # the guideline curve, filled in order of performance
        rows = np.flatnonzero(quota & (cycle == k))
        rating[rows[np.argsort(perf[rows], kind="stable")]] = np.repeat(np.arange(1, 6), _curve(len(rows)))
    if org.plant:
        _hold_back_women(org, person, cycle, score, rating, quota)
    step = np.sign(np.clip(np.rint(CENTER + 0.8 * perf), 1, 5) - rating)  # the room nudges to truth
    step = np.where(step == 0, rng.choice([-1, 1], n), step)
    moved = (rng.random(n) < 0.09) & ~quota & ~crew
    calibrated = np.clip(rating + step * moved, 1, 5).astype(int)
    outlook = 0.8 * perf + 0.25 * (5 - org.level[person]) + rng.normal(0, 0.6, n)
    potential = np.digitize(outlook, np.quantile(outlook, [0.25, 0.8]))
    eligible = org.level[person] < 7
    merit = perf + 0.35 * rating + rng.normal(0, 0.5, n)
    promote = eligible & (merit >= np.quantile(merit[eligible], 0.88))
    labels = np.array(RATINGS, dtype=object)
    ids = np.array([c.id for c in cycles], dtype=object)[cycle]
    reviews = pd.DataFrame({
        "cycle": ids,
        "employee_id": org.ids[person],
        "reviewer_id": org.ids[boss],
        "rating": labels[rating - 1],
        "calibrated_rating": labels[calibrated - 1],
        "potential": np.array(["low", "medium", "high"], dtype=object)[potential],
        "promotion_recommended": np.where(promote, "true", "false"),
    })
    habit = rng.normal(0, 0.35, (len(org.role), len(CRITERIA)))  # a person's own profile
    marks = CENTER + 0.75 * perf[:, None] + 0.5 * effect[boss][:, None] + habit[person]
    marks += rng.normal(0, 0.3, marks.shape)
    marks[crew, CRITERIA.index("Impact")] -= 1.0
    marks[crew, CRITERIA.index("Collaboration")] += 0.5
    criteria = pd.DataFrame({
        "cycle": np.repeat(ids, len(CRITERIA)),
        "employee_id": np.repeat(org.ids[person], len(CRITERIA)),
        "criterion": np.tile(np.array(CRITERIA, dtype=object), n),
        "score": np.clip(np.rint(marks * 2) / 2, 1, 5).ravel(),
    })
    return reviews, criteria


def _hold_back_women(
    org: Org, person: np.ndarray, cycle: np.ndarray, score: np.ndarray, rating: np.ndarray, quota: np.ndarray
) -> None:
    """Women ICs get Exceeds and above at WOMEN_TOP_RATIO times men's rate; the others get Meets.

    Those held back are the women with the lowest scores among the top rated: a higher bar.
    """
    ic = org.role[person] == IC
    for k in np.unique(cycle):
        men, women = (ic & (cycle == k) & (org.gender[person] == g) for g in (1, 0))
        if not men.any():
            continue
        allowed = round(WOMEN_TOP_RATIO * (rating[men] >= 4).mean() * women.sum())
        top = women & (rating >= 4)
        movable = np.flatnonzero(top & ~quota)
        held = movable[np.argsort(score[movable], kind="stable")][: max(top.sum() - allowed, 0)]
        rating[held] = 3


def _curve(n: int) -> np.ndarray:
    """Counts per rating closest to n x GUIDELINE (largest remainders, lower ratings first)."""
    exact = n * np.array(GUIDELINE)
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    return counts


def write_org(frames: dict[str, pd.DataFrame], out_dir: Path, *, fmt: str = "csv") -> None:
    """Write one file per input and a cycle.yml naming them, replacing only those files.

    Files are written into a temporary folder inside `out_dir` and then moved into place,
    so a reader never sees a half-written file; nothing else in `out_dir` is read or touched.

    Parameters
    ----------
    frames
        As returned by `generate_org`.
    out_dir
        The folder to write into; created when missing.
    fmt
        "csv" (UTF-8, "\\n" line ends) or "parquet".
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be csv or parquet, not {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".synth-", dir=out_dir))
    try:
        for name in INPUTS:
            if name not in frames:
                continue
            if fmt == "csv":
                write_csv(frames[name], staging / f"{name}.csv")
            else:
                frames[name].to_parquet(staging / f"{name}.parquet", index=False)
        (staging / "cycle.yml").write_bytes(config_text(frames, fmt).encode("utf-8"))
        for path in sorted(staging.iterdir(), key=lambda p: (p.name == "cycle.yml", p.name)):  # the config last
            os.replace(path, out_dir / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def config_text(frames: dict[str, pd.DataFrame], fmt: str = "csv") -> str:
    """The cycle.yml of a generated org: its cycles, the sample's settings, the files written."""
    ids = sorted(set(frames["reviews"]["cycle"]))
    lines = [
        "# A review cycle of the synthetic sample org (see README.md here for what is planted in it).",
        "# Paths are relative to this file's folder.",
        f"cycle: {ids[-1]}",
        "cycles:                                   # known cycles, oldest first",
        *(f"  - {{id: {c.id}, start: {_iso(c.start)}, end: {_iso(c.end)}}}" for c in half_years(
            dt.date(int(ids[0][:4]), 1 if ids[0].endswith("1") else 7, 1), 6 * len(ids))),
        f"rating_scale: [{', '.join(RATINGS)}]   # lowest first",
        f"levels: [{', '.join(LEVELS)}]  # the ladder, lowest first",
        f"disciplines: [{', '.join(DISCIPLINES)}]",
        "protected_attributes: [gender]            # used only by the bias audit",
        "min_group_size: 5                         # smaller groups are suppressed in any breakdown",
        "score_range: [1, 5]                       # criteria and peer-feedback scores (half points allowed)",
        "guideline_curve:                          # the guideline some managers were told to follow;"
        " never enforced",
        *(f"  {label}: {share:.2f}" for label, share in zip(RATINGS, GUIDELINE, strict=True)),
        "dora:",
        "  benchmark: dora-2023                    # or dora-2021",
        "  production_environment: production",
        '  min_sample: 10                          # fewer events than this: labelled "small sample"',
        *LEVELING_KEYS,
        "inputs:",
        *(f"  {name}: {name}.{fmt}" for name in INPUTS if name in frames),
    ]
    return "\n".join(lines) + "\n"


def planted_people(people: pd.DataFrame) -> dict[str, list[str]]:
    """The employee ids behind each planted pattern of an org generated with plant=True.

    Keys are "<pattern>_manager" for each of `PLANTED_TEAMS` (the manager of that team) and
    "invisible_engineers": the longest-serving ICs of the invisible-work team.
    """
    leads = people[people["track"] == "manager"]
    found = {f"{p}_manager": leads.loc[leads["team"] == t, "employee_id"].tolist() for p, t in PLANTED_TEAMS.items()}
    crew = people[(people["team"] == PLANTED_TEAMS["invisible"]) & (people["track"] == "ic")]
    veterans = crew.sort_values(["hire_date", "employee_id"])["employee_id"]
    return {**found, "invisible_engineers": veterans.head(INVISIBLE_COUNT).tolist()}


def _iso(day: int) -> str:
    return str(np.datetime64(day, "D"))


def _day(value: dt.date) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))
