"""The apps' error panel: a callback that fails shows one friendly line, never a traceback.

A `WorkbenchError` (a user's mistake, already worded for people) is shown as it is; anything else
is a bug: its traceback goes to the server's log and the page says only that something went wrong.
"""

from __future__ import annotations

import html
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from calib.errors import WorkbenchError


@contextmanager
def error_panel(panel, fallback: str) -> Iterator[None]:
    """Run a callback; on failure fill `panel` (an ipywidgets HTML) with one line; hide it on success."""
    try:
        yield
    except WorkbenchError as exc:
        show_error(panel, str(exc))
    except Exception:
        traceback.print_exc(file=sys.__stderr__)
        show_error(panel, fallback)
    else:
        if panel.layout.display != "none":
            panel.layout.display = "none"


def show_error(panel, message: str) -> None:
    """Show `message` (escaped) in the error panel."""
    panel.value = f"<b>This view could not be drawn.</b> {html.escape(message, quote=True)}"
    panel.layout.display = "block"
