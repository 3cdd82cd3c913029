"""Small-cell suppression shared by every breakdown.

Rule: a group with fewer than `min_group_size` people is suppressed (primary). If exactly one
group of a breakdown is suppressed, the total minus the shown groups would reveal it, so the
next-smallest group is suppressed too (complementary), ties broken by group name.
"""

from __future__ import annotations

import pandas as pd


def suppressed_groups(sizes: pd.Series, min_group_size: int) -> pd.Series:
    """Which groups to withhold, given each group's size (index = group)."""
    primary = sizes < min_group_size
    out = primary.copy()
    if primary.sum() == 1 and len(sizes) > 1:
        shown = sizes[~primary]
        if len(shown):
            order = pd.DataFrame({"size": shown, "name": shown.index.astype(str)}).sort_values(["size", "name"])
            out[order.index[0]] = True
    return out


def pseudonym(employee_id: str, *, salt: str = "") -> str:
    """A stable pseudonym for blind mode, e.g. "Person 7F3A2C".

    The same id (and salt) always gives the same pseudonym, so a room can follow one person
    across views and reruns; six hex digits of a SHA-256 keep collisions rare (about one in
    three thousand for 10k people, resolved by `pseudonyms`).
    """
    import hashlib

    digest = hashlib.sha256(f"{salt}:{employee_id}".encode()).hexdigest().upper()
    return f"Person {digest[:6]}"


def pseudonyms(ids: list[str] | pd.Series, *, salt: str = "") -> dict[str, str]:
    """id -> pseudonym for many ids, lengthening a digest only where two would collide."""
    import hashlib

    unique = sorted({str(i) for i in ids})
    out = {i: pseudonym(i, salt=salt) for i in unique}
    clashes = pd.Series(out).duplicated(keep=False)
    for i in pd.Series(out)[clashes].index:
        out[i] = "Person " + hashlib.sha256(f"{salt}:{i}".encode()).hexdigest().upper()[:10]
    return out
