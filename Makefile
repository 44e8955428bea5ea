# `make demo` and `make test` work on a fresh machine with only Python >= 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNS := runs

.PHONY: setup demo test lint bench-speed bench-recorder clean mbpoll qt-libs

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

test: $(STAMP) mbpoll qt-libs
	$(BIN)/python -m pytest -q

# Debian's mbpoll: an independent Modbus client the driver tests talk to the served simulator with.
mbpoll:
	@command -v mbpoll >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mbpoll >/dev/null; } \
	  || echo "mbpoll is not installed (needs root and apt-get): its interoperability test is skipped"

# The system libraries PySide6 loads on the offscreen platform (the GUI tests), as soname:Debian package.
QT_LIBS := libEGL.so.1:libegl1 libGL.so.1:libgl1 libxkbcommon.so.0:libxkbcommon0 libfontconfig.so.1:libfontconfig1 \
  libglib-2.0.so.0:libglib2.0-0 libdbus-1.so.3:libdbus-1-3
qt-libs:
	@missing=$$(for lib in $(QT_LIBS); do /sbin/ldconfig -p | grep -q "$${lib%%:*} " || echo "$${lib#*:}"; done); \
	  [ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	  || { echo "the GUI tests need these system packages (install them as root): $$missing"; exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check .

# The recorder's rate to the run file and the export of a 1,000,000-sample run.
bench-recorder: $(STAMP)
	$(BIN)/python bench/recorder.py

# The simulation speed benchmark against PyBaMM's SPMe; pybamm is installed for it alone (not a dependency).
bench-speed: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'pybamm>=25.1'
	$(BIN)/python bench/sim_speed.py

clean:
	rm -rf $(VENV) $(RUNS)
