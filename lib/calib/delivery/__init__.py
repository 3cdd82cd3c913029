"""Delivery: team-level DORA metrics and SLO error budgets from validated event tables.

Owns `dora` (deployment frequency, lead time, change failure rate, time to restore per team and
period), `benchmarks` (the DORA performance levels and their boundaries) and `slo` (attainment,
error budget, burn). Team context only: nothing here scores a person. Imports only `inputs`.
"""
