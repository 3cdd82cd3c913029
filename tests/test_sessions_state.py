"""Sessions without a store: hand-written event sequences -> derived state, change plans, the hash chain."""

from __future__ import annotations

import dataclasses

import pytest

from calib.sessions.changes import Snapshot, Submitted, check_text, plan_change, plan_lock, plan_mark, plan_undo
from calib.sessions.errors import NothingToChangeError, SessionError, SessionLockedError, StaleVersionError
from calib.sessions.events import GENESIS, Draft, Event, log_frame, seal, when
from calib.sessions.state import active_changes, derive_state, last_change, person_state, state_frame
from calib.sessions.verify import verify_chain


def chain(*drafts: Draft, at: str = "2026-11-29T10:14:00.000000Z") -> list[Event]:
    """Seal drafts into a session log, in order, as the store would."""
    events, prev = [], GENESIS
    for seq, draft in enumerate(drafts, 1):
        events.append(seal(draft, cycle="2026-H1", session="q3", seq=seq, at=at, prev_hash=prev))
        prev = events[-1].hash
    return events


def rating(who: str, old: str, new: str, version: int, by: str = "Ana", reason: str = "evidence") -> Draft:
    return Draft("rating", by, who, old, new, version - 1, version, reason)


def potential(who: str, old: str | None, new: str, version: int, by: str = "Ana") -> Draft:
    return Draft("potential", by, who, old, new, version - 1, version, "outlook")


OPEN = Draft("open", "Fa", to_value="org:Platform")
LOG = chain(
    OPEN,
    rating("E3", "Exceeds", "Meets", 1),
    Draft("flag", "Bo", "E4", reason="ask about the migration"),
    potential("E3", "medium", "high", 2, by="Bo"),
    rating("E3", "Meets", "Far exceeds", 3, by="Cy"),
    Draft("note", "Bo", "E4", reason="led the incident review"),
    Draft("discussed", "Fa", "E4"),
    rating("E5", "Partially meets", "Meets", 1, by="Di"),
    Draft("lock", "Fa"),
)


def test_state_is_derived_from_the_log():
    state = derive_state(LOG)
    assert (state.status, state.scope, state.opened_by, state.locked_by, state.events) == (
        "locked", "org:Platform", "Fa", "Fa", 9
    )
    e3 = state.people["E3"]
    assert (e3.submitted_rating, e3.rating, e3.submitted_potential, e3.potential) == (
        "Exceeds", "Far exceeds", "medium", "high"
    )
    assert (e3.version, e3.last_changed_by, e3.last_change_seq, e3.flagged, e3.notes) == (3, "Cy", 5, False, ())
    e4 = state.people["E4"]
    assert (e4.version, e4.flagged, e4.discussed, e4.notes, e4.rating_changed) == (
        0, True, True, ("led the incident review",), False
    )
    assert e4.rating is None and e4.submitted_rating is None  # unchanged: the reviews input says
    assert (state.people["E5"].rating, state.people["E5"].version) == ("Meets", 1)


def test_state_frame_has_one_row_per_person_with_events():
    frame = state_frame(derive_state(LOG))
    assert list(frame["employee_id"]) == ["E3", "E4", "E5"]
    assert list(frame["version"]) == [3, 0, 1] and list(frame["flagged"]) == [False, True, False]


def test_an_empty_log_is_an_open_session_with_nobody_changed():
    state = derive_state([])
    assert state.status == "open" and not state.people and person_state("E1", []).version == 0


def test_log_frame_lists_every_event_in_order():
    frame = log_frame(LOG)
    assert list(frame["seq"]) == list(range(1, 10))
    assert frame.loc[1, ["kind", "from", "to", "version"]].tolist() == ["rating", "Exceeds", "Meets", 1]


# -- plans --------------------------------------------------------------------------------------
def snapshot(events: list[Event], status: str = "open") -> Snapshot:
    return Snapshot("cycle", status, "Fa" if status == "locked" else None, LOG[-1].at, events)


