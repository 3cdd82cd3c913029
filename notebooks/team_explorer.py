# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Team explorer
# One manager's team, person by person: the evidence kept through the cycle, how well each
# criterion is covered by examples, the cycle's expectations, peer feedback counts and the rating
# history. The team's delivery (DORA) and SLOs are the team's results, context for everyone on it,
# never a personal score; per-person telemetry appears only as context the metric policy allows.
# Runs in JupyterLab and Voila (`voila notebooks/team_explorer.ipynb`); pick the team below.

# %% tags=["parameters"]
config: str = "../data_samples/cycle.yml"  # the cycle config
manager_id: str = "E0049"  # whose team
cycle: str = ""  # empty: the config's cycle
employee_id: str = ""  # empty: the team's first person by employee_id
widget_charts: bool = True  # charts as offline anywidgets (Voila; no CDN); False: plain altair charts
export_dir: str = ""  # empty: no export; else a folder for the team's talent map as CSV and XLSX

# %%
import altair as alt  # noqa: E402, RUF100
from IPython.display import Markdown, display  # noqa: E402, RUF100

from calib.apps import explorer  # noqa: E402, RUF100
from calib.outputs import talent  # noqa: E402, RUF100

if widget_charts:
    alt.JupyterChart.enable_offline()  # the chart JavaScript is bundled into the page, not fetched
workbench = explorer.load(config)
chosen_cycle = cycle or workbench.normalized.data.config.cycle
team = explorer.team_table(workbench.normalized, manager_id, chosen_cycle)

# %% [markdown]
# ## The team

# %%
display(team)

# %% [markdown]
# ## Team delivery and SLO trend: the team's results, never a personal score

# %%
for name in sorted(set(team["team"])):
    display(Markdown(f"**{name}**"), explorer.team_trend(workbench.normalized, name))

# %% [markdown]
# ## Person by person
# Evidence timeline by category (grey: the cycle's last fifth), coverage per criterion (criteria
# light on examples are marked), expectations, peer feedback counts, rating and criteria history.

# %%
explorer.explorer_app(
    workbench, manager_id, cycle=chosen_cycle, employee_id=employee_id or None, widget_charts=widget_charts
)

# %% [markdown]
# ## Talent map
# Level alignment (below / meeting / exceeding the current level) with the reasons for each call,
# misleveled candidates (the same call for two cycles, every criterion beyond the bar), and the
# columns the manager and their thought partner fill in. Meeting is the default and a good outcome.

# %%
talent_map = talent.talent_table(workbench.normalized, cycle=chosen_cycle, manager_id=manager_id)
if export_dir:
    display(Markdown("Written: " + ", ".join(str(p) for p in talent.write_talent(talent_map, export_dir))))
display(talent_map)
