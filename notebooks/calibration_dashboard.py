# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
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

# %%
from calib.apps.dashboard import widgets as dashboard

app = dashboard.show(config=config, results=results, cache=cache, blind=blind)
