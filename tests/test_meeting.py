"""The meeting's views and controls without a browser: queue order, 9-box groups, blind mode, acknowledgements."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import ipywidgets as widgets
import pandas as pd
import pytest
from conftest import ROOT

from calib.apps import serve
from calib.apps.dashboard import views as d
from calib.apps.dashboard.calibrate import apply_session, calibrate, queue
from calib.apps.dashboard.meeting import Meeting
from calib.apps.dashboard.ninebox import board_data, ninebox_table, performance_groups, potential_groups
from calib.apps.dashboard.widgets import Dashboard
from calib.sessions import open_session

SAMPLE = ROOT / "data_samples" / "cycle.yml"


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> Path:
    return serve.ensure_analysis(SAMPLE, tmp_path_factory.mktemp("cache"), log=lambda *_: None)


@pytest.fixture
def sources(analysis) -> d.Sources:
    return d.load_sources(SAMPLE, analysis)  # fresh: a meeting writes the session's ratings into it


@pytest.fixture
def session(sources, tmp_path):
    with open_session(sources.config, "room", store=str(tmp_path / "s.sqlite"), by="Fran") as opened:
        yield opened


def test_performance_groups_follow_the_scale_by_position():
    five = ["Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds"]
    assert performance_groups(five) == {
        "Does not meet": "low",
        "Partially meets": "low",
        "Meets": "mid",
        "Exceeds": "high",
        "Far exceeds": "high",
    }
    assert list(performance_groups(["a", "b", "c", "d"]).values()) == ["low", "mid", "mid", "high"]
    assert potential_groups(["low", "medium", "high"]) == {"low": "low", "medium": "medium", "high": "high"}


def test_the_queue_puts_flags_and_alerts_first_and_the_discussed_last(sources, session):
    filters = d.Filters(cycle=sources.config.cycle)
    order = queue(sources, filters, session.table())
    assert order["priority"].is_monotonic_increasing  # nothing discussed yet
    assert set(order.loc[order["priority"] == 1, "employee_id"]) >= {"E0013", "E0116"}  # planted raters' alerts
    calm = order.loc[order["priority"] == 9, "employee_id"].iloc[0]
    alert = order["employee_id"].iloc[0]
    session.flag(calm, by="Fran", reason="the room asked")
    session.mark_discussed(alert, by="Fran")
    order = queue(sources, filters, session.table())
    assert order["employee_id"].iloc[0] == calm and order["why"].iloc[0] == "flagged for discussion"
    assert order["employee_id"].iloc[-1] == alert and order["discussed"].iloc[-1]


def test_a_change_moves_the_after_calibration_ratings_of_this_cycle_only(sources, session):
    cycle = sources.config.cycle
    frame = sources.frame
    row = frame[(frame["cycle"] == cycle) & (frame["rating"] == "Meets")].iloc[0]
    who = row["employee_id"]
    before = frame[frame["cycle"] != cycle]["final_rating"].astype(str).tolist()
    session.set_rating(who, "Far exceeds", reason="two launches and the on-call rewrite", by="Fran")
    apply_session(sources, session.table())
    now = sources.frame
    assert (
        now.loc[(now["cycle"] == cycle) & (now["employee_id"] == who), "final_rating"].astype(str).item()
        == "Far exceeds"
    )
    assert now[now["cycle"] != cycle]["final_rating"].astype(str).tolist() == before


def test_blind_mode_redacts_reasons_authors_and_people_in_the_calibrate_tab(sources, session):
    people = sources.people.set_index("employee_id")
    who, other = "E0047", "E0048"
    author = people.loc["E0002", "name"]  # an employee facilitating: a name like any other
    reason = f"compared with {people.loc[other, 'name']} ({other}); see {people.loc[other, 'handle']}"
    session.set_rating(
        who,
        "Exceeds" if session.table().set_index("employee_id").at[who, "rating"] != "Exceeds" else "Meets",
        reason=reason,
        by=author,
    )
    blind = d.Filters(cycle=sources.config.cycle, blind=True)
    view = calibrate(sources, blind, session.table(), session.log(), who)
    text = view.intro + view.html + view.chart.to_json()
    for leak in (people.loc[who, "name"], who, people.loc[other, "name"], other, author):
        assert leak not in text, leak
    assert sources.pseudonyms[other] in view.html and "compared with" in view.html
    open_view = calibrate(sources, replace(blind, blind=False), session.table(), session.log(), who)
    assert people.loc[other, "name"] in open_view.html and author in open_view.html


def test_the_ninebox_board_holds_everyone_in_view_in_their_box(sources, session):
    filters = d.Filters(cycle=sources.config.cycle)
    table = session.table()
    boxes = ninebox_table(sources, filters, table)
    data, keys = board_data(sources, filters, table)
    placed = [c for c in data["cards"] if c["row"] is not None]
    assert len(placed) == boxes["potential"].notna().sum() > 0 and len(data["cards"]) == len(boxes)
    counts = pd.Series([(c["column"], c["row"]) for c in placed]).value_counts()
    assert counts.max() > data["shown"]  # a box holds more than a closed box shows: every card is sent
    assert [c["values"] for c in data["columns"]] == [["Does not meet", "Partially meets"], ["Meets"],
                                                      ["Exceeds", "Far exceeds"]]
    assert set(keys.values()) == set(boxes["employee_id"]) and not set(keys) & set(boxes["employee_id"])
    blind, _ = board_data(sources, replace(filters, blind=True), table)
    text = str(blind)
    assert not any(name in text for name in sources.names.values()) and not re.search(r"\bE\d{4}\b", text)


def test_a_move_on_the_board_is_recorded_only_with_a_reason(sources, session):
    meeting = Meeting(session, "Fran", widgets)
    app = Dashboard(sources, meeting=meeting)
    app._poll.stop()
    app.tabs.selected_index = app.names.index("9-box")
    board = meeting.board
    card = next(c for c in board.data["cards"] if c["rating"] == "Meets" and c["row"] == "medium")
    message = {"type": "move", "key": card["key"], "rating": "Exceeds", "potential": "medium", "nonce": "1"}
    board._on_message(board, {**message, "reason": "  "}, [])
    assert not board.answer["ok"] and "reason" in board.answer["text"] and board.answer["nonce"] == "1"
    assert session.log()["kind"].isin(["rating", "potential"]).sum() == 0
    board._on_message(board, {**message, "reason": "two launches and the on-call rewrite", "nonce": "2"}, [])
    assert board.answer["ok"] and board.answer["text"].startswith(f"{card['label']}: Moved: rating Meets → Exceeds")
    log = session.log()
    moved = log[log["kind"] == "rating"]
    assert moved["employee_id"].tolist() == [board.ids[card["key"]]]
    assert moved["reason"].tolist() == ["two launches and the on-call rewrite"]
    after = next(c for c in board.data["cards"] if c["key"] == card["key"])
    assert (after["rating"], after["column"]) == ("Exceeds", "high")  # redrawn from the session
    board._on_message(board, {**message, "key": "Person 000000", "reason": "x", "nonce": "3"}, [])
    assert not board.answer["ok"] and "no longer in view" in board.answer["text"]


def test_the_dashboard_acknowledges_only_what_was_committed(sources, session):
    meeting = Meeting(session, "Fran", widgets)
    app = Dashboard(sources, meeting=meeting)
    app._poll.stop()
    assert app.names[:2] == ("Calibrate", "9-box") and app.active == "Calibrate"
    who = meeting.queue.value
    meeting.rating.value = next(r for r in sources.config.rating_labels if r != meeting.rating.value)
    meeting.reason.value = ""
    meeting.record.click()
    assert "Not recorded: the reason is empty" in meeting.status.value and session.log()["kind"].eq("rating").sum() == 0
    meeting.reason.value = '<script>alert(1)</script> =HYPERLINK("x") two design docs'
    meeting.record.click()
    assert "Recorded: rating" in meeting.status.value
    log = session.log()
    assert log.loc[log["kind"] == "rating", "employee_id"].tolist() == [who]
    assert "&lt;script&gt;" in app.panes["Calibrate"].html.value and "<script>" not in app.panes["Calibrate"].html.value
    other = open_session(sources.config, "room", store=session.store)
    current = str(session.table().set_index("employee_id").at[who, "rating"])
    theirs = next(r for r in sources.config.rating_labels if r != current)
    other.set_rating(who, theirs, reason="someone else, meanwhile", by="Ana")
    meeting.rating.value = next(r for r in sources.config.rating_labels if r not in (current, theirs))
    meeting.reason.value = "based on what this page saw"
    meeting.record.click()
    assert "Not recorded" in meeting.status.value and "Ana" in meeting.status.value  # stale: who changed it
    meeting.confirm.click()  # a confirmation the page sent without the question: refused by the kernel
    assert "Not recorded" in meeting.status.value and "Lock session" in meeting.status.value
    assert not meeting.locked and "lock" not in set(session.log()["kind"])
    meeting.lock.click()
    meeting.cancel.click()
    meeting.confirm.click()  # cancelled: asked again
    assert not meeting.locked and "lock" not in set(session.log()["kind"])
    meeting.lock.click()
    meeting.confirm.click()
    assert meeting.locked and meeting.record.disabled and "(locked)" in app.header.value
    assert session.log()["kind"].eq("lock").sum() == 1


def test_a_change_seen_by_the_poll_is_drawn_then_sent_again_for_a_page_that_was_connecting(
    sources, session, monkeypatch
):
    meeting = Meeting(session, "Fran", widgets)
    app = Dashboard(sources, meeting=meeting)
    app._poll.stop()  # ticks are called by hand here
    sent: list[object] = []
    send = widgets.Widget.send_state

    def whole(self, key=None):  # a widget's whole state sent (an update names its keys)
        if key is None:
            sent.append(self)
        send(self, key)

    monkeypatch.setattr(widgets.Widget, "send_state", whole)
    meeting.rating.value = next(r for r in sources.config.rating_labels if r != meeting.rating.value)
    meeting.reason.value = "two design docs"
    meeting.record.click()  # this page's own change: drawn at once, not by the poll
    app._on_poll()
    assert not sent and "(open)" in app.header.value  # nothing moved: nothing sent
    other = open_session(sources.config, "room", store=session.store)
    other.lock(by="Ana")  # another browser locks the session
    app._on_poll()
    assert "(locked)" in app.header.value and meeting.record.disabled
    for tick in range(3):
        sent.clear()
        app._on_poll()
        assert (app.header in sent and meeting.record in sent) == (tick < 2), tick  # twice, then quiet
