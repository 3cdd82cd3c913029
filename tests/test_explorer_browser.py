"""The manager's explorer as a manager meets it: the real `calib explore`, Voila, and Debian's chromium.

Never skipped: without /usr/bin/chromium these tests fail. Every request that leaves 127.0.0.1 is
refused and fails the test. Screenshots of each view, at 1920x1080 and on a laptop's 1366x768, go
to reports/screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from pathlib import Path

import pytest

from calib.bench.dashboard import chromium, load, serving, wait_until

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data_samples"
SCREENSHOTS = ROOT / "reports" / "screenshots"
MANAGER = "E0049"
EXPLORE = ("explore", "--manager", MANAGER)
BANNER = "Team explorer for"
EVIL = "<script>alert(1)</script>"


def people(folder: Path) -> list[dict[str, str]]:
    with open(folder / "people.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def outsiders(folder: Path) -> tuple[set[str], set[str]]:
    """Ids and names of everyone who is neither the manager nor reports to them."""
    rows = [r for r in people(folder) if r["employee_id"] != MANAGER and r["manager_id"] != MANAGER]
    return {r["employee_id"] for r in rows}, {r["name"] for r in rows}


def leaked(page, others: tuple[set[str], set[str]]) -> list[str]:
    html = page.content().replace("\xa0", " ").replace("&nbsp;", " ")  # option labels keep spaces as nbsp
    ids, names = others
    return sorted({i for i in re.findall(r"\bE\d{4}\b", html) if i in ids} | {n for n in names if n in html})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("explore")


@pytest.fixture(scope="module")
def server(workdir):
    with serving(SAMPLE / "cycle.yml", workdir, command=EXPLORE, banner=BANNER) as running:
        yield running


@pytest.fixture
def browser():
    with chromium() as opened:
        yield opened
        assert not opened.external, f"requests left 127.0.0.1: {opened.external}"
        assert not opened.dialogs, f"dialogs opened: {opened.dialogs}"


def assert_healthy(page) -> None:
    """No error panel, no Voila execution error, no traceback."""
    assert page.locator(".calib-error:visible").count() == 0, page.locator(".calib-error").first.inner_text()
    text = page.inner_text("body")
    for bad in ("JavaScript Error", "There was an error when executing cell", "Traceback"):
        assert bad not in text


def intro(page) -> str:
    return page.locator(".calib-explorer h2").first.inner_text()


def choose(page, label: str) -> None:
    before = intro(page)
    page.locator(".calib-person-pick select").select_option(label=label.replace(" ", "\xa0"))  # as ipywidgets shows it
    wait_until(lambda: intro(page) != before, 30, f"the pairing view of {label}")


def open_tab(page, name: str) -> None:
    page.locator(".lm-TabBar-tab", has_text=re.compile(f"^{name}$")).click()
    if name == "Team":
        wait_until(lambda: "Ratings by cycle" in page.inner_text(".calib-explorer"), 30, "the team view")


def shot(page, name: str, *, width: int = 1920, height: int = 1080) -> None:
    """The screen as the manager sees it, and the whole view (a tall window: Voila scrolls inside its page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    time.sleep(0.5)  # let vega lay the chart out again
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    page.set_viewport_size({"width": width, "height": 3400})
    time.sleep(0.5)
    page.screenshot(path=SCREENSHOTS / f"{name}-full.png")
    page.set_viewport_size({"width": 1920, "height": 1080})


def test_loads_offline_and_names_only_the_managers_people(server, browser):
    page = browser.page
    seconds = load(browser, server.url, timeout=180)
    assert_healthy(page)
    assert "Omar Fernandes's people (9)" in page.inner_text(".calib-header")
    others = outsiders(SAMPLE)
    assert not leaked(page, others)
    labels = [t.replace("\xa0", " ") for t in page.locator(".calib-person-pick option").all_inner_texts()]
    mine = {r["name"] for r in people(SAMPLE) if r["manager_id"] == MANAGER}
    assert len(labels) == 9 and {label.split(" (")[0] for label in labels} == mine
    for label in labels[1:]:
        choose(page, label)
        assert not leaked(page, others), label
    open_tab(page, "Team")
    assert not leaked(page, others)
    assert_healthy(page)
    assert not browser.errors, browser.errors
    print(f"\nfirst render {seconds:.2f} s")


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts and not p.name.endswith(".log")}


