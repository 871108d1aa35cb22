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

.PHONY: help install data build dbt-build docs docs-serve test lint fix bench clean robustness
.PHONY: lint-sql lint-changed lint-yaml lint-python conventions slim-build ci-build
.PHONY: pre-commit-install diff install-spark test-spark install-athena parse-athena
.PHONY: spark-cluster-up spark-cluster-down

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

install: $(VENV)/.installed  ## Create .venv and install the project with its dev tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install-spark: $(VENV)/.installed-spark  ## Also install Spark (pyspark, dbt-spark) and Java 17

$(VENV)/.installed-spark: $(VENV)/.installed pyproject.toml
	.ci/install-java
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	$(BIN)/pip check
	touch $@

data: install  ## Generate curated data (SCALE=1 SEED=42)
	$(BIN)/derived generate --scale $(SCALE) --seed $(SEED)

build: install  ## The main job: generate data, build + test + publish the warehouse, docs
	$(BIN)/derived generate --scale $(SCALE) --seed $(SEED) --if-missing
	$(BIN)/derived build --docs
	@# the linkage report (linked from the catalogue) needs the generator's truth file
	if [ -f data/truth/person_truth.parquet ]; then \
		$(BIN)/derived linkage report --warehouse warehouse/private/derived_tables.duckdb \
			--truth data/truth/person_truth.parquet --out target/linkage; \
	else echo "no data/truth/person_truth.parquet: no linkage report"; fi

docs-serve: install  ## Serve the catalogue on http://localhost:8080
	$(BIN)/dbt docs serve --port 8080 --no-browser

# The suite includes the cross-engine test (every mart built on Spark equals DuckDB's), so it
# installs the spark extra and Java first, and fails rather than skips if they are missing.
test: install-spark  ## Run the whole test suite (what CI runs)
	DERIVED_REQUIRE_SPARK=1 $(BIN)/pytest tests/python

install-athena: $(VENV)/.installed-athena  ## Also install dbt-athena (the athena target)

$(VENV)/.installed-athena: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,athena]'
	$(BIN)/pip check
	touch $@

# Parse (and so render every model, test and macro for) the athena target without AWS: the
# placeholders only satisfy the profile's required environment variables (and the
# pseudonymisation key, which a real Athena build must take from its secret store); parse opens
# no connection and reads no data. Writes to its own target path, so it never disturbs the DuckDB manifest.
parse-athena: install-athena  ## dbt parse --target athena (no AWS needed; CI runs it)
	DERIVED_ATHENA_REGION=eu-west-2 \
	DERIVED_ATHENA_S3_STAGING_DIR=s3://placeholder-bucket/athena-results/ \
	DERIVED_ATHENA_WORK_GROUP=primary \
	DERIVED_ATHENA_SCHEMA=derived_tables \
	DERIVED_PSEUDONYMISATION_KEY=parse-only-placeholder \
	$(BIN)/dbt parse --no-partial-parse --target athena --target-path target/athena \
		--log-path logs/athena

# The Spark tests alone, with the incremental proof on Spark (the next day's extract, an
# incremental `dbt run` on the Spark warehouse, every mart equal to DuckDB's full refresh).
test-spark: install-spark  ## The Spark tests: engines equal, incremental, Splink, cluster
	DERIVED_REQUIRE_SPARK=1 DERIVED_SPARK_INCREMENTAL=1 $(BIN)/pytest \
		tests/python/test_cross_engine.py tests/python/test_splink_spark_backend.py \
		tests/python/test_linkage_dialects.py tests/python/test_spark_cluster.py

# A Spark standalone cluster on 127.0.0.1 (a master and 2 workers, each its own JVM, from the
# pyspark distribution; logs and pids in warehouse/spark-cluster/). Build on it with
# `derived build --target spark_cluster`; stop it with `make spark-cluster-down`.
spark-cluster-up: install-spark  ## Start a Spark master + 2 workers on 127.0.0.1
	$(BIN)/derived spark-cluster up

spark-cluster-down: install-spark  ## Stop the Spark standalone cluster
	$(BIN)/derived spark-cluster down

lint: lint-sql lint-yaml lint-python  ## Lint SQL, YAML and Python (the whole project)

# Python that ruff checks: the package, its tests and the CI helpers.
PY_PATHS := src tests/python .ci
# Pull requests lint only the SQL changed against BASE (default origin/main, else main).
BASE ?=

lint-sql: install  ## sqlfluff, dbt templater, every model, analysis and test
	.ci/lint-sql

lint-changed: install  ## sqlfluff on the SQL files changed against BASE (a branch diff)
	.ci/lint-changed-sql $(BASE)

lint-yaml: install  ## yamllint on every YAML file
	$(BIN)/yamllint -s -c .yamllint.yml .

lint-python: install  ## ruff check and ruff format --check
	$(BIN)/ruff check $(PY_PATHS)
	$(BIN)/ruff format --check $(PY_PATHS)

conventions: install  ## Project conventions (dbt-bouncer.yml) on the parsed manifest
	.ci/check-conventions

slim-build: install  ## Build + test only what changed against main's state (CI, PRs)
	.ci/slim-build

ci-build: install  ## Build + test everything (target ci) and keep the state for PRs
	.ci/slim-build --full

# Locally: `make ci-build` on main first (keeps main's state in target/state-main/), then
# `make diff` on the branch.
diff: install  ## Slim build against main's state, then its data diff (target/diff.md)
	.ci/slim-build
	@cat target/diff.md

pre-commit-install: install  ## Install the git pre-commit hooks (.pre-commit-config.yaml)
	$(BIN)/pre-commit install

fix: install  ## Fix what the linters can fix
	.ci/lint-sql --fix
	$(BIN)/ruff check --fix $(PY_PATHS)
	$(BIN)/ruff format $(PY_PATHS)

bench: install  ## Benchmark the generator and the build (SCALE=1)
	$(BIN)/derived bench --scale $(SCALE)

# The main job at each setting of the wide matrix (scales 0.01 to 1, several seeds, calendar
# stress dates), one build after another in a temporary folder; about 2 hours.
ROBUSTNESS_MATRIX ?= wide
robustness: install  ## The main job across scales, seeds and as-of dates (derived robustness)
	$(BIN)/derived robustness --matrix $(ROBUSTNESS_MATRIX)

clean:  ## Remove generated data, warehouses and dbt artefacts (keeps .venv)
	rm -rf data warehouse target logs
