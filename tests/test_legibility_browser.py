"""Every tab on a laptop and a projector, and the 9-box board, driven in Debian's chromium through Playwright.

`calib serve --session` on a copy of the sample whose one person is named `<script>...`: at 1366x768
and 1920x1080 no tab scrolls sideways and no element is wider than the window, and the charts use
the width they are given; on the 9-box a card dragged to another box is recorded with the reason
typed (and only then), Cancel leaves no event and the card where it was, the keyboard moves a card
without a mouse, and the hostile name is shown as text. Screenshots of every tab at both sizes go
to reports/screenshots/ (git-ignored). Never skipped.
"""

from __future__ import annotations

import re
import shutil
import time

import pytest
from conftest import ROOT
from test_dashboard_browser import EVIL, SCREENSHOTS, assert_healthy, people_names, visible_charts

from calib.bench.dashboard import chromium, load, serving, wait_until
from calib.inputs.config import load_config
from calib.sessions import open_session
from calib.sessions.errors import SessionError

pytestmark = pytest.mark.browser
SIZES = [(1366, 768), (1920, 1080)]
SESSION = "legible"
TABS = ("Calibrate", "9-box", "Overview", "Managers", "Disciplines", "Team context", "Person", "Audit")
CHARTED = {"Calibrate", "Overview", "Managers", "Disciplines", "Team context", "Audit"}
# What sticks out past the window's right edge, and what scrolls sideways inside the page.
OVERFLOW = """() => {
  const width = window.innerWidth, root = document.scrollingElement;
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(e).visibility !== 'hidden' && box.right > width + 1;
  }).slice(0, 5).map(e => `${e.tagName}.${e.className.baseVal ?? e.className} ${e.getBoundingClientRect().right}`);
  const sideways = [...document.querySelectorAll('body *')].filter(e =>
    e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
  ).slice(0, 5).map(e => `${e.tagName}.${e.className} ${e.scrollWidth} > ${e.clientWidth}`);
  return {page: [root.scrollWidth, root.clientWidth], wide, sideways};
}"""
CHART_WIDTH = """() => {
  const pane = document.querySelector('.calib-pane:not(.lm-mod-hidden)');
  const widths = [...pane.querySelectorAll('svg.marks')].map(svg => svg.getBoundingClientRect().width);
  return [pane.getBoundingClientRect().width, widths.length ? Math.max(...widths) : 0];
}"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample with a script for a name: a person who sits in a box of the 9-box."""
    folder = tmp_path_factory.mktemp("legible") / "org"
    shutil.copytree(ROOT / "data_samples", folder)
    people = (folder / "people.csv").read_text(encoding="utf-8")
    (folder / "people.csv").write_text(people.replace(people_names(folder)["E0047"], f'"{EVIL}"', 1), "utf-8")
    assert people_names(folder)["E0047"] == EVIL
    return folder


@pytest.fixture(scope="module")
def server(sample):
    store = sample.parent / "sessions.sqlite"
    args = ("--session", SESSION, "--facilitator", "Fran Facilitator", "--store", str(store))
    with serving(sample / "cycle.yml", sample.parent, command=("serve", *args)) as running:
        running.store = store
        yield running


def events(server, sample) -> list[dict]:
    """The session's log as the store holds it (none before its first event)."""
    try:
        with open_session(load_config(sample / "cycle.yml"), SESSION, store=str(server.store)) as session:
            return session.log().to_dict("records")
    except SessionError:
        return []


