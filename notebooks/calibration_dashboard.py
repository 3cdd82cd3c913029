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
# # Calibration dashboard

# %% tags=["parameters"]
config: str = "../data_samples/cycle.yml"  # the cycle config (YAML)
results: str = ""  # the folder `calib analyze` wrote for this config; empty: analyse now (cached)
cache: str = "../reports/.cache"  # where analyses and the offline chart bundle are cached
blind: bool = False  # start in blind mode (pseudonyms, no protected attributes)
session: str = ""  # a calibration session to record the meeting in; empty: read-only
store: str = ""  # the session store (SQLite file or postgresql:// URL); empty: the config's
facilitator: str = ""  # who records changes (required with a session)

# %%
from calib.apps.dashboard import widgets as dashboard

app = dashboard.show(
    config=config, results=results, cache=cache, blind=blind, session=session, store=store, facilitator=facilitator
)