def plan(events: list[Event], **overrides) -> list[Draft]:
    arguments = dict(
        session="2026-H1/q3", employee_id="E3", submitted=Submitted("Exceeds", "medium"), rating="Meets",
        potential=None, reason="why", author="Gu", expect_version=None,
    )
    return plan_change(snapshot(events), **{**arguments, **overrides})


def test_a_change_starts_from_the_submitted_values_then_from_the_log():
    first = plan([])
    assert first == [Draft("rating", "Gu", "E3", "Exceeds", "Meets", 0, 1, "why")]
    e3 = [e for e in LOG[:5] if e.employee_id == "E3"]
    both = plan(e3, rating="Meets", potential="low", expect_version=3)
    assert [(d.kind, d.from_value, d.to_value, d.base_version, d.version) for d in both] == [
        ("rating", "Far exceeds", "Meets", 3, 4),
        ("potential", "high", "low", 4, 5),
    ]


def test_a_stale_version_is_refused_naming_who_changed_the_person_and_when():
    e3 = [e for e in LOG if e.employee_id == "E3"]
    with pytest.raises(StaleVersionError) as refused:
        plan(e3, expect_version=2)
    assert str(refused.value) == (
        "E3 was changed by Cy (version 3, 2026-11-29 10:14 UTC) after the version 2 you saw: reload and try again."
    )
    with pytest.raises(StaleVersionError, match="at version 3, not 7"):
        plan(e3, expect_version=7)


def test_no_op_changes_and_locked_sessions_are_refused():
    with pytest.raises(SessionError, match="already Exceeds"):
        plan([], rating="Exceeds")
    with pytest.raises(SessionLockedError, match="locked by Fa"):
        plan_change(
            snapshot([], "locked"), session="s", employee_id="E3", submitted=Submitted("Meets", None),
            rating="Exceeds", potential=None, reason="r", author="Gu", expect_version=None,
        )
    with pytest.raises(SessionLockedError):
        plan_mark(snapshot([], "locked"), session="s", kind="note", employee_id="E3", text="t", author="Gu")
    with pytest.raises(SessionLockedError):
        plan_lock(snapshot([], "locked"), session="s", author="Gu", reason="")


def test_a_session_starts_from_the_inputs_calibrated_rating_where_there_is_one():
    calibrated = Submitted("Exceeds", "medium", calibrated="Meets")
    assert calibrated.before == "Meets" and Submitted("Exceeds", None).before == "Exceeds"
    first = plan([], submitted=calibrated, rating="Far exceeds")
    assert (first[0].from_value, first[0].to_value) == ("Meets", "Far exceeds")
    with pytest.raises(NothingToChangeError, match="already Meets"):
        plan([], submitted=calibrated, rating="Meets")  # what the reviews already say after calibration


def mark(events: list[Event], kind: str, on: bool = True) -> list[Draft]:
    return plan_mark(snapshot(events), session="s", kind=kind, employee_id="E4", text="", author="Gu", on=on)


def test_flag_and_discussed_are_toggles_and_a_second_press_records_nothing():
    first = mark([], "flag")
    assert [(d.kind, d.from_value, d.to_value) for d in first] == [("flag", "off", "on")]
    flagged = chain(OPEN, *first)
    with pytest.raises(NothingToChangeError, match="E4 is already flagged"):
        mark(flagged[1:], "flag")  # a double click: the second press asks for what is already so
    off = mark(flagged[1:], "flag", on=False)
    assert [(d.from_value, d.to_value) for d in off] == [("on", "off")]
    log = chain(OPEN, *first, *off, *mark([], "discussed"))
    state = derive_state(log).people["E4"]
    assert (state.flagged, state.discussed) == (False, True)
    with pytest.raises(NothingToChangeError, match="not marked discussed"):
        mark([], "discussed", on=False)
    legacy = chain(OPEN, Draft("flag", "Bo", "E4"))  # written before toggles: no value means "on"
    assert derive_state(legacy).people["E4"].flagged


def undo(events: list[Event], **overrides) -> list[Draft]:
    arguments = dict(session="s", employee_id="E3", reason="wrong person", author="Gu", expect_version=None)
    return plan_undo(snapshot(events), **{**arguments, **overrides})


