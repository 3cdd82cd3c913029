"""Adapters that turn vendors' exported tables into canonical inputs (placeholder until written)."""

from __future__ import annotations

import pandas as pd


def expected_columns(fmt: str, name: str) -> list[str]:
    """Columns a vendor's export of this input has (used to find an Excel header)."""
    return []


def adapt(frame: pd.DataFrame, fmt: str, name: str, shown: str) -> pd.DataFrame:
    """Rename and reshape a vendor export into the canonical columns of `name`."""
    raise NotImplementedError
