# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Calibration report
#
# What the analyses found in one review cycle, for the calibration facilitators and leadership.
# Every figure comes from findings.json and tables/ beside this page, written by `calib analyze`;
# each finding is a question for the room, never a verdict on a person.

# %% tags=["parameters"]
config: str = "../data_samples/cycle.yml"  # the cycle config (YAML)
results: str = ""  # folder with findings.json and tables/ from calib analyze; empty: analyze now
cycle: str = ""  # the cycle to report when analyzing now; empty: the config's cycle
org: str = ""  # only this org or sub-org (teams.org) when analyzing now; empty: the whole org
blind: bool = False  # pseudonyms instead of names and ids; protected attributes hidden
max_rows: int = 50  # most managers or teams in one chart (flagged first); the tables keep all
session: str = ""  # a calibration session whose ratings are after calibration, when analyzing now; empty: none
store: str = ""  # that session's SQLite file or postgresql:// URL; empty: the config's sessions.store or default

# %%
import tempfile

import altair as alt

from calib.outputs.report import sections
from calib.outputs.report.prepare import prepare_results, report_context

alt.renderers.enable("svg")  # static SVG: renders offline, no script from a CDN
if not results:
    results = tempfile.mkdtemp(prefix="calib-report-")
    prepare_results(config, results, cycle=cycle, org=org, blind=blind, session=session or None, store=store or None)
ctx = report_context(results, config, blind=blind, org=org, max_rows=max_rows)
sections.show(sections.engine_header(ctx))  # where the delivery figures were computed (duckdb, pyspark, ...)
sections.show(sections.session_header(ctx))  # which session "after calibration" means (nothing without one)

# %% [markdown]
# ## Headline findings

# %%
sections.show(sections.headline(ctx))

# %% [markdown]
# ## Rating distributions
#
# Shares of each rating by manager, discipline and level, as submitted and after calibration.

# %%
sections.show(sections.rating_distributions(ctx))

# %%
sections.show(sections.calibration_changes(ctx))  # its own heading, only when a session was named

# %% [markdown]
# ## Manager effects

# %%
sections.show(sections.manager_effects(ctx))

# %% [markdown]
# ## Forced-curve check

# %%
sections.show(sections.forced_curve(ctx))

# %% [markdown]
# ## Discipline seam

# %%
sections.show(sections.discipline_seam(ctx))

# %% [markdown]
# ## Bias audit

# %%
sections.show(sections.bias_audit(ctx))

# %% [markdown]
# ## Evidence health and recency

# %%
sections.show(sections.evidence_health(ctx))

# %% [markdown]
# ## Invisible work

# %%
sections.show(sections.invisible_work(ctx))

# %% [markdown]
# ## Team delivery and SLO context

# %%
sections.show(sections.team_context(ctx))

# %% [markdown]
# ## Cycle over cycle

# %%
sections.show(sections.cycle_over_cycle(ctx))

# %% [markdown]
# ## Methods appendix

# %%
sections.show(sections.methods(ctx))

# %% [markdown]
# ## Data lineage

# %%
sections.show(sections.lineage(ctx))
