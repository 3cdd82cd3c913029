"""Analyses: what the statistics say about a calibration, as findings and tables.

Owns rater effects (`raters`, `crossed`, `reliability`), forced curves (`curves`), the
engineering/product seam (`seam`), the bias audit (`bias`), evidence health (`evidence`), team
context (`context`), distributions, multiple-comparison corrections (`multiple`), the finding
model (`findings`), the runner that writes findings.json and tables (`runner`) and the reader of
what it wrote (`results`). Pure functions of the frame; imports nothing from outputs or apps.
"""
