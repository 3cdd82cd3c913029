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
