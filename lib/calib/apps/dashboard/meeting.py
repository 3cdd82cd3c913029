"""The meeting's controls: the Calibrate and 9-box tabs' widgets, wired to a calibration session.

`Meeting` holds the open `CalibrationSession`, the facilitator's name and the session's table and
log as last read. Every control calls one session method; the status line says "recorded" only
after the method returned, that is after the change was committed. A refusal (no reason, a stale
version, a locked session...) is shown as the session's one-line message. After each action, and
whenever the store's event count moves (checked every few seconds, so another browser's changes
appear), the table and log are read again and the dashboard redrawn.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from calib.apps.dashboard.board import NineBoxBoard
from calib.apps.dashboard.calibrate import apply_session, queue, queue_options
from calib.apps.dashboard.html import esc
from calib.apps.dashboard.ninebox import board_data
from calib.errors import UsageError, WorkbenchError

POLL_MS = 3000  # how often an idle page looks for other browsers' changes


class Meeting:
    """A session at the table: its state, and the widgets that change it."""

    def __init__(self, session, facilitator: str, widgets):
        self.session = session
        self.facilitator = facilitator
        self._w = widgets
        self.table = pd.DataFrame()
        self.log = pd.DataFrame()
        self.count = -1
        self.locked = False
        self.lock_asked = False  # the lock's confirmation is honoured only after "Lock session…" (checked here)
        self.on_change: Callable[[], None] = lambda: None
        self._build(widgets)

    # -- reading ---------------------------------------------------------------------------------
    def reload(self, sources) -> None:
        """Read the session's table and log again; make its ratings the frame's after-calibration ratings."""
        record = self.session.refresh()  # first: the events read next are at least this many
        self.table = self.session.table()
        self.log = self.session.log()
        self.count = record.event_count if record is not None else 0
        self.locked = record is not None and record.status == "locked"
        apply_session(sources, self.table)

    def moved(self) -> bool:
        """Whether the store holds events this page has not read (another browser's changes)."""
        record = self.session.store.find(self.session.config.cycle, self.session.name)
        return (record.event_count if record is not None else 0) != self.count

    def version(self, employee_id: str) -> int | None:
        """The person's version as this page last read it (what a change is based on)."""
        row = self.table[self.table["employee_id"].astype(str) == str(employee_id)]
        return int(row["version"].iloc[0]) if len(row) else None

    # -- widgets ---------------------------------------------------------------------------------
    def _build(self, w) -> None:
        style = {"description_width": "initial"}
        self.queue = w.Dropdown(options=[], description="Discuss", style=style, layout=w.Layout(width="900px"))
        self.queue.add_class("calib-queue")
        self.rating = w.Dropdown(options=[], description="New rating", style=style, layout=w.Layout(width="360px"))
        self.rating.add_class("calib-rating")
        self.potential = w.Dropdown(options=[], description="Potential", style=style, layout=w.Layout(width="260px"))
        self.potential.add_class("calib-potential")
        self.reason = w.Textarea(
            placeholder="Why (required): the evidence you relied on", layout=w.Layout(width="900px")
        )
        self.reason.add_class("calib-reason")
        self.record = w.Button(description="Record change", button_style="primary")
        self.record.add_class("calib-record")
        self.flag = w.Button(description="Flag for discussion")
        self.flag.add_class("calib-flag")
        self.discussed = w.Button(description="Mark discussed")
        self.discussed.add_class("calib-discussed")
        self.note = w.Text(placeholder="A note about this person", layout=w.Layout(width="700px"))
        self.note.add_class("calib-note-text")
        self.add_note = w.Button(description="Add note")
        self.add_note.add_class("calib-add-note")
        self.lock = w.Button(description="Lock session…", button_style="danger")
        self.lock.add_class("calib-lock")
        self.confirm = w.Button(description="Yes, lock it: no more changes", button_style="danger")
        self.confirm.add_class("calib-lock-confirm")
        self.cancel = w.Button(description="Cancel")
        self.confirm_box = w.HBox([self.confirm, self.cancel], layout=w.Layout(display="none"))
        self.status = w.HTML()
        self.status.add_class("calib-status")
        self.board = NineBoxBoard(on_move=self._board_move, layout=w.Layout(width="100%"))
        self.board.add_class("calib-ninebox")
        self.record.on_click(lambda _: self._act(self._record))
        self.flag.on_click(lambda _: self._act(self._flag))
        self.discussed.on_click(lambda _: self._act(self._discussed))
        self.add_note.on_click(lambda _: self._act(self._note))
        self.lock.on_click(lambda _: self._ask_lock(True))
        self.cancel.on_click(lambda _: self._ask_lock(False))
        self.confirm.on_click(lambda _: self._act(self._lock))
        for button in (self.record, self.flag, self.discussed, self.add_note, self.lock, self.confirm):
            button.layout.width = "auto"  # the whole label, never "Record chan…"

    def calibrate_controls(self) -> list:
        """The widgets above the Calibrate tab's view."""
        w = self._w
        return [
            w.HBox([self.queue]),
            w.HBox([self.rating, self.potential, self.record]),
            self.reason,
            w.HBox([self.flag, self.discussed, self.note, self.add_note, self.lock]),
            self.confirm_box,
            self.status,
        ]

    def ninebox_controls(self) -> list:
        """The 9-box board (cards dragged between boxes; a move asks for a reason)."""
        return [self.board]

    def fill_queue(self, sources, filters) -> None:
        """Refill the queue for the rows in view; keep the current person when still there."""
        order = queue(sources, filters, self.table)
        options = queue_options(order)
        keep = self.queue.value if self.queue.value in set(order["employee_id"]) else None
        if list(self.queue.options) != options:  # 10k options are sent to the page only when they change
            self.queue.options = options
        self.queue.value = keep if keep is not None else (options[0][1] if options else None)
        labels = list(sources.config.rating_labels)
        if list(self.rating.options) != labels:
            self.rating.options = labels
            self.potential.options = ["(unchanged)", *sources.config.sessions.potential_scale]
        self.sync_person()
        self._lock_controls()

    def fill_box(self, sources, filters) -> None:
        """Redraw the 9-box board for the rows in view, as the session holds them."""
        self.board.show(*board_data(sources, filters, self.table))
        self._lock_controls()

    def _lock_controls(self) -> None:
        controls = (
            self.rating, self.potential, self.reason, self.record, self.flag, self.discussed, self.note,
            self.add_note, self.lock,
        )  # fmt: skip
        for control in controls:
            control.disabled = self.locked
        self.board.locked = self.locked
        if self.locked:
            self.status.value = "<b>This session is locked.</b> It is read-only: the log and the export are final."

    def sync_person(self) -> None:
        """The rating control starts at the person's current rating."""
        row = self.table[self.table["employee_id"].astype(str) == str(self.queue.value)]
        if len(row) and str(row["rating"].iloc[0]) in self.rating.options:
            self.rating.value = str(row["rating"].iloc[0])
        self.potential.value = "(unchanged)"

    # -- actions (each one session call) ---------------------------------------------------------
    def _act(self, action: Callable[[], str], *, status=None) -> None:
        status = status or self.status
        try:
            message = action()
        except WorkbenchError as exc:
            status.value = f'<span class="calib-refused">Not recorded: {esc(exc)}</span>'
            return
        status.value = f'<span class="calib-recorded">✔ {esc(message)}</span>'
        self.on_change()

    def _record(self) -> str:
        who = str(self.queue.value or "")
        now = self.table.set_index("employee_id")
        rating = self.rating.value if who in now.index and self.rating.value != str(now.at[who, "rating"]) else None
        potential = self.potential.value if self.potential.value != "(unchanged)" else None
        events = self.session.change(
            who,
            rating=rating,
            potential=potential,
            reason=self.reason.value,
            by=self.facilitator,
            expect_version=self.version(who),
        )
        self.reason.value = ""
        return "Recorded: " + "; ".join(f"{e.kind} {e.from_value} → {e.to_value} (version {e.version})" for e in events)

    def _flag(self) -> str:
        self.session.flag(str(self.queue.value or ""), by=self.facilitator)
        return "Flagged for discussion."

    def _discussed(self) -> str:
        self.session.mark_discussed(str(self.queue.value or ""), by=self.facilitator)
        return "Marked as discussed."

    def _note(self) -> str:
        self.session.note(str(self.queue.value or ""), self.note.value, by=self.facilitator)
        self.note.value = ""
        return "Note recorded."

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
            return False, f"Not recorded: {exc}"
        self.on_change()
        return True, message

    def _move(self, who: str, to_rating: str, to_potential: str | None, reason: str) -> str:
        now = self.table.set_index("employee_id")
        rating = to_rating if who in now.index and to_rating != str(now.at[who, "rating"]) else None
        old = now.at[who, "potential"] if who in now.index else None
        potential = to_potential if to_potential is not None and to_potential != old else None
        events = self.session.change(
            who, rating=rating, potential=potential, reason=reason, by=self.facilitator,
            expect_version=self.version(who),
        )  # fmt: skip
        return "Moved: " + "; ".join(f"{e.kind} {e.from_value} → {e.to_value}" for e in events)
