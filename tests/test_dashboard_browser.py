"""The dashboard as a user meets it: the real `calib serve`, Voila, and Debian's chromium driven by Playwright.

Never skipped: without /usr/bin/chromium these tests fail (.ci/run installs it with apt). Every request
that leaves 127.0.0.1 is refused and fails the test. Screenshots of every tab go to
reports/screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from pathlib import Path

import pytest

from calib.apps.dashboard.widgets import TABS
from calib.apps.serve import POOL_SIZE
from calib.bench.dashboard import chromium, load, serving, wait_until

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data_samples"
SCREENSHOTS = ROOT / "reports" / "screenshots"
EVIL = "<script>alert(1)</script>"
LOADS = 20


def people_names(folder: Path) -> dict[str, str]:
    """employee_id -> name, from people.csv."""
    with open(folder / "people.csv", newline="", encoding="utf-8") as handle:
        return {row["employee_id"]: row["name"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The servers' working directory: their analysis cache lives in workdir/reports/.cache."""
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def server(workdir):
    with serving(SAMPLE / "cycle.yml", workdir) as running:
        yield running


@pytest.fixture
def browser():
    with chromium() as opened:
        yield opened
        assert not opened.external, f"requests left 127.0.0.1: {opened.external}"
        assert not opened.dialogs, f"dialogs opened: {opened.dialogs}"


def assert_healthy(page) -> None:
    """No error panel, no chart error, no Voila execution error."""
    assert page.locator(".calib-error:visible").count() == 0, page.locator(".calib-error").first.inner_text()
    text = page.inner_text("body")
    for bad in ("JavaScript Error", "There was an error when executing cell", "Traceback"):
        assert bad not in text


def open_tab(page, name: str) -> None:
    page.locator(".lm-TabBar-tab", has_text=re.compile(f"^{name}$")).click()
    pane = page.locator(".calib-pane:not(.lm-mod-hidden)")
    wait_until(lambda: "Loading…" not in pane.first.inner_text(), 30, f"the {name} tab")


def visible_charts(page) -> str:
    return page.locator(".calib-pane:not(.lm-mod-hidden) svg.marks").evaluate_all(
        "els => els.map(e => e.innerHTML).join('')"
    )


def shot(page, name: str) -> None:
    """What the room sees at 1920x1080, and the whole tab (a tall window: Voila scrolls inside its page)."""
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    page.set_viewport_size({"width": 1920, "height": 3600})
    time.sleep(0.3)
    page.screenshot(path=SCREENSHOTS / f"{name}-full.png")
    page.set_viewport_size({"width": 1920, "height": 1080})


def select(page, name: str, label: str) -> None:
    page.locator(f".calib-filter-{name} select").select_option(label=label)


def test_twenty_loads_in_a_row_all_render_without_errors_or_piling_up_kernels(server, browser):
    page = browser.page
    seconds = []
    for _ in range(LOADS):
        seconds.append(load(browser, server.url, timeout=120))
        assert_healthy(page)
        server.kernels_seen.update(server.kernels())
    assert not browser.errors, browser.errors
    print(f"\n{LOADS} loads: median {sorted(seconds)[LOADS // 2]:.2f} s, slowest {max(seconds):.2f} s")
    # Each page's kernel is shut down when the page goes away: only the pool and the open page remain.
    wait_until(lambda: len(server.kernels()) <= POOL_SIZE + 1, 60, "kernels of closed pages to stop", server)


def test_a_url_chooses_no_template_or_theme(server, browser):
    load(browser, server.url + ("&" if "?" in server.url else "?") + "template=lab&theme=dark")
    assert "theme-light" in browser.page.locator("body").get_attribute("class")
    assert_healthy(browser.page)  # and no request left 127.0.0.1 (the lab template fetches Font Awesome)


def test_a_filter_change_redraws_the_charts(server, browser):
    page = browser.page
    load(browser, server.url)
    before, header = visible_charts(page), page.inner_text(".calib-header")
    select(page, "discipline", "product")
    wait_until(lambda: visible_charts(page) != before, 60, "the chart to change")
    assert page.inner_text(".calib-header") != header
    open_tab(page, "Managers")
    wait_until(lambda: visible_charts(page) != "", 30, "the managers chart")  # a view's text comes before its chart
    time.sleep(0.5)  # and vega draws it again at its container's width
    managers = visible_charts(page)
    select(page, "org", "Platform")
    wait_until(lambda: visible_charts(page) != managers, 60, "the managers chart to follow the filter")
    assert_healthy(page)
    assert not browser.errors, browser.errors


def test_every_tab_draws_and_is_screenshotted(server, browser):
    page = browser.page
    load(browser, server.url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in TABS:
        open_tab(page, name)
        if name != "Person":  # the person packet may have no chart for someone without evidence
            wait_until(lambda: visible_charts(page) != "", 30, f"a chart on {name}")
        time.sleep(0.5)  # let vega finish laying out before the picture
        shot(page, name.lower().replace(" ", "-"))
        assert_healthy(page)
    select(page, "manager", people_names(SAMPLE)["E0013"])  # the planted lenient manager
    open_tab(page, "Managers")
    wait_until(lambda: "'s people in view" in page.inner_text(".calib-dashboard"), 30, "the manager's people")
    shot(page, "managers-selected")
    assert not browser.errors, browser.errors


def test_blind_mode_leaves_no_name_on_the_page(server, browser):
    page = browser.page
    load(browser, server.url)
    names = list(people_names(SAMPLE).values())
    assert any(n in page.content() for n in names)  # names are shown when not blind
    page.locator("button.calib-blind").click()
    wait_until(lambda: "blind mode" in page.inner_text(".calib-header"), 20, "blind mode")
    for name in TABS:
        open_tab(page, name)

        def leaked() -> list[str]:
            html = page.content()
            return [n for n in names if n in html]

        try:
            wait_until(lambda: not leaked(), 20, "a page without names")
        except TimeoutError:
            pytest.fail(f"{name}: names on the page in blind mode: {leaked()[:5]}")
        assert not re.search(r"\bE\d{4}\b", page.inner_text("body")), f"an employee id on {name}"
        shot(page, f"blind-{name.lower().replace(' ', '-')}")
    assert "hidden in blind mode" in page.inner_text("body")
    assert_healthy(page)
    assert not browser.errors, browser.errors


def test_a_script_in_a_name_is_shown_as_text(tmp_path):
    sample = tmp_path / "org"
    shutil.copytree(SAMPLE, sample)
    people = (sample / "people.csv").read_text(encoding="utf-8")
    name = people_names(sample)["E0013"]  # a manager: named in filters, charts, findings and tables
    (sample / "people.csv").write_text(people.replace(name, f'"{EVIL}"', 1), encoding="utf-8")
    assert people_names(sample)["E0013"] == EVIL
    with serving(sample / "cycle.yml", tmp_path) as evil, chromium() as browser:
        page = browser.page
        load(browser, evil.url)
        assert EVIL in page.inner_text(".calib-dashboard")  # the finding names the manager literally
        select(page, "manager", EVIL)
        open_tab(page, "Managers")
        wait_until(lambda: f"{EVIL}'s people in view" in page.inner_text(".calib-dashboard"), 30, "the literal name")
        assert page.locator("script", has_text="alert(1)").count() == 0
        assert not browser.dialogs and not browser.external and not browser.errors
        assert_healthy(page)