def open_tab(page, name: str) -> None:
    page.locator(".lm-TabBar-tab", has_text=re.compile(f"^{re.escape(name)}$")).click()
    pane = page.locator(".calib-pane:not(.lm-mod-hidden)")
    wait_until(lambda: "Loading…" not in pane.first.inner_text(), 60, f"the {name} tab")
    if name in CHARTED:
        wait_until(lambda: visible_charts(page) != "", 60, f"a chart on {name}")
    if name == "9-box":
        wait_until(lambda: page.locator(".calib-board-card").count() > 0, 60, "the board's cards")
    time.sleep(1)  # vega lays out to the container's width after the first draw


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_no_tab_scrolls_sideways_and_charts_use_the_width(server, width, height):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(width=width, height=height) as browser:
        page = browser.page
        load(browser, server.url, timeout=120)
        assert tuple(page.locator(".lm-TabBar-tab").all_inner_texts()) == TABS
        for name in TABS:
            open_tab(page, name)
            page.screenshot(path=SCREENSHOTS / f"legible-{name.lower().replace(' ', '-')}-{width}x{height}.png")
            found = page.evaluate(OVERFLOW)
            assert found["page"][0] <= found["page"][1], f"{name}: the page scrolls sideways {found}"
            assert not found["wide"], f"{name} at {width}x{height}: wider than the window: {found['wide']}"
            assert not found["sideways"], f"{name} at {width}x{height}: scrolls sideways inside: {found['sideways']}"
            if name in CHARTED:
                pane, chart = page.evaluate(CHART_WIDTH)
                assert chart >= 0.85 * pane, f"{name} at {width}x{height}: a {chart:.0f}px chart in a {pane:.0f}px pane"
            for label in page.locator(".lm-TabBar-tab .lm-TabBar-tabLabel").all():
                assert label.evaluate("e => e.scrollWidth <= e.clientWidth"), f"a cut tab title: {label.inner_text()}"
        assert_healthy(page)
        assert not browser.errors and not browser.external and not browser.dialogs


def test_the_managers_chart_pages_with_its_axis_in_view(server):
    with chromium(width=1366, height=768) as browser:
        page = browser.page
        load(browser, server.url, timeout=120)
        open_tab(page, "Managers")
        pages = page.locator(".calib-pane:not(.lm-mod-hidden) .vega-bindings input[type=radio]")
        assert pages.count() >= 3  # 49 managers, 13 at a time
        first = visible_charts(page)
        pages.nth(1).check()
        wait_until(lambda: visible_charts(page) != first, 20, "the second page of managers")
        chart = page.locator(".calib-pane:not(.lm-mod-hidden) svg.marks").first
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box["height"] <= 768 - 40, f"one page of the chart is {box['height']:.0f}px high: its axis is off screen"
        assert not browser.errors


def board_card(page, box: str):
    return page.locator(f'[data-box="{box}"] .calib-board-card')


def drag(page, card, box: str) -> None:
    """Drag `card` onto a box with the mouse: pressed, moved in steps, released (HTML5 drag and drop).

    Both are scrolled into view first: a card pressed while half out of view takes the focus and the
    page scrolls under the pointer, so the drag would start on another card.
    """
    target = page.locator(f'[data-box="{box}"]')
    target.scroll_into_view_if_needed()
    card.scroll_into_view_if_needed()
    start, end = card.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + min(end["height"] / 2, 60), steps=12)
    page.mouse.up()


