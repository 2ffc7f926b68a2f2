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
.PHONY: help install reports demo-data test test-slow test-browser lab bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install cxlab with its dependencies

$(DEMO)/truth.json: | $(STAMP)
	$(PY) -m cxlab demo-data --out $(DEMO)

demo-data: $(DEMO)/truth.json ## generate the demo data (if missing) into data/demo

reports: $(STAMP) $(DEMO)/truth.json ## render every report on the demo data into reports/
	$(PY) -m cxlab run --data $(DEMO) --out $(OUT)
	@echo "Open $(OUT)/index.html"

test: $(STAMP) ## run the test suite (what CI runs)
	$(PY) -m pytest -n $(JOBS) -q

test-slow: $(STAMP) ## run the slow tests: long simulations, heavy end-to-end runs
	$(PY) -m pytest -n $(JOBS) -q -m slow

test-browser: $(STAMP) ## render every report in headless Chromium (installs Debian's chromium if missing)
	@command -v chromium >/dev/null || { echo "installing chromium (Debian package)"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	$(PY) -m pytest -q -m browser

lab: $(STAMP) ## open JupyterLab on the notebooks with the project's kernel
	$(PY) -m pip install --quiet -e '.[lab]'
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP) ## benchmark cxlab vs hand-written SQL vs pandas (SCALES="1M 10M 100M" events) into benchmarks/results.md
	$(PY) -m benchmarks.run --scales $(SCALES)

clean: ## remove generated reports and demo data (keeps .venv)
	rm -rf $(OUT) $(DEMO)
