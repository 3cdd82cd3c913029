"""Blind mode on every surface, on an org whose free text names people by name, id, handle and e-mail.

Every evidence title, evidence url and peer comment of the "leaky" org embeds someone's full name,
employee id, handle and e-mail address. In blind mode none of them may appear anywhere: the report,
its per-manager packets, findings.json, lineage.json, every table, and each dashboard tab in chromium
(the Person tab for several people). All go through `calib.privacy`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

SAMPLE = ROOT / "data_samples"


def leaky_org(folder: Path) -> Path:
    """The sample with an e-mail column and people named inside every free text; returns cycle.yml."""
    shutil.copytree(SAMPLE, folder)
    people = pd.read_csv(folder / "people.csv", dtype=str, keep_default_na=False)
    people["email"] = people["handle"].str.replace("-", ".") + "@corp.example"
    people.to_csv(folder / "people.csv", index=False, lineterminator="\n")
    by_id = people.set_index("employee_id")
    ids = people["employee_id"].tolist()
    other = {me: ids[(i + 7) % len(ids)] for i, me in enumerate(ids)}

    def mention(employee_id: str) -> str:
        row = by_id.loc[employee_id]
        return f"{row['name']} ({employee_id}, @{row['handle']}, {row['email'].upper()})"

    evidence = pd.read_csv(folder / "evidence.csv", dtype=str, keep_default_na=False)
    evidence["title"] = evidence["title"] + " with " + evidence["employee_id"].map(lambda i: mention(other[i]))
    evidence["url"] = evidence.apply(
        lambda r: f"https://git.example.com/pulls?author={by_id.loc[r['employee_id'], 'handle']}"
        f"&reviewer={by_id.loc[other[r['employee_id']], 'handle']}",
        axis=1,
    )
    evidence.to_csv(folder / "evidence.csv", index=False, lineterminator="\n")
    peers = pd.read_csv(folder / "peer_feedback.csv", dtype=str, keep_default_na=False)
    peers["comment"] = peers["comment"] + "; as " + peers["reviewee_id"].map(lambda i: mention(other[i])) + " said"
    peers.to_csv(folder / "peer_feedback.csv", index=False, lineterminator="\n")
    return folder / "cycle.yml"


def identifiers(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "people.csv", dtype=str, keep_default_na=False)


def leaks(text: str, people: pd.DataFrame) -> list[str]:
    """Every name, id, handle or e-mail of `people` found in `text` (whole words; handles and e-mails any case)."""
    found = []
    lowered = text.lower()
    for column, ignore_case in (("name", False), ("employee_id", False), ("handle", True), ("email", True)):
        haystack = lowered if ignore_case else text
        for value in people[column]:
            needle = value.lower() if ignore_case else value
            if needle and needle in haystack and re.search(rf"(?<![\w-]){re.escape(needle)}(?![\w-])", haystack):
                found.append(f"{column}={value}")
    return found


@pytest.fixture(scope="module")
def leaky(tmp_path_factory) -> Path:
    return leaky_org(tmp_path_factory.mktemp("leaky") / "org")


def test_the_leaky_org_does_leak_when_not_blind(leaky, tmp_path):
    """The check can fail: without blind mode, the same surfaces name people."""
    from calib.apps.dashboard import views as d

    sources = d.load_sources(leaky, cache=tmp_path / "cache")
    filters = d.Filters(cycle=sources.config.cycle)
    employee_id = d.person_options(sources, filters)[0][1]
    html = d.person(sources, filters, employee_id).html
    kinds = {c.split("=")[0] for c in leaks(html, identifiers(leaky.parent))}
    assert kinds == {"name", "employee_id", "handle", "email"}


@pytest.mark.slow
def test_the_blind_report_packets_findings_and_tables_name_no_one(leaky, tmp_path):
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "calib.cli", "report", str(leaky), "--out", str(out), "--blind", "--per-manager"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".html", ".json", ".csv"} <= kinds and any(p.parent.name == "packets" for p in files)
    people = identifiers(leaky.parent)
    for path in files:
        found = leaks(path.read_text(encoding="utf-8"), people)
        assert not found, f"{path.relative_to(out)}: {found[:5]}"


def test_every_dashboard_view_in_blind_mode_names_no_one(leaky, tmp_path):
    """The pure views behind every tab (the browser test below checks the page as served)."""
    from dataclasses import replace

    from calib.apps.dashboard import views as d

    sources = d.load_sources(leaky, cache=tmp_path / "cache")
    people = identifiers(leaky.parent)
    blind = d.Filters(cycle=sources.config.cycle, blind=True)
    for filters in (blind, replace(blind, manager="E0013")):
        for name, view_fn in d.VIEWS.items():
            view = view_fn(sources, filters)
            text = view.intro + view.html + (view.chart.to_json() if view.chart is not None else "")
            assert not leaks(text, people), (name, leaks(text, people)[:5])
        for _, employee_id in d.person_options(sources, filters)[:8]:
            view = d.person(sources, filters, employee_id)
            text = view.intro + view.html + (view.chart.to_json() if view.chart is not None else "")
            assert not leaks(text, people), (employee_id, leaks(text, people)[:5])


@pytest.mark.browser
def test_every_dashboard_tab_in_blind_mode_names_no_one_in_chromium(leaky, tmp_path):
    from test_dashboard_browser import SCREENSHOTS, assert_healthy, open_tab, shot

    from calib.apps.dashboard.widgets import TABS
    from calib.bench.dashboard import chromium, load, serving, wait_until

    people = identifiers(leaky.parent)
    with serving(leaky, tmp_path) as server, chromium() as browser:
        page = browser.page
        load(browser, server.url)
        assert leaks(page.content(), people)  # names are on the page until blind mode is on
        page.locator("button.calib-blind").click()
        wait_until(lambda: "blind mode" in page.inner_text(".calib-header"), 20, "blind mode")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name in TABS:
            open_tab(page, name)
            wait_until(lambda: not leaks(page.content(), people), 20, f"{name} without names")
            if name == "Person":
                entries = page.locator(".calib-person-pick .calib-picker-entry")
                for index in range(4):
                    entries.nth(index).click()
                    wait_until(lambda: "Evidence" in page.inner_text(".calib-dashboard"), 30, "a person's evidence")
                    found = leaks(page.content(), people)
                    assert not found, f"Person tab: {found[:5]}"
                shot(page, "blind-leaky-person")
            assert not leaks(page.content(), people), name
            assert_healthy(page)
        assert not browser.external, browser.external
        assert not browser.errors, browser.errors
