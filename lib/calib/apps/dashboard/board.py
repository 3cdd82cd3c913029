"""The 9-box as a board the facilitator drags cards on: an anywidget whose JavaScript ships in the package.

`NineBoxBoard` draws what `calib.apps.dashboard.ninebox.board_data` gives it (static/ninebox.js and
ninebox.css: plain ES module and CSS, no build step, nothing fetched from a network). Dropping a
card on another box, or selecting it with the keyboard (Enter), opens a reason field; the page
sends the move as a message and the kernel records it through `on_move` (the meeting's session
call) only with a reason, then answers with the acknowledgement or the refusal. Cancel, or a
refusal, leaves the card where it was: the board only ever draws what the session holds. Every
string reaches the page as text (`textContent`), never as HTML.
"""

from __future__ import annotations

from collections.abc import Callable

import anywidget
import traitlets

from calib.apps.dashboard.sizer import STATIC

Move = Callable[[str, str, str | None, str], tuple[bool, str]]  # employee_id, rating, potential, reason


class NineBoxBoard(anywidget.AnyWidget):
    """The board: `data` to draw, `locked` to refuse moves, `answer` to the page's last move."""

    _esm = STATIC / "ninebox.js"
    _css = STATIC / "ninebox.css"
    data = traitlets.Dict().tag(sync=True)
    locked = traitlets.Bool(False).tag(sync=True)
    answer = traitlets.Dict().tag(sync=True)  # {"nonce", "ok", "text"}: the answer to the move sent as nonce

    def __init__(self, on_move: Move | None = None, **kwargs):
        super().__init__(**kwargs)
        self.on_move: Move = on_move or (lambda *_: (False, "Not recorded: this board is read-only."))
        self.ids: dict[str, str] = {}  # card key -> employee_id (never sent)
        self.on_msg(self._on_message)

    def show(self, data: dict, keys: dict[str, str]) -> None:
        """Draw `data`; `keys` maps its card keys to employee ids (kept here, never sent)."""
        self.ids = keys
        if data != self.data:
            self.data = data

    def move(self, key: str, rating: str, potential: str | None, reason: str) -> tuple[bool, str]:
        """Record a move asked for by the page (a card's key, its new rating and potential, the reason)."""
        if self.locked:
            return False, "Not recorded: the session is locked."
        employee_id = self.ids.get(str(key))
        if employee_id is None:
            return False, "Not recorded: that card is no longer in view; the board has been redrawn."
        label = next((c["label"] for c in self.data.get("cards", []) if c["key"] == key), key)
        to_potential = potential if isinstance(potential, str) else None
        ok, text = self.on_move(employee_id, str(rating), to_potential, str(reason))
        return ok, f"{label}: {text}"  # the status line names whom it is about

    def _on_message(self, _widget, content: dict, _buffers) -> None:
        if not isinstance(content, dict) or content.get("type") != "move":
            return
        ok, text = self.move(content.get("key", ""), content.get("rating", ""), content.get("potential"),
                             content.get("reason", ""))  # fmt: skip
        self.answer = {"nonce": content.get("nonce"), "ok": ok, "text": text}
