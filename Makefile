# `make demo` and `make test` work on a fresh machine with only Python >= 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNS := runs

.PHONY: setup demo test lint bench-speed clean mbpoll

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "stackpress needs Python >= 3.11, found " + sys.version.split()[0])'
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  echo "Python's venv module is missing; installing python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(RUNS)
	$(BIN)/stackpress run demo --bench sim-hydraulic --out $(RUNS)/demo.sqlite --overwrite
	$(BIN)/stackpress export $(RUNS)/demo.sqlite --to $(RUNS)/demo.csv
	$(BIN)/stackpress export $(RUNS)/demo.sqlite --to $(RUNS)/demo.parquet
	$(BIN)/stackpress report $(RUNS)/demo.sqlite --out $(RUNS)/demo-report
	@echo "run: $(RUNS)/demo.sqlite  export: $(RUNS)/demo.csv, $(RUNS)/demo.parquet  report: $(RUNS)/demo-report/"

test: $(STAMP) mbpoll
	$(BIN)/python -m pytest -q

# Debian's mbpoll: an independent Modbus client the driver tests talk to the served simulator with.
mbpoll:
	@command -v mbpoll >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mbpoll >/dev/null; } \
	  || echo "mbpoll is not installed (needs root and apt-get): its interoperability test is skipped"

lint: $(STAMP)
	$(BIN)/ruff check .

# The simulation speed benchmark against PyBaMM's SPMe; pybamm is installed for it alone (not a dependency).
bench-speed: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'pybamm>=25.1'
	$(BIN)/python bench/sim_speed.py

clean:
	rm -rf $(VENV) $(RUNS)
