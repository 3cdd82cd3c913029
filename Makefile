# Two commands for a newcomer: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.installed
CONFIG := data_samples/cycle.yml
PORT   ?= 8866

.PHONY: demo test bench lint sample env clean-env notebooks

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

env: $(STAMP)  ## create or update the environment

demo: $(STAMP)  ## serve the calibration dashboard on the bundled sample cycle and open it (the URL carries a fresh token)
	$(BIN)/calib serve $(CONFIG) --port $(PORT)

test: $(STAMP)  ## the whole suite, the same locally and in CI
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest --nbval-lax -p no:cacheprovider

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
