"""The meeting, driven as a facilitator would: `calib serve --session`, Debian's chromium, Playwright.

Open the session, change a rating with a reason and see the distribution and the log move, be
refused without a reason, see another browser's change arrive, lock (with a confirmation), reload
and find everything, export. A hostile reason stays inert. Never skipped.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from openpyxl import load_workbook
from test_dashboard_browser import SCREENSHOTS, assert_healthy, shot

from calib.bench.dashboard import Browser, chromium, load, serving, wait_until

pytestmark = pytest.mark.browser
SAMPLE = ROOT / "data_samples" / "cycle.yml"
HOSTILE = '<script>alert(1)</script> =HYPERLINK("http://x") two design docs and a launch'


def second_page(browser: Browser) -> Browser:
    """Another tab of the same browser: Voila gives it its own kernel, as a second laptop would have."""
    page = browser.page.context.new_page()
    other = Browser(page, [], browser.external, [])
    page.on("dialog", lambda d: (other.dialogs.append(d.message), d.dismiss()))
    return other


def status(page) -> str:
    return page.locator(".calib-status").first.inner_text()


def chart(page) -> str:
    return page.locator(".calib-pane:not(.lm-mod-hidden) svg.marks").first.inner_html()


def record(page, rating: str, reason: str) -> None:
    page.locator(".calib-rating select").select_option(label=rating)
    page.locator(".calib-reason textarea").fill(reason)
    page.locator("button.calib-record").click()


def test_the_whole_meeting(tmp_path):
    store = tmp_path / "sessions.sqlite"
    args = ("--session", "q3-eng", "--facilitator", "Fran Facilitator", "--store", str(store))
    with serving(SAMPLE, tmp_path, command=("serve", *args)) as server, chromium() as browser:
        other = second_page(browser)
        page = browser.page
        load(browser, server.url)
        load(other, server.url)
        wait_until(lambda: "session q3-eng (open)" in page.inner_text(".calib-header"), 30, "the session header")
        wait_until(lambda: chart(page) != "", 30, "the distribution")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot(page, "meeting-calibrate")
        current = page.locator(".calib-rating select").input_value()
        target = "Far exceeds" if current != "Far exceeds" else "Meets"

        record(page, target, "")
        wait_until(lambda: "Not recorded: the reason is empty" in status(page), 20, "a refusal")

        before = chart(page)
        record(page, target, HOSTILE)
        wait_until(lambda: "Recorded: rating" in status(page), 20, "the acknowledgement")
        wait_until(lambda: chart(page) != before, 20, "the distribution to move")
        log = page.locator(".calib-pane:not(.lm-mod-hidden)").inner_text()
        assert HOSTILE in log and "Fran Facilitator" in log  # the reason is shown as text
        shot(page, "meeting-after-change")

        # another browser on the same session sees it within a few seconds, without acting
        wait_until(lambda: "two design docs" in other.page.inner_text(".calib-dashboard"), 20, "the other browser")

        page.locator("button.calib-lock").click()
        page.locator("button.calib-lock-confirm").click()
        wait_until(lambda: "(locked)" in page.inner_text(".calib-header"), 20, "the lock")
        assert page.locator("button.calib-record").is_disabled()

        load(browser, server.url)  # reload: everything is still there, read-only
        try:
            wait_until(lambda: "(locked)" in page.inner_text(".calib-header"), 30, "the locked session after reload")
        except TimeoutError:
            shot(page, "meeting-reload-failed")
            raise AssertionError(page.inner_text("body")[:3000]) from None
        assert "two design docs" in page.inner_text(".calib-dashboard")
        assert page.locator("button.calib-record").is_disabled()
        page.locator(".lm-TabBar-tab", has_text=re.compile("^9-box$")).click()
        wait_until(lambda: "performance: high" in page.inner_text(".calib-dashboard"), 30, "the 9-box")
        time.sleep(0.5)
        shot(page, "meeting-ninebox")
        assert_healthy(page)
        assert not browser.dialogs and not other.dialogs, "a reason ran as script"
        assert not browser.external
        assert not browser.errors, browser.errors

    out = tmp_path / "calibrated.xlsx"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "calib.cli",
            "session",
            "export",
            str(SAMPLE),
            "--session",
            "q3-eng",
            "--store",
            str(store),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    book = load_workbook(out)
    header = [c.value for c in book.worksheets[0][1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in book.worksheets[0].iter_rows(min_row=2)]
    from calib.inputs.config import load_config
    from calib.sessions import open_session

    with open_session(load_config(SAMPLE), "q3-eng", store=str(store)) as session:
        log = session.log()
    changed = log[log["kind"] == "rating"]
    assert (
        len(changed) == 1 and changed["reason"].iloc[0] == HOSTILE and changed["author"].iloc[0] == "Fran Facilitator"
    )
    first = changed["employee_id"].iloc[0]
    mine = [r for r in rows if r["employee_id"] == first and r["cycle"] == "2026-H1"]
    assert mine and mine[0]["calibrated_rating"] == target
    reasons = [c.value for c in book["log"]["L"]] if "log" in book.sheetnames else []
    assert all(not (isinstance(v, str) and v.startswith("=")) for v in reasons)
    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "calib.cli",
            "session",
            "verify",
            str(SAMPLE),
            "--session",
            "q3-eng",
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