def test_undo_sets_back_the_last_change_standing_as_a_new_event():
    log = chain(
        OPEN,
        rating("E3", "Meets", "Exceeds", 1),
        Draft("rating", "Bo", "E3", "Exceeds", "Far exceeds", 1, 2, "both"),
        Draft("potential", "Bo", "E3", "medium", "high", 2, 3, "both"),  # one `set`: same time, author, reason
    )
    person = [e for e in log if e.employee_id == "E3"]
    assert [e.seq for e in last_change(person)] == [3, 4]
    drafts = undo(person, expect_version=3)
    assert [(d.kind, d.from_value, d.to_value, d.base_version, d.version) for d in drafts] == [
        ("undo_rating", "Far exceeds", "Exceeds", 3, 4),
        ("undo_potential", "high", "medium", 4, 5),
    ]
    log = chain(*[Draft(e.kind, e.author, e.employee_id, e.from_value, e.to_value, e.base_version, e.version,
                        e.reason) for e in log], *drafts)
    state = derive_state(log).people["E3"]
    assert (state.rating, state.potential, state.version) == ("Exceeds", "medium", 5)
    person = [e for e in log if e.employee_id == "E3"]
    assert [e.seq for e in active_changes(person)] == [2]  # undos pop a stack: the first change still stands
    again = undo(person)
    assert [(d.kind, d.from_value, d.to_value) for d in again] == [("undo_rating", "Exceeds", "Meets")]
    with pytest.raises(StaleVersionError):
        undo(person, expect_version=4)
    with pytest.raises(NothingToChangeError, match="no change in this session to undo"):
        undo([])


def test_reasons_are_required_and_kept_verbatim():
    with pytest.raises(SessionError, match="the reason is empty"):
        check_text(" \t\n", "the reason", required=True)
    with pytest.raises(SessionError, match="NUL"):
        check_text("a\x00b", "the reason", required=True)
    hostile = '  =HYPERLINK("http://x","y") <script>alert(1)</script>  '
    assert check_text(hostile, "the reason", required=True) == hostile


def test_times_read_as_utc_minutes():
    assert when("2026-11-29T10:14:59.999999Z") == "2026-11-29 10:14 UTC"


# -- the chain ----------------------------------------------------------------------------------
def test_an_untouched_chain_verifies_against_its_recorded_head():
    result = verify_chain(LOG, recorded_count=9, recorded_head=LOG[-1].hash, recorded_status="locked")
    assert result.ok and result.events == 9 and result.head_hash == LOG[-1].hash


def test_an_altered_reason_is_named_by_its_event():
    altered = list(LOG)
    altered[3] = dataclasses.replace(altered[3], reason="nothing happened")
    result = verify_chain(altered)
    assert not result.ok and result.broken_seq == 4
    assert "event 4 (potential of E3 by Bo" in result.problem and "changed after it was written" in result.problem


def test_a_rewritten_hash_breaks_the_next_link():
    altered = list(LOG)
    # a forger who rewrites event 2 and gives it a correct new hash still breaks event 3's link
    altered[1] = seal(
        Draft("rating", "Ana", "E3", "Exceeds", "Far exceeds", 0, 1, "evidence"),
        cycle="2026-H1", session="q3", seq=2, at=altered[1].at, prev_hash=altered[1].prev_hash,
    )
    result = verify_chain(altered)
    assert not result.ok and result.broken_seq == 3 and "does not link" in result.problem


def test_removed_reordered_and_truncated_events_are_detected():
    gap = verify_chain(LOG[:2] + LOG[3:])
    assert not gap.ok and gap.broken_seq == 3 and "event 3 is missing" in gap.problem
    swapped = verify_chain([LOG[0], LOG[2], LOG[1], *LOG[3:]])
    assert not swapped.ok and swapped.broken_seq == 2
    cut = verify_chain(LOG[:7], recorded_count=9, recorded_head=LOG[-1].hash)
    assert not cut.ok and "removed from its end" in cut.problem
    relabelled = verify_chain(LOG[:8], recorded_count=8, recorded_head=LOG[7].hash, recorded_status="locked")
    assert not relabelled.ok and "locked" in relabelled.problem