def test_a_card_dragged_to_another_box_is_recorded_with_its_reason_and_cancel_records_nothing(server, sample):
    with chromium(width=1920, height=1080) as browser:
        page = browser.page
        load(browser, server.url, timeout=120)
        open_tab(page, "9-box")
        assert EVIL in page.locator(".calib-board").inner_text()  # the hostile name, as text
        before = len(events(server, sample))

        # Cancel: the dialog goes, the card stays, nothing is recorded.
        card = board_card(page, "mid|medium").first
        name = card.locator(".calib-board-name").inner_text()
        drag(page, card, "high|medium")
        dialog = page.locator(".calib-board-dialog")
        wait_until(lambda: dialog.count() == 1, 20, "the reason dialog after a drop")
        assert dialog.locator("h4").inner_text() == f"Move {name}"
        assert dialog.locator("select.calib-board-rating").input_value() == "Exceeds"  # the nearest in that box
        assert dialog.locator("button.calib-board-record").is_disabled()  # no reason yet
        page.screenshot(path=SCREENSHOTS / "legible-ninebox-dialog.png")
        dialog.locator("button.calib-board-cancel").click()
        assert dialog.count() == 0 and name in board_card(page, "mid|medium").all_inner_texts()[0]
        time.sleep(1)
        assert len(events(server, sample)) == before

        # A drop with a reason: recorded, acknowledged, and the card redrawn in its new box.
        drag(page, card, "high|medium")
        wait_until(lambda: dialog.count() == 1, 20, "the reason dialog")
        assert dialog.locator("h4").inner_text() == f"Move {name}"
        dialog.locator("textarea.calib-board-reason").fill(f"two launches and the on-call rewrite {EVIL}")
        dialog.locator("button.calib-board-record").click()
        status = page.locator(".calib-board-status")
        wait_until(lambda: "Moved: rating Meets → Exceeds" in status.inner_text(), 30, "the acknowledgement")
        assert status.inner_text().startswith(f"✔ {name}:") and dialog.count() == 0
        wait_until(lambda: any(name in t for t in board_card(page, "high|medium").all_inner_texts()), 30, "the card")
        moved = [e for e in events(server, sample)[before:] if e["kind"] == "rating"]
        assert [(e["from"], e["to"], e["author"]) for e in moved] == [
            ("Meets", "Exceeds", "Fran Facilitator")
        ]
        assert moved[0]["reason"] == f"two launches and the on-call rewrite {EVIL}"
        page.screenshot(path=SCREENSHOTS / "legible-ninebox-after-drag.png")

        crowded = page.locator('[data-box="mid|medium"]')
        total = int(crowded.locator(".calib-board-count").inner_text())
        assert total > board_card(page, "mid|medium").count()  # a closed box shows the first few...
        crowded.locator("button.calib-board-more").click()
        wait_until(lambda: board_card(page, "mid|medium").count() == total, 20, "everyone in the box")  # ...opened
        assert_healthy(page)
        assert not browser.errors and not browser.external and not browser.dialogs


def test_the_keyboard_moves_a_card_without_a_mouse(server, sample):
    with chromium(width=1366, height=768) as browser:
        page = browser.page
        load(browser, server.url, timeout=120)
        open_tab(page, "9-box")
        before = len(events(server, sample))
        card = board_card(page, "low|low").first
        name = card.locator(".calib-board-name").inner_text()
        card.focus()
        page.keyboard.press("Enter")
        dialog = page.locator(".calib-board-dialog")
        wait_until(lambda: dialog.count() == 1, 20, "the dialog from the keyboard")
        box = dialog.bounding_box()  # in the middle of the window, wherever the board is scrolled
        assert 0 <= box["y"] and box["y"] + box["height"] <= 768 and 0 <= box["x"] and box["x"] + box["width"] <= 1366
        page.screenshot(path=SCREENSHOTS / "legible-ninebox-keyboard-1366x768.png")
        dialog.locator("select.calib-board-potential").select_option("medium")
        dialog.locator("textarea.calib-board-reason").fill("mentored two new hires through on-call")
        page.keyboard.press("Escape")  # Escape cancels...
        assert dialog.count() == 0
        card.focus()
        page.keyboard.press("Enter")  # ...and Enter opens it again
        wait_until(lambda: dialog.count() == 1, 20, "the dialog again")
        dialog.locator("select.calib-board-potential").select_option("medium")
        dialog.locator("textarea.calib-board-reason").fill("mentored two new hires through on-call")
        dialog.locator("button.calib-board-record").focus()
        page.keyboard.press("Enter")
        wait_until(lambda: "Moved: potential low → medium" in page.inner_text(".calib-board-status"), 30, "the move")
        new = [e for e in events(server, sample)[before:] if e["kind"] != "open"]  # "open": the session's first
        assert [(e["kind"], e["to"]) for e in new] == [("potential", "medium")]
        wait_until(lambda: any(name in t for t in board_card(page, "low|medium").all_inner_texts()), 30, "the card")
        assert not browser.errors and not browser.dialogs
