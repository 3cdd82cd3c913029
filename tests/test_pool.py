"""Preheated kernels started one at a time (calib.apps.pool), on Voila's own kernel-manager factory shape.

The stand-in base class below plays Voila's preheating kernel manager: `_initialize` starts a
"kernel" and returns the task that runs its notebook, `get_kernel` reports its execution state.
"""

from __future__ import annotations

import asyncio

from calib.apps import pool


def fake_factory(log: list[str], busy_for: float = 0.05):
    """A Voila-shaped factory whose kernels run their notebook for `busy_for` seconds, then idle."""

    class Kernel:
        execution_state = "starting"

    class Preheating:
        def __init__(self):
            self.kernels: dict[str, Kernel] = {}

        def get_kernel(self, kernel_id):
            return self.kernels[kernel_id]

        async def _initialize(self, notebook_path, kernel_id=None, **kw):
            kernel_id = kernel_id or f"k{len(self.kernels)}"
            kernel = self.kernels[kernel_id] = Kernel()
            log.append(f"start {kernel_id}")

            async def run():
                kernel.execution_state = "busy"
                await asyncio.sleep(busy_for)
                kernel.execution_state = "idle"
                log.append(f"ran {kernel_id}")

            return {"task": asyncio.get_running_loop().create_task(run()), "kernel_id": kernel_id}

    return lambda *args, **kwargs: Preheating


def test_pooled_kernels_start_only_after_the_one_before_ran_its_notebook_and_went_quiet(monkeypatch):
    monkeypatch.setattr(pool, "QUIET_S", 0.02)
    log: list[str] = []
    manager = pool.one_at_a_time(fake_factory(log))()()

    async def fill():
        return await asyncio.gather(*(manager._initialize("nb.ipynb") for _ in range(3)))

    contents = asyncio.run(fill())
    assert [c["kernel_id"] for c in contents] == ["k0", "k1", "k2"]
    assert log[:5] == ["start k0", "ran k0", "start k1", "ran k1", "start k2"]  # never two starting at once


def test_a_factory_is_wrapped_once_and_keeps_voilas_class_name():
    log: list[str] = []
    factory = pool.one_at_a_time(fake_factory(log))
    assert pool.one_at_a_time(factory) is factory
    assert factory().__name__ == "Preheating"


def test_quiet_waits_for_a_quiet_spell_and_gives_up_on_a_kernel_that_is_gone():
    seen: list[str] = []
    states = iter(["busy", "idle", "busy", *["idle"] * 100])

    def current() -> str:
        seen.append(next(states))
        return seen[-1]

    asyncio.run(pool.quiet(current, quiet_s=0.25))
    assert seen[:3] == ["busy", "idle", "busy"] and len(seen) >= 5  # one idle moment between busy ones is no spell
    asyncio.run(pool.quiet(lambda: "gone", quiet_s=10))  # returns at once
