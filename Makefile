# derived-tables: the two commands a newcomer needs are `make build` and `make test`.
# Everything runs from a local virtual environment (.venv) that `make install` creates.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
SCALE ?= 1
SEED ?= 42

# No telemetry, no network; dbt finds the committed profiles.yml beside the project.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_PROJECT_DIR := $(CURDIR)
export PATH := $(BIN):$(PATH)

.PHONY: help install data build dbt-build docs docs-serve test lint fix bench clean

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install: $(VENV)/.installed  ## Create .venv and install the project with its dev tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

data: install  ## Generate curated data (SCALE=1 SEED=42)
	$(BIN)/derived generate --scale $(SCALE) --seed $(SEED)

build: install  ## The main job: generate data, build + test + publish the warehouse, docs
	$(BIN)/derived generate --scale $(SCALE) --seed $(SEED) --if-missing
	$(BIN)/derived build
	$(BIN)/dbt docs generate --target-path target

docs-serve: install  ## Serve the catalogue on http://localhost:8080
	$(BIN)/dbt docs serve --port 8080 --no-browser

test: install  ## Run the whole test suite (what CI runs)
	$(BIN)/pytest tests/python

lint: install  ## Lint SQL, YAML and Python
	$(BIN)/sqlfluff lint models analyses tests macros
	$(BIN)/yamllint -s .
	$(BIN)/ruff check src tests/python
	$(BIN)/ruff format --check src tests/python

fix: install  ## Fix what the linters can fix
	$(BIN)/sqlfluff fix models analyses tests macros
	$(BIN)/ruff check --fix src tests/python
	$(BIN)/ruff format src tests/python

bench: install  ## Benchmark the generator and the build (SCALE=1)
	$(BIN)/derived bench --scale $(SCALE)

clean:  ## Remove generated data, warehouses and dbt artefacts (keeps .venv)
	rm -rf data warehouse target logs
