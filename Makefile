# Two commands for a newcomer: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.installed
CONFIG := data_samples/cycle.yml
PORT   ?= 8866

# calib hub: the proxy from npm (package.json in lib/calib/hub/node), and a Python every account can run
# (Debian's own, not a build in root's home) with calib installed, for the servers it starts under people's accounts
NODE_DIR   := .hub-node
NODE_STAMP := $(NODE_DIR)/.installed
SYSTEM_PYTHON ?= /usr/bin/python3
HUB_VENV   ?= $(if $(filter 0,$(shell id -u)),/opt/calib/venv,$(CURDIR)/.venv-hub)
HUB_STAMP  := $(HUB_VENV)/.installed
CALIB_SOURCES := $(shell find lib/calib -name '*.py' -o -name '*.json' -o -name '*.j2' 2>/dev/null)

.PHONY: demo test bench lint sample env clean-env notebooks hub-env hub-node

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

env: $(STAMP)  ## create or update the environment

$(NODE_STAMP): lib/calib/hub/node/package.json lib/calib/hub/node/package-lock.json
	@mkdir -p $(NODE_DIR)
	cp lib/calib/hub/node/package.json lib/calib/hub/node/package-lock.json $(NODE_DIR)/
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

hub-node: $(NODE_STAMP)  ## configurable-http-proxy (and the tests' OpenID Connect provider) from npm

$(HUB_STAMP): $(STAMP) $(CALIB_SOURCES)
	@test -x $(HUB_VENV)/bin/python || $(UV) venv --quiet --python $(SYSTEM_PYTHON) $(HUB_VENV)
	$(UV) pip install --quiet --compile-bytecode --python $(HUB_VENV)/bin/python -r requirements.lock
	$(UV) pip install --quiet --compile-bytecode --python $(HUB_VENV)/bin/python --no-deps --reinstall-package calib .
	chmod -R a+rX $(HUB_VENV)
	@touch $@

hub-env: $(HUB_STAMP)  ## the Python calib hub runs people's servers with ($(HUB_VENV))

demo: $(STAMP)  ## serve the calibration dashboard on the bundled sample cycle and open it (the URL carries a fresh token)
	$(BIN)/calib serve $(CONFIG) --port $(PORT)

test: $(STAMP) $(NODE_STAMP) $(HUB_STAMP)  ## the whole suite, the same locally and in CI
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 CALIB_HUB_PYTHON=$(HUB_VENV)/bin/python \
	  $(BIN)/python -m pytest --nbval-lax -p no:cacheprovider

bench: $(STAMP)  ## time and memory of the load/validate/normalize pipeline on a 10k-person org
	$(BIN)/python -m calib.bench

lint: $(STAMP)
	$(BIN)/ruff check lib tests notebooks
	$(BIN)/lint-imports

notebooks: $(STAMP)  ## strip outputs and widget state, then sync each notebook with its py:percent pair
	$(BIN)/nbstripout --extra-keys "metadata.widgets cell.metadata.ExecuteTime" notebooks/*.ipynb
	$(BIN)/jupytext --sync notebooks/*.ipynb

sample: $(STAMP)  ## regenerate data_samples/ from the seeded generator
	$(BIN)/calib generate-sample --out data_samples

clean-env:
	rm -rf $(VENV)
