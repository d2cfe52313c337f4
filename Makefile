# hope_lite — one-command entry points.
#
#   make lab       set up .venv (CPU torch without an NVIDIA driver), then JupyterLab on notebooks/00_index.ipynb (127.0.0.1 only)
#   make test      set up .venv, then every test: library unit tests, notebooks executed by
#                  papermill (FAST=True) and by nbval, and the real-browser widget tests
#   make figures   regenerate the static preview PNGs in figures/ (plotly ones drawn in Debian's chromium)
#   make bench     speed / memory benchmarks
#   make bench-gpu the GPU measurements as one script under 10 minutes (results/bench-gpu.txt); ARGS="--device cpu": dry run
#   make book      the series as a static, offline HTML book in book/ (every notebook executed, classroom mode)
#   make test-browser   only the real-browser tests (screenshots in test-artifacts/browser/)
#
# Extra arguments go through ARGS, e.g.  make test ARGS="-k memory -x"   make bench ARGS="--help"

SHELL   := /bin/bash
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
# Re-run an install only when its dependency list changes: the notebooks' run time (make lab), then
# what the tests add (make test).
STAMP      := $(VENV)/.hope_lite-installed
TEST_STAMP := $(VENV)/.hope_lite-test-installed
# PyTorch from its CPU wheel index where no NVIDIA driver is found: PyPI's `torch` on Linux is the CUDA
# build (several GB, README "Install"). `make lab TORCH_INDEX=` skips it (PyPI's build), any other URL
# picks another index. The version range is pyproject.toml's, read from there. Only torch comes from that
# index (--no-deps); its pure-Python dependencies come from PyPI with requirements.txt.
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,https://download.pytorch.org/whl/cpu)
TORCH_SPEC  := $(shell sed -n 's/.*"\(torch[<>=!~][^"]*\)".*/\1/p' pyproject.toml | head -n 1)
ARGS    ?=
# JupyterLab port (it moves to the next free port if this one is taken; the URL says which).
PORT    ?= 8888

# Test runs only (never `make lab`, whose kernels need the inline backend and classroom mode):
# FAST mode and a non-GUI matplotlib backend. The browser tests set the inline backend for their
# Voila kernel themselves, so that figures render in the page.
test test-browser: export HOPE_LITE_FAST := 1
test test-browser: export MPLBACKEND := Agg

# nbval runs the committed notebooks in this environment's kernel. The folder is passed only
# when it holds notebooks: git does not keep an empty folder, and pytest errors on a missing path.
# `make test NBVAL=0` leaves nbval out (papermill still runs every notebook once).
NBVAL       ?= 1
NBVAL_PATHS := $(if $(filter 1,$(NBVAL)),$(if $(wildcard notebooks/*.ipynb),notebooks,),)
NBVAL_OPTS  := $(if $(filter 1,$(NBVAL)),--nbval-lax --nbval-current-env --nbval-cell-timeout=300,)

.PHONY: help venv lab test test-browser figures bench bench-gpu book clean

help:
	@sed -n '2,13p' Makefile | sed 's/^# \{0,1\}//'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(PY) -m pip install --no-deps "$(TORCH_SPEC)" --index-url $(TORCH_INDEX))
	$(PY) -m pip install -r requirements.txt
	@touch $@

$(TEST_STAMP): requirements-test.txt $(STAMP)
	$(PY) -m pip install -r requirements-test.txt
	@touch $@

venv: $(STAMP)

lab: $(STAMP)
	@echo ">>> Starting JupyterLab on 127.0.0.1 (no browser is opened)."
	@echo ">>> Open the http://127.0.0.1:... URL that Jupyter prints below (it carries the token). Ctrl-C twice to stop."
	$(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) --no-browser \
	    $(if $(filter 0,$(shell id -u)),--allow-root) \
	    --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks/00_index.ipynb

# One pytest run: tests/ (unit tests, tests/test_notebooks.py with papermill, tests/browser/)
# plus nbval over notebooks/. -ra lists skip reasons; --durations shows the slowest items.
test: $(TEST_STAMP)
	@mkdir -p test-artifacts
	$(PY) -m pytest tests $(NBVAL_PATHS) $(NBVAL_OPTS) -ra --durations=15 $(ARGS)

# Only the real-browser tests (screenshots land in test-artifacts/browser/).
test-browser: $(TEST_STAMP)
	@mkdir -p test-artifacts
	$(PY) -m pytest tests/browser -m browser -ra $(ARGS)

# The plotly previews are drawn by plotly.js in Debian's chromium, driven by playwright (requirements-test.txt).
figures: $(TEST_STAMP)
	$(PY) -m hope_lite.lessons.figures --out figures $(ARGS)

bench: $(STAMP)
	$(PY) -m hope_lite.bench $(ARGS)

# pytest runs its CUDA tests, so the test packages are installed too
bench-gpu: $(TEST_STAMP)
	$(PY) -m hope_lite.bench_gpu $(ARGS)

# Executes every notebook (papermill, classroom mode) and converts them; read it with
# `python -m http.server -d book -b 127.0.0.1`. ARGS="--fast" for FAST mode.
book: $(TEST_STAMP)
	MPLBACKEND=module://matplotlib_inline.backend_inline $(PY) tools/book.py --out book --record results/book.json $(ARGS)

clean:
	rm -rf test-artifacts .pytest_cache
