"""Calibration workbench for engineering performance reviews.

The library is a one-way chain, one module per stage:
config -> load -> schemas/validate -> normalize (ratings, dora, slo) -> frame.
"""

__version__ = "0.1.0"
