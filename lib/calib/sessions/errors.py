"""What a session refuses, and what goes wrong with its store: one line each, rendered by the CLI or the app.

They extend calib.errors' hierarchy (WorkbenchError), so every edge already renders them without
a traceback.
"""

from __future__ import annotations

from calib.errors import WorkbenchError


class SessionError(WorkbenchError):
    """A session change or lookup was refused: bad input, a person out of scope, a locked session."""


class StaleVersionError(SessionError):
    """A change was based on a version of a person that someone else has since replaced."""


class SessionLockedError(SessionError):
    """The session is locked: it takes no more changes."""


class StoreError(WorkbenchError):
    """The session store cannot be opened or written (bad path or URL, server down, busy too long)."""


class NothingToChangeError(SessionError):
    """The change asks for what is already so (a rating it already has, a flag already set, nothing to undo)."""
