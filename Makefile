# cxlab — `make help` lists the targets. Everything installs into .venv from pyproject.toml.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cxlab-installed
DEMO ?= data/demo
OUT ?= reports
JOBS ?= 2
SCALES ?= 1M 10M 100M

.DEFAULT_GOAL := help
.PHONY: help install reports demo-data test lint test-slow test-browser test-postgres test-spark lab bench bench-run clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m compileall -q cxlab  # an editable install is not byte-compiled; where PYTHONDONTWRITEBYTECODE is set, nothing else would
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install cxlab with its dependencies

$(DEMO)/truth.json: | $(STAMP)
	$(PY) -m cxlab demo-data --out $(DEMO)

demo-data: $(DEMO)/truth.json ## generate the demo data (if missing) into data/demo

reports: $(STAMP) $(DEMO)/truth.json ## render every report on the demo data into reports/
	$(PY) -m cxlab run --data $(DEMO) --out $(OUT)
	@echo "Open $(OUT)/index.html"

test: $(STAMP) ## run the test suite (what CI runs)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -q

lint: $(STAMP) ## ruff on cxlab/ tests/ benchmarks/ and mypy on cxlab/ (what CI runs after make test)
	$(VENV)/bin/ruff check cxlab tests benchmarks
	$(VENV)/bin/mypy

test-slow: $(STAMP) ## run the slow tests: long simulations, heavy end-to-end runs
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -q -m slow

test-browser: $(STAMP) ## render every report in headless Chromium (installs Debian's chromium if missing)
	@command -v chromium >/dev/null || { echo "installing chromium (Debian package)"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	$(PY) -m pytest -q -m browser

PG_BINDIR = $(firstword $(shell command -v initdb >/dev/null 2>&1 && dirname "$$(readlink -f "$$(command -v initdb)")") $(wildcard /usr/lib/postgresql/*/bin))

test-postgres: $(STAMP) ## the analyses on a throwaway local PostgreSQL server equal DuckDB's (installs Debian's postgresql if missing)
	@if [ -z "$(PG_BINDIR)" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "test-postgres: PostgreSQL's server programs (initdb, pg_ctl) are missing and installing them needs root: apt-get install postgresql"; exit 1; fi; \
	  echo "installing PostgreSQL (Debian package postgresql)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  pg_lsclusters -h 2>/dev/null | awk '$$4 == "online" {print $$1, $$2}' | while read v c; do pg_ctlcluster "$$v" "$$c" stop; done; \
	fi
	$(PY) -m pip install --quiet -e '.[test,postgres]'
	$(PY) -m pytest -q -m postgres

test-spark: $(STAMP) ## the analyses on Spark in local mode equal DuckDB's (needs Java 17; installs pyspark)
	@command -v java >/dev/null || [ -x "$$JAVA_HOME/bin/java" ] || { echo "test-spark: Java 17 or later is missing (java not on PATH, JAVA_HOME unset): apt-get install openjdk-17-jre-headless"; exit 1; }
	$(PY) -m pip install --quiet -e '.[test,spark]'
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) -m pytest -q -m spark

lab: $(STAMP) ## open JupyterLab on the notebooks with the project's kernel
	$(PY) -m pip install --quiet -e '.[lab]'
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP) ## benchmark cxlab vs hand-written SQL vs pandas (SCALES="1M 10M 100M" events) into benchmarks/results.md
	$(PY) -m benchmarks.run --scales $(SCALES)

bench-run: $(STAMP) $(DEMO)/truth.json ## time `cxlab run` on the demo: fresh kernels, serial, --jobs 2, cache (docs/run-timing.md)
	$(PY) -m compileall -q cxlab  # time the code as installed: byte-compiled
	$(PY) -m benchmarks.run_timing --data $(DEMO)

clean: ## remove generated reports and demo data (keeps .venv)
	rm -rf $(OUT) $(DEMO)
