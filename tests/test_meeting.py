"""The meeting's views and controls without a browser: the queue, the card, toggles, undo, resuming, blind mode,
9-box groups, and acknowledgements that follow the commit and the card."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

import ipywidgets as widgets
import pandas as pd
import pytest
from conftest import ROOT

from calib.apps import serve
from calib.apps.dashboard import views as d
from calib.apps.dashboard.calibrate import apply_session, calibrate
from calib.apps.dashboard.card import person_card
from calib.apps.dashboard.meeting import Meeting
from calib.apps.dashboard.ninebox import board_data, ninebox_table, performance_groups, potential_groups
from calib.apps.dashboard.picker import entries
from calib.apps.dashboard.queue import first_undiscussed, next_undiscussed, queue
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


def test_the_queue_lists_a_managers_people_under_the_managers_alert_each_saying_why(sources, session):
    filters = d.Filters(cycle=sources.config.cycle)
    order = queue(sources, filters, session.table())
    assert order["priority"].is_monotonic_increasing and order["employee_id"].is_unique  # nothing discussed yet
    frame = sources.frame[sources.frame["cycle"] == sources.config.cycle]
    lenient = set(frame.loc[frame["reviewer_id"] == "E0013", "employee_id"])  # the planted lenient manager's people
    heading = "Rated by Ifeoma Walker: rates higher than comparable managers (alert)"
    under = order[order["group"] == heading]
    assert set(under["employee_id"]) == lenient - set(order.loc[order["priority"] < 3, "employee_id"])
    assert len(under) >= 8 and (under["why"] == "their manager rates higher than comparable managers (alert)").all()
    assert not (order["group"].str.contains("E0013") | order["why"].str.contains("E0013")).any()
    named = order[order["group"] == "Named by the analyses"].set_index("employee_id")["why"]
    assert named["E0082"] == "evidence mostly from the cycle's last weeks (alert)"  # a person's own alert
    assert (order.loc[order["priority"] < 9, "why"] != "").all()  # every entry but "everyone else" says why
    calm = order.loc[order["priority"] == 9, "employee_id"].iloc[0]
    first = order["employee_id"].iloc[0]
    session.flag(calm, by="Fran", reason="the room asked")
    session.mark_discussed(first, by="Fran")
    order = queue(sources, filters, session.table())
    assert order["employee_id"].iloc[0] == calm and order["group"].iloc[0] == "Flagged for discussion"
    assert order["employee_id"].iloc[-1] == first and order["group"].iloc[-1] == "Discussed ✓"
    assert order["why"].iloc[-1] == "evidence mostly from the cycle's last weeks (alert)"  # keeps its reason
    assert next_undiscussed(order, [first, "E0140", calm], first) == "E0140"
    assert first_undiscussed(order) == calm


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
    session.note(who, f"ask {people.loc[other, 'name']} about it", by=author)
    blind = d.Filters(cycle=sources.config.cycle, blind=True)
    view = calibrate(sources, blind, session.log())
    head, body = person_card(sources, blind, session.table(), session.events(), who, why="thin evidence")
    order = queue(sources, blind, session.table())
    listed = entries(order, sources.pseudonyms)
    text = head + body + view.html + view.chart.to_json() + json.dumps(listed)
    manager = str(sources.frame.set_index("employee_id").loc[who, "reviewer_id"].iloc[-1])
    for leak in (people.loc[who, "name"], who, people.loc[other, "name"], other, author, people.loc[manager, "name"]):
        assert leak not in text, leak
    assert sources.pseudonyms[other] in body and "compared with" in body and "compared with" in view.html
    assert all(e["key"] == sources.pseudonyms[i] for e, i in zip(listed, order["employee_id"], strict=True))
    shown = calibrate(sources, replace(blind, blind=False), session.log())
    assert people.loc[other, "name"] in shown.html and author in shown.html


def test_the_card_shows_who_the_ratings_the_evidence_and_the_persons_history(sources, session):
    filters = d.Filters(cycle=sources.config.cycle)
    who = "E0070"  # submitted Meets, calibrated Exceeds in the reviews: the session starts from Exceeds
    session.set_rating(who, "Far exceeds", reason="Rolled out payment retries", by="Fran")
    session.undo(who, reason="wrong person", by="Fran")
    session.flag(who, by="Ana")
    table = session.table()
    head, body = person_card(sources, filters, table, session.events(), who, why="rated Far exceeds")
    me = sources.frame[(sources.frame["employee_id"] == who) & (sources.frame["cycle"] == sources.config.cycle)].iloc[0]
    manager = sources.names[str(me["reviewer_id"])]
    assert f"{me['level']} · {me['discipline']} · team {me['team']}" in head and f"rated by {manager}" in head
    assert re.search(r"<th>submitted</th><th>before this session</th><th>now</th>", head)
    assert "<td>Meets</td><td>Exceeds</td><td><b>Exceeds</b> (version 2)</td>" in head
    assert "In the queue: rated Far exceeds" in head and "flagged for discussion" in head
    evidence = sources.tables["evidence"]
    latest = evidence[evidence["employee_id"] == who].sort_values("date").iloc[-1]
    assert str(pd.Timestamp(latest["date"]).date()) in body and html.escape(latest["title"]) in body
    if isinstance(latest["url"], str):
        assert f'href="{html.escape(latest["url"])}"' in body
    for heading in ("Expectations", "Peer feedback", "Their peers&#x27; ratings now", "Earlier cycles"):
        assert heading in body, heading
    assert f"peers ({me['level']} {me['discipline']})" in body and "organisation (n=299)" in body
    history = body[body.index("This person in the session") :]
    assert history.index("undo (rating)") < history.index("(undone)")  # newest first; the change struck through
    assert "wrong person" in history and "flagged" in history


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


def dashboard(sources, session):
    meeting = Meeting(session, "Fran", widgets)
    app = Dashboard(sources, meeting=meeting)
    app._poll.stop()  # ticks are called by hand
    return meeting, app


def test_the_dashboard_acknowledges_only_what_was_committed_and_after_the_card(sources, session):
    meeting, app = dashboard(sources, session)
    assert app.names[:2] == ("Calibrate", "9-box") and app.active == "Calibrate"
    who = meeting.person
    assert meeting.queue.value == sources.pseudonyms[who]  # keys, never ids
    meeting.rating.value = next(r for r in sources.config.rating_labels if r != meeting.rating.value)
    meeting.reason.value = ""
    meeting.record.click()
    assert "Not recorded: the reason is empty" in meeting.status.value and session.log()["kind"].eq("rating").sum() == 0
    seen: list[tuple[str, str]] = []
    meeting.card.observe(lambda c: seen.append(("card", c["new"])), names="value")
    meeting.status.observe(lambda c: seen.append(("status", c["new"])), names="value")
    meeting.reason.value = '<script>alert(1)</script> =HYPERLINK("x") two design docs'
    meeting.record.click()
    assert "recorded rating" in meeting.status.value and "(version 1)" in meeting.status.value
    card = next(i for i, (what, value) in enumerate(seen) if what == "card" and "(version 1" in value)
    ack = next(i for i, (what, value) in enumerate(seen) if what == "status" and "recorded rating" in value)
    assert card < ack  # the card read version 1 before the acknowledgement was shown
    log = session.log()
    assert log.loc[log["kind"] == "rating", "employee_id"].tolist() == [who]
    body = meeting.card_body.value + app.panes["Calibrate"].html.value
    assert "&lt;script&gt;" in body and "<script>" not in body
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
    assert meeting.locked and meeting.record.disabled and meeting.undo.disabled and "(locked)" in app.header.value
    assert session.log()["kind"].eq("lock").sum() == 1


def test_flag_and_discussed_toggle_and_discussed_moves_to_the_next_person(sources, session):
    meeting, app = dashboard(sources, session)
    first = meeting.person
    assert meeting.flag.description == "Flag for discussion"
    meeting.flag.click()
    assert meeting.flag.description == "Remove flag" and "flagged for discussion" in meeting.status.value
    meeting.flag.click()  # a second press, later: takes the flag off, as its own event
    assert meeting.flag.description == "Flag for discussion" and "flag removed" in meeting.status.value
    flags = session.log()
    assert flags.loc[flags["kind"] == "flag", ["from", "to"]].values.tolist() == [["off", "on"], ["on", "off"]]
    shown = list(meeting.order["employee_id"])
    label = meeting.order.set_index("employee_id").at[first, "label"]
    meeting.discussed.click()
    assert meeting.person == shown[1]  # the next one not yet discussed
    assert meeting.status.value.startswith(f'<span class="calib-recorded">✔ {label}: marked discussed')
    assert meeting.discussed.description == "Mark discussed"
    assert meeting.order["employee_id"].iloc[-1] == first  # discussed people move to the end
    meeting.queue.value = sources.pseudonyms[shown[2]]  # the facilitator picks someone else
    assert meeting.person == shown[2] and meeting.status.value == ""  # the line belonged to the first person
    meeting.queue.value = sources.pseudonyms[first]
    assert "marked discussed" in meeting.status.value and meeting.discussed.description == "Mark not discussed"
    meeting.discussed.click()
    assert meeting.person == first and not session.table().set_index("employee_id").at[first, "discussed"]


def test_undo_sets_back_the_last_change_with_a_reason(sources, session):
    meeting, app = dashboard(sources, session)
    who = meeting.person
    assert meeting.undo.disabled  # nothing of theirs to undo yet
    before = meeting.rating.value
    after = next(r for r in sources.config.rating_labels if r != before)
    meeting.rating.value = after
    meeting.reason.value = "Rolled out payment retries"
    meeting.record.click()
    assert not meeting.undo.disabled and before in meeting.undo.tooltip
    meeting.undo.click()
    assert meeting.undo_box.layout.display == "flex" and "Set back rating" in meeting.undo_what.value
    meeting.undo_confirm.click()
    assert "Not recorded: the reason is empty" in meeting.status.value
    meeting.undo_reason.value = "recorded for the wrong person"
    meeting.undo_confirm.click()
    assert f"undone: rating {after} → {before}" in meeting.status.value and meeting.rating.value == before
    assert [e.kind for e in session.events(who)] == ["rating", "undo_rating"]
    assert "(undone)" in meeting.card_body.value and meeting.undo.disabled


def test_a_page_resumes_at_the_first_person_not_yet_discussed(sources, session):
    waiting, app = dashboard(sources, session)  # a preheated kernel: built before anyone was discussed
    first = waiting.person
    for employee_id in waiting.order["employee_id"].head(3):
        session.mark_discussed(employee_id, by="Ana")  # another browser discusses the first three
    fresh, _ = dashboard(load_fresh(sources), session)  # a reload
    assert fresh.person == waiting.order["employee_id"].iloc[3]
    app._on_poll()  # the preheated page sees the change: untouched, it follows the queue
    assert waiting.person == fresh.person != first


def load_fresh(sources) -> d.Sources:
    return d.make_sources(sources.config, sources.results, {"frame": sources.frame.copy(), "people": sources.people,
                                                            **sources.tables})


def test_a_change_seen_by_the_poll_is_drawn_then_sent_again_for_a_page_that_was_connecting(
    sources, session, monkeypatch
):
    meeting, app = dashboard(sources, session)
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
