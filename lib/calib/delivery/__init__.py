"""Delivery: team-level DORA metrics and SLO error budgets, computed where the events live.

Owns the query engine (`engine`: DuckDB in this process by default, or a database Ibis reaches),
reading the delivery events where they lie and checking them by queries (`sources`, `checks`),
the metrics as Ibis expressions (`expressions`, `periods`, `dora`: deployment frequency, lead
time, change failure rate, time to restore per team and period), the DORA performance levels
(`benchmarks`) and SLO attainment, error budget and burn (`slo`). Only aggregates come back into
Python. Team context only: nothing here scores a person. Imports only `inputs`.
"""
