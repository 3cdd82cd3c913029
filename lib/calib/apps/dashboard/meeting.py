"""The meeting's controls: the Calibrate and 9-box tabs' widgets, wired to a calibration session.

`Meeting` holds the open `CalibrationSession`, the facilitator's name, the session's table and
events as last read, the queue as last drawn and the person at hand. Every control calls one
session method. After it returns (the change is committed), the session is read again and the
queue, the card and the controls are redrawn *before* the status line says "recorded"; the chart
and the log follow. A refusal (no reason, a stale version, a locked session...) is the session's
one-line message. Whenever the store's event count moves (checked every few seconds) the page
redraws, so another browser's changes appear.

- **Toggles.** Flag and Discussed read as what pressing them does ("Remove flag", "Mark not
  discussed"); a press asks the session for that state, so a second press of a double click
  (blocked in the page by the ClickGuard anyway) would ask for what is already so and record
  nothing. After "discussed", the next undiscussed person of the queue is selected.
- **Undo** sets back the person's last change still standing, with a reason: a new event.
- **The status line** belongs to the person it was written for: it names them, and choosing
  someone else shows that person's own line (or none).
- **Resuming.** Until the facilitator chooses someone or acts in this page, the page follows the
  first undiscussed entry of the queue: a reload, or a preheated kernel handed to a new page,
  opens there, not on someone discussed since the kernel started.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from calib.apps.dashboard.board import NineBoxBoard
from calib.apps.dashboard.calibrate import apply_session
from calib.apps.dashboard.card import person_card
from calib.apps.dashboard.html import esc
from calib.apps.dashboard.ninebox import board_data
from calib.apps.dashboard.picker import GUARDED, ClickGuard, Picker, entries
from calib.apps.dashboard.queue import COLUMNS, first_undiscussed, next_undiscussed, queue
from calib.errors import UsageError, WorkbenchError
from calib.sessions.errors import NothingToChangeError
from calib.sessions.events import log_frame, when
from calib.sessions.state import last_change

POLL_MS = 3000  # how often an idle page looks for other browsers' changes
UNCHANGED = "(unchanged)"
LOCKED = "<b>This session is locked.</b> It is read-only: the log and the export are final."


class Meeting:
    """A session at the table: its state, the person at hand, and the widgets that change it."""

    def __init__(self, session, facilitator: str, widgets):
        self.session = session
        self.facilitator = facilitator
        self._w = widgets
        self.table = pd.DataFrame()
        self._rows: dict[str, int] = {}  # employee_id -> row of the table
        self.events: list = []
        self.log = pd.DataFrame()
        self.count = -1
        self.locked = False
        self.lock_asked = False  # the lock's confirmation is honoured only after "Lock session…" (checked here)
        self.order = pd.DataFrame(columns=COLUMNS)  # the queue as last drawn
        self._shown = pd.DataFrame()  # what the queue's entries were built from
        self.person: str | None = None  # employee_id of the person at hand
        self.touched = False  # the facilitator chose someone or acted in this page
        self.statuses: dict[str, str] = {}  # employee_id -> the status line written for them
        self._advance: tuple[list[str], str] | None = None  # after "discussed": the order shown, and who
        self._keys: dict[str, str] = {}  # employee_id -> picker key (pseudonym)
        self._ids: dict[str, str] = {}  # picker key -> employee_id
        self.on_person: Callable[[], None] = lambda: None  # read the session, redraw the queue, card and controls
        self.on_change: Callable[[], None] = lambda: None  # redraw the rest (chart, log, header, other tabs)
        self.redact: Callable[[str], object] = str  # how free text is shown (calib.privacy in blind mode)
        self._build(widgets)

    # -- reading ---------------------------------------------------------------------------------
    def reload(self, sources) -> None:
        """Read the session again (one read of its log); make its ratings the frame's after-calibration ratings."""
        from calib.sessions.table import people_table  # here: a dashboard without a session never loads the store

        record = self.session.refresh()  # first: the events read next are at least this many
        self.events = self.session.events()
        self.table = people_table(self.session.roster, self.session.scope, self.events)
        self._rows = {str(i): n for n, i in enumerate(self.table["employee_id"])}
        self.log = log_frame(self.events)
        self.count = record.event_count if record is not None else 0
        self.locked = record is not None and record.status == "locked"
        apply_session(sources, self.table)

    def moved(self) -> bool:
        """Whether the store holds events this page has not read (another browser's changes)."""
        record = self.session.store.find(self.session.config.cycle, self.session.name)
        return (record.event_count if record is not None else 0) != self.count

    def row(self, employee_id: str | None) -> pd.Series | None:
        """The person's row of the session's table as this page last read it."""
        position = self._rows.get(str(employee_id))
        return self.table.iloc[position] if position is not None else None

    def version(self, employee_id: str | None) -> int | None:
        """The person's version as this page last read it (what a change is based on)."""
        row = self.row(employee_id)
        return int(row["version"]) if row is not None else None

    # -- widgets ---------------------------------------------------------------------------------
    def _build(self, w) -> None:
        style = {"description_width": "initial"}
        self.guard = ClickGuard()
        self.queue = Picker(placeholder="Search by name", noun="people in the queue")
        self.queue.add_class("calib-queue")
        self.card = w.HTML()  # who, the ratings, why in the queue: above the controls
        self.card.add_class("calib-card-head")
        self.card_body = w.HTML()  # evidence, statistics, expectations, peers, history: below them
        self.card_body.add_class("calib-card-body")
        self.rating = w.Dropdown(options=[], description="New rating", style=style, layout=w.Layout(width="330px"))
        self.rating.add_class("calib-rating")
        self.potential = w.Dropdown(options=[], description="Potential", style=style, layout=w.Layout(width="250px"))
        self.potential.add_class("calib-potential")
        self.reason = w.Textarea(
            placeholder="Why (required): name the evidence item (its title or link) or the criterion you relied on",
            layout=w.Layout(width="100%", height="64px", margin="2px 0"),  # no side margin: 100% means the box
        )
        self.reason.add_class("calib-reason")
        self.record = self._button(w, "Record change", "calib-record", "primary")
        self.flag = self._button(w, "Flag for discussion", "calib-flag")
        self.discussed = self._button(w, "Mark discussed", "calib-discussed")
        self.undo = self._button(w, "Undo last change…", "calib-undo")
        self.undo_reason = w.Text(placeholder="Why undo (required)", layout=w.Layout(width="100%", margin="2px 0"))
        self.undo_reason.add_class("calib-undo-reason")
        self.undo_what = w.HTML()
        self.undo_confirm = self._button(w, "Undo it", "calib-undo-confirm", "warning")
        self.undo_cancel = self._button(w, "Cancel", "calib-undo-cancel")
        self.undo_box = w.VBox(
            [self.undo_what, self.undo_reason, w.HBox([self.undo_confirm, self.undo_cancel])],
            layout=w.Layout(display="none"),
        )
        self.note = w.Text(placeholder="A note about this person", layout=w.Layout(flex="1 1 300px"))
        self.note.add_class("calib-note-text")
        self.add_note = self._button(w, "Add note", "calib-add-note")
        self.lock = self._button(w, "Lock session…", "calib-lock", "danger")
        self.confirm = self._button(w, "Yes, lock it: no more changes", "calib-lock-confirm", "danger")
        self.cancel = self._button(w, "Cancel", "calib-lock-cancel")
        self.confirm_box = w.HBox([self.confirm, self.cancel], layout=w.Layout(display="none"))
        self.status = w.HTML()
        self.status.add_class("calib-status")
        self.board = NineBoxBoard(on_move=self._board_move, layout=w.Layout(width="100%"))
        self.board.add_class("calib-ninebox")
        self.record.on_click(lambda _: self._act(self._record))
        self.flag.on_click(lambda _: self._act(self._flag))
        self.discussed.on_click(lambda _: self._act(self._discussed))
        self.undo.on_click(lambda _: self._ask_undo(True))
        self.undo_cancel.on_click(lambda _: self._ask_undo(False))
        self.undo_confirm.on_click(lambda _: self._act(self._undo))
        self.add_note.on_click(lambda _: self._act(self._note))
        self.lock.on_click(lambda _: self._ask_lock(True))
        self.cancel.on_click(lambda _: self._ask_lock(False))
        self.confirm.on_click(lambda _: self._act(self._lock))

    def _button(self, w, text: str, cls: str, style: str = ""):
        button = w.Button(description=text, button_style=style, layout=w.Layout(width="auto"))  # never "Record ch…"
        button.add_class(cls)
        button.add_class(GUARDED)
        return button

    def calibrate_controls(self) -> list:
        """The Calibrate tab above its chart: the queue beside the decision controls and the person's card."""
        w = self._w
        wrap = w.Layout(flex_flow="row wrap", align_items="center", grid_gap="6px 12px")
        decide = w.VBox(
            [
                self.card,
                self.status,
                w.HBox([self.rating, self.potential, self.record], layout=wrap),
                self.reason,
                w.HBox([self.flag, self.discussed, self.undo, self.lock], layout=wrap),
                self.undo_box,
                self.confirm_box,
                w.HBox([self.note, self.add_note], layout=wrap),
                self.card_body,
            ],
            layout=w.Layout(flex="1 1 560px", min_width="0"),
        )
        decide.add_class("calib-decide")
        side = w.VBox([self.queue], layout=w.Layout(flex="0 1 420px", min_width="300px"))
        room = w.HBox([side, decide], layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        room.add_class("calib-room")
        return [room, self.guard]

    def ninebox_controls(self) -> list:
        """The 9-box board (cards dragged between boxes; a move asks for a reason)."""
        return [self.board]

    # -- the queue and the person at hand ----------------------------------------------------------
    def fill_queue(self, sources, filters) -> None:
        """Refill the queue for the rows in view and choose the person at hand (see the module docstring)."""
        if not self._keys:
            self._keys = dict(sources.pseudonyms)
            self._ids = {key: employee_id for employee_id, key in self._keys.items()}
        order = queue(sources, filters, self.table)
        previous = list(self.order["employee_id"])
        self.order = order
        shown = order[["employee_id", "label", "why", "group", "flagged", "discussed"]]
        if not shown.equals(self._shown):  # 10k entries are built and sent to the page only when they change
            self._shown = shown
            self.queue.entries = entries(order, self._keys)
        ids = set(order["employee_id"])
        if self._advance is not None:
            before, who = self._advance
            self._advance = None
            target = next_undiscussed(order, before or previous, who)
        elif not self.touched or self.person not in ids:
            target = first_undiscussed(order)
        else:
            target = self.person
        if target is None and len(order):
            target = self.person if self.person in ids else str(order["employee_id"].iloc[0])
        self.person = target
        self.queue.value = self._keys.get(target, "") if target else ""
        labels = list(sources.config.rating_labels)
        if list(self.rating.options) != labels:
            self.rating.options = labels
            self.potential.options = [UNCHANGED, *sources.config.sessions.potential_scale]

    def choose(self, key: str) -> bool:
        """The page chose an entry of the queue (by its key); whether the person at hand changed."""
        employee_id = self._ids.get(key)
        if employee_id is None or employee_id == self.person:
            return False
        self.person, self.touched = employee_id, True
        return True

    def show_person(self, sources, filters) -> None:
        """Draw the card, set the controls for the person at hand, and show the status line written for them."""
        who = self.person
        mine = self.order[self.order["employee_id"] == who]
        why = ""
        if len(mine):
            entry = mine.iloc[0]
            why = str(entry["why"] or entry["group"])
        self.card.value, self.card_body.value = person_card(
            sources, filters, self.table, self.events, who, locked=self.locked, why=why
        )
        row = self.row(who)
        if row is not None and str(row["rating"]) in self.rating.options:
            self.rating.value = str(row["rating"])
        self.potential.value = UNCHANGED if self.potential.options else None
        flagged = row is not None and bool(row["flagged"])
        discussed = row is not None and bool(row["discussed"])
        self.flag.description = "Remove flag" if flagged else "Flag for discussion"
        self.discussed.description = "Mark not discussed" if discussed else "Mark discussed"
        standing = last_change([e for e in self.events if e.employee_id == who]) if who else []
        self.undo.disabled = self.locked or not standing
        self.undo.tooltip = _undo_text(standing) if standing else "Nothing of this person's to undo"
        self._ask_undo(False)
        self._lock_controls()
        if not self.locked:
            self.status.value = self.statuses.get(who or "", "")

    def _lock_controls(self) -> None:
        controls = (
            self.rating, self.potential, self.reason, self.record, self.flag, self.discussed, self.note,
            self.add_note, self.lock,
        )  # fmt: skip
        for control in controls:
            control.disabled = self.locked or (control in (self.flag, self.discussed, self.record) and not self.person)
        if self.locked:
            self.undo.disabled = True
            self.status.value = LOCKED
        self.board.locked = self.locked

    def fill_box(self, sources, filters) -> None:
        """Redraw the 9-box board for the rows in view, as the session holds them."""
        self.board.show(*board_data(sources, filters, self.table))
        self._lock_controls()

    # -- actions (each one session call) ---------------------------------------------------------
    def _act(self, action: Callable[[], str], *, status=None) -> None:
        """Run one action; on success read the session again and redraw the person before acknowledging."""
        who = self.person
        label = self._label(who)
        self.touched = True
        try:
            try:
                message = action()
            except NothingToChangeError as exc:  # what was asked is already so: nothing recorded, nothing lost
                self._say(who, f'<span class="calib-note">{label}nothing to change: {self._text(exc)}</span>', status)
                return
            except WorkbenchError as exc:
                self._say(who, f'<span class="calib-refused">Not recorded: {self._text(exc)}</span>', status)
                return
            said = f'<span class="calib-recorded">✔ {label}{esc(message)}</span>'
            if status is None and who is not None:
                self.statuses[who] = said
            self.on_person()  # the card, the queue and the controls first, then the acknowledgement
            (status or self.status).value = said
        finally:
            self.guard.done()
        self.on_change()  # then the chart, the log and the other tabs

    def _say(self, who: str | None, html: str, status=None) -> None:
        if status is None and who is not None:
            self.statuses[who] = html
        (status or self.status).value = html

    def _text(self, exc: Exception) -> str:
        """A refusal as this page shows it: ids and names inside it redacted in blind mode, escaped."""
        return esc(self.redact(str(exc)))

    def _label(self, who: str | None) -> str:
        mine = self.order[self.order["employee_id"] == who] if who else self.order.iloc[0:0]
        return f"{esc(mine['label'].iloc[0])}: " if len(mine) else ""

    def _record(self) -> str:
        who = str(self.person or "")
        row = self.row(who)
        rating = self.rating.value if row is not None and self.rating.value != str(row["rating"]) else None
        potential = self.potential.value if self.potential.value not in (UNCHANGED, None) else None
        events = self.session.change(
            who, rating=rating, potential=potential, reason=self.reason.value, by=self.facilitator,
            expect_version=self.version(who),
        )  # fmt: skip
        self.reason.value = ""
        return "recorded " + "; ".join(f"{e.kind} {e.from_value} → {e.to_value} (version {e.version})" for e in events)

    def _flag(self) -> str:
        row = self.row(self.person)
        on = not (row is not None and bool(row["flagged"]))  # what the button said: the state this page showed
        self.session.flag(str(self.person or ""), by=self.facilitator, on=on)
        return "flagged for discussion." if on else "flag removed."

    def _discussed(self) -> str:
        row = self.row(self.person)
        on = not (row is not None and bool(row["discussed"]))
        self.session.mark_discussed(str(self.person or ""), by=self.facilitator, on=on)
        if on and self.person is not None:
            self._advance = (list(self.order["employee_id"]), self.person)
            return "marked discussed; showing the next person not yet discussed."
        return "no longer marked discussed."

    def _ask_undo(self, show: bool) -> None:
        if show:
            standing = last_change([e for e in self.events if e.employee_id == self.person])
            self.undo_what.value = f"<p>Set back {esc(_undo_text(standing))}? Say why; the log keeps both.</p>"
        self.undo_box.layout.display = "flex" if show else "none"

    def _undo(self) -> str:
        who = str(self.person or "")
        events = self.session.undo(
            who, reason=self.undo_reason.value, by=self.facilitator, expect_version=self.version(who)
        )
        self.undo_reason.value = ""
        return "undone: " + "; ".join(f"{e.kind.replace('undo_', '')} {e.from_value} → {e.to_value}" for e in events)

    def _note(self) -> str:
        self.session.note(str(self.person or ""), self.note.value, by=self.facilitator)
        self.note.value = ""
        return "note recorded."

    def _ask_lock(self, show: bool) -> None:
        self.lock_asked = show and not self.locked
        self.confirm_box.layout.display = "flex" if self.lock_asked else "none"

    def _lock(self) -> str:
        """Lock the session, only as the second step: a confirmation that came without the question is refused.

        The page hides the confirmation until "Lock session…" is pressed, but a page can send any
        widget message; the kernel is where the two steps are enforced.
        """
        if not self.lock_asked:
            raise UsageError('press "Lock session…" first, then confirm: the session stays open')
        self._ask_lock(False)
        self.session.lock(by=self.facilitator)
        return "Session locked: it is read-only from now on."

    def _board_move(self, who: str, rating: str, potential: str | None, reason: str) -> tuple[bool, str]:
        """A move dropped on the 9-box board: recorded (then everything redrawn), or refused with the reason."""
        try:
            message = self._move(who, rating, potential, reason)
        except WorkbenchError as exc:
            return False, f"Not recorded: {self.redact(str(exc))}"
        self.touched = True
        self.on_person()
        self.on_change()
        return True, message

    def _move(self, who: str, to_rating: str, to_potential: str | None, reason: str) -> str:
        row = self.row(who)
        rating = to_rating if row is not None and to_rating != str(row["rating"]) else None
        old = row["potential"] if row is not None else None
        potential = to_potential if to_potential is not None and to_potential != old else None
        events = self.session.change(
            who, rating=rating, potential=potential, reason=reason, by=self.facilitator,
            expect_version=self.version(who),
        )  # fmt: skip
        return "Moved: " + "; ".join(f"{e.kind} {e.from_value} → {e.to_value}" for e in events)


def _undo_text(standing: list) -> str:
    """What an undo would set back: "rating Exceeds → Far exceeds (Ana, 2026-11-29 10:14 UTC)"."""
    if not standing:
        return "nothing"
    what = " and ".join(f"{e.kind} {e.from_value} → {e.to_value}" for e in standing)
    return f"{what} ({standing[-1].author}, {when(standing[-1].at)})"
