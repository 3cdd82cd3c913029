"""Plain words for findings: the sentence a manager understands first, the statistics after it.

Every explanation in findings.json opens with what the finding means in everyday words, then gives
the estimate, its interval and the adjusted p for whoever wants them. These helpers say a
difference in rating points as steps of the scale (`steps`), a ratio of two rates as how often
(`how_often`), whether it could be chance (`chance`) and a p-value as people read it (`p_value`).
They round on purpose: the numbers that follow are exact.
"""

from __future__ import annotations

import math

_HALF_STEPS = {1: "about half a step", 2: "about one step", 3: "about one and a half steps", 4: "about two steps"}
_FRACTIONS = (  # a ratio between a fifth and 15/16 -> the nearest of these (on a log scale)
    (1 / 4, "about a quarter as often"),
    (1 / 3, "about a third as often"),
    (1 / 2, "about half as often"),
    (2 / 3, "about two-thirds as often"),
    (3 / 4, "about three-quarters as often"),
    (7 / 8, "nearly as often"),
)
_TIMES = {2: "about twice as often", 3: "about three times as often", 4: "about four times as often"}


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


def steps(points: float) -> str:
    """A difference in rating points as steps of the scale, to the nearest half step.

    >>> steps(1.04), steps(-0.7), steps(0.2)
    ('about one step', 'about half a step', 'less than a quarter of a step')
    """
    halves = _half_up(abs(points) * 2)
    if halves == 0:
        return "less than a quarter of a step"
    return _HALF_STEPS.get(halves, f"about {halves / 2:g} steps")


def how_often(rate: float, reference: float) -> str:
    """How often one group meets an outcome against another, as words: "about half as often".

    >>> how_often(0.23, 0.43), how_often(0.06, 0.02), how_often(0.0, 0.15)
    ('about half as often', 'about three times as often', 'never')
    """
    if rate <= 0:
        return "never"
    if reference <= 0:
        return "while the others never do"
    ratio = rate / reference
    if ratio < 1 / 5:
        return "less than a fifth as often"
    if ratio < 15 / 16:
        return min(_FRACTIONS, key=lambda item: abs(math.log(ratio / item[0])))[1]
    if ratio < 1.07:
        return "about as often"
    if ratio < 1.25:
        return "a little more often"
    if ratio < 1.75:
        return "about one and a half times as often"
    if ratio >= 10:
        return "more than ten times as often"
    times = _half_up(ratio * 2) / 2
    return _TIMES.get(times, f"about {times:g} times as often")


def chance(unlikely: bool) -> str:
    """Whether a difference could be chance, in the words the dashboard and the report use."""
    return "unlikely to be chance" if unlikely else "could be chance"


def p_value(p: float, name: str = "p") -> str:
    """A p-value (or a q-value: `name`) as people read it: "p < 0.001", "p = 0.0069", "p = 0.22"."""
    if p is None or not math.isfinite(p):
        return f"{name} not computed"
    return f"{name} < 0.001" if p < 0.001 else f"{name} = {p:.2g}"
