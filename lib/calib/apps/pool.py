"""Preheated kernels started one at a time, so the first page gets the machine to itself.

Voila fills its pool of preheated kernels all at once, and refills it one second after a page took
a kernel. On a 2-core machine the page opened right after `calib serve` started then waited for
its kernel while two or three others imported the same libraries beside it (the first chart took
6-7 s on a quiet machine, against 3 s for one kernel alone). Here a pooled kernel starts only once
the one before it has run its notebook and gone quiet; the pool fills in the same order, one
kernel after the other.

`one_at_a_time(factory)` wraps Voila's `voila_kernel_manager_factory`: the kernel manager class it
makes gets this module's `_initialize`. It is applied in the server's own process only
(calib.apps.voila.voila_app).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

QUIET_S = 0.5  # a kernel idle this long has finished its notebook (the page runs its cells back to back)
LONGEST_S = 120.0  # never hold the next kernel back longer than this
POLL_S = 0.1


def one_at_a_time(factory: Callable[..., type]) -> Callable[..., type]:
    """Voila's kernel-manager factory, its preheated kernels started one after the other."""
    if getattr(factory, "one_at_a_time", False):
        return factory

    @functools.wraps(factory)
    def make(*args, **kwargs) -> type:
        base = factory(*args, **kwargs)
        if not hasattr(base, "_initialize"):  # no preheating: nothing is pooled
            return base

        class OneAtATime(base):
            _turn: asyncio.Lock | None = None

            async def _initialize(self, notebook_path: str, kernel_id: str | None = None, **kw):
                if self._turn is None:
                    self._turn = asyncio.Lock()
                await self._turn.acquire()
                try:
                    content = await super()._initialize(notebook_path, kernel_id, **kw)
                except BaseException:
                    self._turn.release()
                    raise
                asyncio.get_running_loop().create_task(self._hand_on(content))
                return content

            async def _hand_on(self, content: dict) -> None:
                """Let the next kernel start once this one has run its notebook and gone quiet."""
                try:
                    await asyncio.wait({content["task"]}, timeout=LONGEST_S)
                    await quiet(lambda: state(self, content["kernel_id"]))
                finally:
                    self._turn.release()

        OneAtATime.__name__ = OneAtATime.__qualname__ = base.__name__  # config and logs keep Voila's name
        return OneAtATime

    make.one_at_a_time = True  # type: ignore[attr-defined]
    return make


def state(manager, kernel_id: str) -> str:
    """The kernel's execution state as the server tracks it ('busy', 'idle', ...); 'gone' once shut down."""
    try:
        return getattr(manager.get_kernel(kernel_id), "execution_state", "idle")
    except KeyError:
        return "gone"


async def quiet(current: Callable[[], str], *, quiet_s: float = QUIET_S, longest_s: float = LONGEST_S) -> None:
    """Return once `current()` has not been busy (or starting) for `quiet_s` seconds, or after `longest_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + longest_s
    since = None
    while loop.time() < deadline:
        now = loop.time()
        value = current()
        if value == "gone":
            return
        if value in ("busy", "starting"):
            since = None
        elif since is None:
            since = now
        elif now - since >= quiet_s:
            return
        await asyncio.sleep(POLL_S)