def test_the_pairing_view_follows_the_date_and_downloads_the_document(server, browser, workdir):
    page = browser.page
    load(browser, server.url, timeout=180)
    choose(page, "Noah Costa (E0225)")
    assert "light" in page.inner_text(".calib-explorer")  # Noah Costa has no Collaboration example yet
    page.locator(".calib-since input").fill("2026-03-01")
    page.locator(".calib-since input").dispatch_event("change")
    wait_until(lambda: "since 2026-03-01" in page.inner_text(".calib-explorer"), 30, "the new date")
    assert page.locator(".calib-explorer input[type=text], .calib-explorer textarea").count() == 0  # no path to type
    before = files_under(workdir)
    for kind, name in (("Markdown", "E0225-alignment-2026-H1.md"), ("HTML", "E0225-alignment-2026-H1.html")):
        with page.expect_download(timeout=60_000) as caught:
            page.locator("button.calib-download", has_text=kind).click()
        download = caught.value
        assert download.suggested_filename == name
        text = Path(download.path()).read_text(encoding="utf-8")
        assert "Noah Costa" in text and "E0225" in text
        wait_until(lambda name=name: name in page.inner_text(".calib-status"), 30, "the status line")
    assert files_under(workdir) == before  # the server wrote nothing
    assert "Traceback" not in page.inner_text("body")
    assert not browser.errors, browser.errors


def test_each_view_is_screenshotted_on_a_projector_and_a_laptop(server, browser):
    page = browser.page
    load(browser, server.url, timeout=180)
    choose(page, "Malik Qureshi (E0172)")  # light on two criteria: the marks show
    time.sleep(0.5)
    assert_healthy(page)
    shot(page, "explorer-pairing")
    shot(page, "explorer-pairing-laptop", width=1366, height=768)
    open_tab(page, "Team")
    shot(page, "explorer-team")
    shot(page, "explorer-team-laptop", width=1366, height=768)
    assert not browser.errors, browser.errors


def test_a_script_in_a_name_is_shown_as_text(tmp_path):
    sample = tmp_path / "org"
    shutil.copytree(SAMPLE, sample)
    text = (sample / "people.csv").read_text(encoding="utf-8")
    name = next(r["name"] for r in people(sample) if r["employee_id"] == "E0025")  # one of the manager's people
    (sample / "people.csv").write_text(text.replace(name, f'"{EVIL}"', 1), encoding="utf-8")
    assert next(r["name"] for r in people(sample) if r["employee_id"] == "E0025") == EVIL
    with serving(sample / "cycle.yml", tmp_path, command=EXPLORE, banner=BANNER) as evil, chromium() as browser:
        page = browser.page
        load(browser, evil.url, timeout=180)
        assert EVIL in intro(page)  # E0025 is first by name: the page opens on them
        open_tab(page, "Team")
        assert EVIL in page.inner_text(".calib-explorer")
        assert page.locator("script", has_text="alert(1)").count() == 0
        assert not browser.dialogs and not browser.external and not browser.errors
        assert_healthy(page)


def test_the_explorer_on_a_session_shows_its_ratings_and_says_which(tmp_path):
    from calib.inputs.config import load_config
    from calib.sessions import open_session

    store = tmp_path / "sessions.sqlite"
    with open_session(load_config(SAMPLE / "cycle.yml"), "q3-eng", store=store, by="Fran") as session:
        session.set_rating("E0225", "Far exceeds", reason="the launch", by="Fran")
        session.lock(by="Fran")
    command = (*EXPLORE, "--session", "q3-eng", "--store", str(store))
    with serving(SAMPLE / "cycle.yml", tmp_path, command=command, banner=BANNER) as server, chromium() as browser:
        page = browser.page
        load(browser, server.url, timeout=180)
        header = page.inner_text(".calib-header")
        assert "after calibration = session q3-eng (locked: final; 3 events, read " in header, header
        open_tab(page, "Team")
        table = page.inner_text(".calib-explorer")
        assert "Ratings by cycle (after calibration; 2026-H1: session q3-eng)" in table
        ratings = table[table.index("Ratings by cycle") :]
        row = next(line for line in ratings.splitlines() if line.startswith("Noah Costa"))
        assert "Far exceeds (submitted Does not meet)" in row, row
        assert str(store) not in page.content() and not leaked(page, outsiders(SAMPLE))
        shot(page, "explorer-team-session")
        assert_healthy(page)
        assert not browser.errors and not browser.external, browser.errors
