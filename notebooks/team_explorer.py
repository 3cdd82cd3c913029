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
# # Team explorer

# %% tags=["parameters"]
snapshot: str = ""  # a manager's scoped snapshot, written by `calib explore` (which sets it); empty: cut `config` here
config: str = "../data_samples/cycle.yml"  # the cycle config, read only without a snapshot (JupyterLab, tests)
manager_id: str = "E0049"  # whose people, only without a snapshot (the snapshot names its manager)
cycle: str = ""  # empty: the config's cycle
employee_id: str = ""  # the person shown first; empty: the first direct report by name
last_pairing: str = ""  # the last pairing's date, YYYY-MM-DD; empty: four weeks before the cycle's as-of date
assets: str = ""  # where the offline chart bundle is cached; empty: built in memory

# %%
from calib.apps.explorer import widgets as explorer

app = explorer.show(
    snapshot=snapshot,
    config=config,
    manager_id=manager_id,
    cycle=cycle,
    employee_id=employee_id,
    last_pairing=last_pairing,
    assets=assets,
)
