"""The EMR on EKS StartJobRun request for one run of the Spark job (following runs: emr_runs.py).

`build_job_run_request` is the one place the request is made: `make submit` (jobs/submit_emr.py) and
the Airflow DAG both send exactly what it returns. The request is checked before it is sent, against
botocore's emr-containers service model and, for every Spark setting, against the known Spark keys
(spark_keys.py: Spark silently ignores an unknown key such as `spark.executors.memory`).

The runtime on the EMR image: the job runs on the image's Python 3.11 (`emr.python.path`; the image's
default `python3` is 3.9 and the code needs 3.11), with our package from the `--py-files` zip and every
third-party module it imports from `pydeps.zip` (built by jobs/package.py for that Python and platform).
Only IMAGE_PYTHON_MODULES come from the image itself.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shlex
import subprocess
from datetime import date
from typing import Any

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.settings import PROJECT_DIR, Settings
from spacex_launches.common.spark_keys import check_spark_keys
from spacex_launches.exceptions import ConfigError, EmrRequestError
from spacex_launches.lake.catalog import EMR_ICEBERG_JAR, CatalogSettings, catalog_conf
from spacex_launches.orchestration.retry_budget import emr_max_attempts

# Artifact names under <emr.artifacts_uri>/<version>/, written by jobs/package.py.
ENTRY_POINT = "launches_etl.py"
LIB_ZIP = "spacex_launches.zip"
RESOURCES_ZIP = "resources.zip"  # conf/ and sql/, unpacked as ./resources in the driver's working dir
PYDEPS_ZIP = "pydeps.zip"  # third-party Python packages, unpacked as ./pydeps (on PYTHONPATH)
JVM_FUNCTIONS_JAR = "spacex-launches-jvm.jar"  # the job's own JVM functions (job/jvm_functions.py)
POD_TEMPLATE_DIR = "pod-templates"

# Python modules the job imports from the EMR image itself: its Spark. Everything else ships.
IMAGE_PYTHON_MODULES = ("pyspark", "py4j")

# Where the Prometheus endpoints are: the driver's UI port. The PodMonitor in k8s/ scrapes these.
DRIVER_UI_PORT = 4040
PROMETHEUS_DRIVER_PATH = "/metrics/prometheus"
PROMETHEUS_EXECUTORS_PATH = "/metrics/executors/prometheus"
METRICS_NAMESPACE = "spacex_launches"  # stable metric names (Spark's default prefix is the app id)
REQUEST_TAG, REQUEST_TAG_LENGTH = "request", 16  # tag: the start of the request's digest


# Spark settings (and spark-submit flags) whose values are comma-separated files for the driver and
# executors. On Spark on Kubernetes a path without a scheme is a file on the submitting machine, uploaded
# through spark.kubernetes.file.upload.path; the image's own files are local://, the run's artifacts s3://.
FILE_LIST_KEYS = (
    "spark.jars",
    "spark.files",
    "spark.archives",
    "spark.submit.pyFiles",
    "spark.kubernetes.driver.podTemplateFile",
    "spark.kubernetes.executor.podTemplateFile",
)
FILE_LIST_FLAGS = {
    "--py-files": "spark.submit.pyFiles",
    "--jars": "spark.jars",
    "--files": "spark.files",
    "--archives": "spark.archives",
}
FILE_SCHEMES = ("local://", "s3://")
DECOMMISSION_PREFIXES = ("spark.decommission.", "spark.storage.decommission.")
CONTAINER_IMAGE_KEY = "spark.kubernetes.container.image"


def artifacts_version(config: Settings, version: str | None = None) -> str:
    """The deployed artifacts to run: an explicit version, emr.artifacts_version (EMR_ARTIFACTS_VERSION),
    else the checkout's git short sha (what `make deploy` uploads by default)."""
    version = version or config.emr.artifacts_version
    if version:
        return str(version)
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ConfigError(
            "no artifacts version: set EMR_ARTIFACTS_VERSION (or VERSION=) or run from git"
        ) from exc
    return sha


def client_token(env: str, job_name: str, run_date: date, attempt: int = 0, digest: str = "") -> str:
    """Idempotency token of one attempt at a run date with one request (`digest`, request_digest):
    sending the same request again (a duplicate submit, a retried task while the run is in flight)
    returns the run already started instead of starting a second one. A new attempt (after a run ended)
    or a changed request (other artifacts, settings, sizes) gets a new token (emr_runs.request_for_next_run
    decides which to send)."""
    key = f"{env}|{job_name}|{run_date.isoformat()}|{attempt}|{digest}"
    return hashlib.sha256(key.encode()).hexdigest()


def request_digest(request: dict[str, Any]) -> str:
    """SHA-256 of a request's content (canonical JSON), before the token, run id and tags are added."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def job_run_name(config: Settings, run_date: date, job_name: str | None = None) -> str:
    """Every attempt at a run date has this name (ListJobRuns finds them by it)."""
    job_name = job_name or config.spark.app_name or "spacex-launches-etl"
    return f"{job_name}-{config.required.env}-{run_date.isoformat()}"


def etl_arguments(config: Settings, run_date: date) -> list[str]:
    """launches_etl.py's arguments: the ingest_date=<run_date> partitions of the lake's raw zones
    (launches and cores), named here so the request alone says what the run reads."""
    lake = str(config.required.lake)
    return [
        "--env", config.required.env,
        "--input", LakePaths.at(lake).raw("launches"),
        "--cores-input", LakePaths.at(lake).raw("cores"),
        "--lake", lake,
        "--ingest-date", run_date.isoformat(),
    ]  # fmt: skip


def build_job_run_request(
    config: Settings,
    run_date: date,
    version: str | None = None,
    attempt: int = 0,
    *,
    entry_point: str = ENTRY_POINT,
    arguments: list[str] | None = None,
    job_name: str | None = None,
) -> dict[str, Any]:
    """The complete, checked StartJobRun request for attempt `attempt` (0, 1, ...) at `run_date`.

    The job: `entry_point` (an artifact under <emr.artifacts_uri>/<version>/) with `arguments` (default:
    launches_etl.py's, etl_arguments), named `job_name` (default spark.app_name; another entry point
    needs its own, its runs are followed by name). `--run-id <run id>` is appended to the arguments:
    every entry point takes it. The client token hashes the request itself, so a changed request for
    the same date and attempt is a different token (see emr_runs.request_for_next_run)."""
    env = config.required.env
    job_name = job_name or config.spark.app_name or "spacex-launches-etl"
    version = artifacts_version(config, version)
    base = f"{str(config.emr.required.artifacts_uri).rstrip('/')}/{version}"
    lake = str(config.required.lake)
    request = {
        "name": job_run_name(config, run_date, job_name),
        "virtualClusterId": config.emr.required.virtual_cluster_id,
        "executionRoleArn": config.emr.required.execution_role_arn,
        "releaseLabel": config.emr.required.release_label,
        "jobDriver": {
            "sparkSubmitJobDriver": {
                "entryPoint": f"{base}/{entry_point}",
                "entryPointArguments": list(
                    etl_arguments(config, run_date) if arguments is None else arguments
                ),
                "sparkSubmitParameters": spark_submit_parameters(config, base),
            }
        },
        "configurationOverrides": {
            "applicationConfiguration": [
                {"classification": "spark-defaults", "properties": spark_defaults(config, base, lake)},
                *job_submitter_classification(config),
            ],
            "monitoringConfiguration": {
                "persistentAppUI": "ENABLED",
                "cloudWatchMonitoringConfiguration": {
                    "logGroupName": config.emr.required.log_group,
                    "logStreamNamePrefix": config.emr.required.log_stream_prefix,
                },
                "s3MonitoringConfiguration": {"logUri": config.emr.required.log_uri},
            },
        },
        "retryPolicyConfiguration": {"maxAttempts": emr_max_attempts(config)},
    }
    digest = request_digest(request)
    token = client_token(env, job_name, run_date, attempt, digest)
    request["clientToken"] = token
    request["jobDriver"]["sparkSubmitJobDriver"]["entryPointArguments"] += [
        "--run-id",
        f"{env}-{run_date:%Y%m%d}-{token[:8]}",
    ]
    request["tags"] = {
        "env": env,
        "git_sha": version,
        "job": job_name,
        "run_date": run_date.isoformat(),
        "attempt": str(attempt),
        REQUEST_TAG: digest[:REQUEST_TAG_LENGTH],
    }
    validate_request(request)
    return request


def spark_submit_parameters(config: Settings, base: str) -> str:
    """Executor/driver sizing and the Python package, as spark-submit arguments."""
    sizing = {
        "spark.driver.cores": config.emr.driver.required.cores,
        "spark.driver.memory": config.emr.driver.required.memory,
        "spark.executor.cores": config.emr.executors.required.cores,
        "spark.executor.memory": config.emr.executors.required.memory,
    }
    parts = ["--py-files", f"{base}/{LIB_ZIP}"]
    for key, value in sizing.items():
        parts += ["--conf", f"{key}={value}"]
    return shlex.join(parts)


def spark_defaults(config: Settings, base: str, lake: str) -> dict[str, str]:
    """spark-defaults for the run: the Python runtime, pod templates, Prometheus metrics, dynamic
    allocation, the lakehouse catalog, image jars, the conf/ and sql/ resources; extra keys from
    emr.spark_conf last."""
    instances = int(config.emr.executors.required.instances)
    python = str(config.emr.python.required.path)
    annotation = "spark.kubernetes.driver.annotation.prometheus.io"
    servlet = "spark.metrics.conf.*.sink.prometheusServlet"
    conf = {
        # The interpreter the code needs (3.11), not the image's default python3 (3.9), on the driver
        # and (for any Python worker) the executors; third-party packages from pydeps.zip.
        "spark.pyspark.python": python,
        "spark.pyspark.driver.python": python,
        "spark.kubernetes.driverEnv.PYTHONPATH": "pydeps",
        "spark.executorEnv.PYTHONPATH": "pydeps",
        "spark.kubernetes.driver.podTemplateFile": f"{base}/{POD_TEMPLATE_DIR}/driver.yaml",
        "spark.kubernetes.executor.podTemplateFile": f"{base}/{POD_TEMPLATE_DIR}/executor.yaml",
        "spark.kubernetes.driver.label.app": "spacex-launches",
        "spark.kubernetes.executor.label.app": "spacex-launches",
        # Prometheus: driver metrics at PROMETHEUS_DRIVER_PATH, executor metrics at
        # PROMETHEUS_EXECUTORS_PATH, both on the driver's UI port.
        "spark.ui.prometheus.enabled": "true",
        "spark.metrics.namespace": METRICS_NAMESPACE,
        "spark.metrics.appStatusSource.enabled": "true",
        "spark.executor.processTreeMetrics.enabled": "true",
        f"{servlet}.class": "org.apache.spark.metrics.sink.PrometheusServlet",
        f"{servlet}.path": PROMETHEUS_DRIVER_PATH,
        f"{annotation}/scrape": "true",
        f"{annotation}/port": str(DRIVER_UI_PORT),
        f"{annotation}/path": PROMETHEUS_DRIVER_PATH,
        # Dynamic allocation with shuffle tracking (no external shuffle service on Kubernetes).
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.shuffleTracking.enabled": "true",
        "spark.dynamicAllocation.minExecutors": "1",
        "spark.dynamicAllocation.initialExecutors": str(instances),
        "spark.dynamicAllocation.maxExecutors": str(
            instances if config.emr.executors.max_instances is None else config.emr.executors.max_instances
        ),
        # Jars the EMR image ships (the Redshift connector and JDBC driver, the Iceberg runtime) and
        # the job's own JVM functions, one of the run's artifacts.
        "spark.jars": ",".join([*(config.emr.jars or []), EMR_ICEBERG_JAR, f"{base}/{JVM_FUNCTIONS_JAR}"]),
        # conf/ and sql/ for the driver (SPACEX_CONF_DIR / SPACEX_SQL_DIR are read by settings.py), and
        # the Python packages; a Kubernetes driver unpacks both in its working directory before it starts.
        "spark.archives": f"{base}/{RESOURCES_ZIP}#resources,{base}/{PYDEPS_ZIP}#pydeps",
        "spark.kubernetes.driverEnv.SPACEX_CONF_DIR": "resources/conf",
        "spark.kubernetes.driverEnv.SPACEX_SQL_DIR": "resources/sql",
        # The validated zone's Iceberg catalog (lakehouse.* in conf).
        **catalog_conf(CatalogSettings.from_config(config, lake)),
    }
    conf.update({key: str(value) for key, value in (config.emr.spark_conf or {}).items()})
    return conf


def job_submitter_classification(config: Settings) -> list[dict[str, Any]]:
    """The job submitter pod's node selector (emr.job_submitter_node_selector): it runs for the whole job,
    so it belongs on on-demand capacity like the driver (a Spot interruption there fails the run)."""
    selector = config.emr.job_submitter_node_selector or {}
    if not selector:
        return []
    properties = {f"jobsubmitter.node.selector.{key}": str(value) for key, value in selector.items()}
    return [{"classification": "emr-job-submitter", "properties": properties}]


def submit_parameter_keys(parameters: str) -> list[str]:
    """The Spark keys set by `--conf key=value` in a sparkSubmitParameters string."""
    words = shlex.split(parameters)
    return [value.split("=", 1)[0] for flag, value in itertools.pairwise(words) if flag == "--conf"]


def validate_request(request: dict[str, Any]) -> None:
    """Check the request against botocore's StartJobRun input shape (types, required members, lengths,
    patterns, enums) and every Spark key against the known keys."""
    shape = start_job_run_shape()
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(request, shape)
    if report.has_errors():
        raise EmrRequestError(
            f"StartJobRun request does not match the emr-containers model:\n{report.generate_report()}"
        )
    problems = list(_constraint_problems(request, shape, "request"))
    if problems:
        raise EmrRequestError(
            "StartJobRun request does not match the emr-containers model:\n" + "\n".join(problems)
        )
    problems = [f"{where}: {uri!r} {why}" for where, uri, why in file_problems(request)]
    if problems:
        raise EmrRequestError(
            "StartJobRun request names files EMR on EKS cannot fetch:\n" + "\n".join(problems)
        )
    driver = request["jobDriver"]["sparkSubmitJobDriver"]
    check_spark_keys(submit_parameter_keys(driver.get("sparkSubmitParameters", "")), "sparkSubmitParameters")
    for classification in request.get("configurationOverrides", {}).get("applicationConfiguration", []):
        if classification["classification"] == "spark-defaults":
            check_spark_keys(list(classification.get("properties", {})), "spark-defaults")
    decommission_problem(request)


def spark_settings(request: dict[str, Any]) -> dict[str, str]:
    """The request's Spark settings: spark-defaults, then sparkSubmitParameters' --conf (which win)."""
    settings = {}
    for classification in request.get("configurationOverrides", {}).get("applicationConfiguration", []):
        if classification["classification"] == "spark-defaults":
            settings.update(classification.get("properties", {}))
    words = shlex.split(request["jobDriver"]["sparkSubmitJobDriver"].get("sparkSubmitParameters", ""))
    settings.update(
        dict(value.split("=", 1) for flag, value in itertools.pairwise(words) if flag == "--conf")
    )
    return settings


def decommission_problem(request: dict[str, Any]) -> None:
    """Refuse Spark decommissioning on the release image: AWS's EMR on EKS best practices (node
    decommission) need a custom image fixing decom.sh, named by spark.kubernetes.container.image."""
    settings = spark_settings(request)
    on = sorted(
        key
        for key, value in settings.items()
        if key.startswith(DECOMMISSION_PREFIXES) and str(value).lower() == "true"
    )
    if on and not settings.get(CONTAINER_IMAGE_KEY):
        raise EmrRequestError(
            f"{', '.join(on)} on without a custom image ({CONTAINER_IMAGE_KEY}): decommissioning on EMR on "
            "EKS needs an image built from the release image with decom.sh fixed (docs/operating-on-aws.md "
            '"Spot and decommissioning"); turn it off in emr.spark_conf or name the custom image'
        )


def request_files(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, uri) of every file the request makes the driver or executors fetch: the entry point, the
    file lists of sparkSubmitParameters and of spark-defaults (an archive's #name dropped)."""
    driver = request["jobDriver"]["sparkSubmitJobDriver"]
    files = [("jobDriver.entryPoint", driver["entryPoint"])]
    words = shlex.split(driver.get("sparkSubmitParameters", ""))
    lists = [
        (f"sparkSubmitParameters {flag}", value)
        for flag, value in itertools.pairwise(words)
        if flag in FILE_LIST_FLAGS
    ]
    lists += [
        (f"sparkSubmitParameters --conf {value.split('=', 1)[0]}", value.split("=", 1)[1])
        for flag, value in itertools.pairwise(words)
        if flag == "--conf" and value.split("=", 1)[0] in FILE_LIST_KEYS
    ]
    for classification in request.get("configurationOverrides", {}).get("applicationConfiguration", []):
        if classification["classification"] == "spark-defaults":
            properties = classification.get("properties", {})
            lists += [
                (f"spark-defaults {key}", properties[key]) for key in FILE_LIST_KEYS if key in properties
            ]
    for where, value in lists:
        files += [(where, item.strip().partition("#")[0]) for item in value.split(",") if item.strip()]
    return files


def file_problems(request: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Files the request names that EMR on EKS would not find: a bare path (a file on the submitting
    machine, which needs spark.kubernetes.file.upload.path on Spark on Kubernetes) or another scheme."""
    problems = []
    for where, uri in request_files(request):
        if uri.startswith(FILE_SCHEMES):
            continue
        if "://" not in uri:
            why = (
                "has no scheme: on Spark on Kubernetes that is a file on the submitting machine; a file "
                "in the EMR image is local://<path>, the run's artifacts are s3://"
            )
        else:
            why = f"is not one of {', '.join(FILE_SCHEMES)}"
        problems.append((where, uri, why))
    return problems


def start_job_run_shape():
    import botocore.session

    model = botocore.session.get_session().get_service_model("emr-containers")
    return model.operation_model("StartJobRun").input_shape


def _constraint_problems(value: Any, shape, path: str):
    """What ParamValidator leaves out: maximum lengths, regex patterns and enums."""
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                yield from _constraint_problems(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            yield from _constraint_problems(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            yield from _constraint_problems(key, shape.key, f"{path} key {key!r}")
            yield from _constraint_problems(item, shape.value, f"{path}[{key!r}]")
    elif shape.type_name == "string":
        limit, pattern = shape.metadata.get("max"), shape.metadata.get("pattern")
        if limit is not None and len(value) > limit:
            yield f"{path}: longer than {limit} characters"
        if pattern and not re.fullmatch(pattern, value):
            yield f"{path}: {value!r} does not match {pattern}"
        if shape.enum and value not in shape.enum:
            yield f"{path}: {value!r} is not one of {', '.join(shape.enum)}"
    if shape.type_name in ("list", "map") and len(value) > shape.metadata.get("max", len(value)):
        yield f"{path}: more than {shape.metadata['max']} entries"


def log_locations(request: dict[str, Any], job_run_id: str) -> dict[str, str]:
    """Where a run's logs land (EMR on EKS layout: <prefix>/<virtual cluster>/jobs/<job run id>/...)."""
    monitoring = request["configurationOverrides"]["monitoringConfiguration"]
    cloudwatch = monitoring["cloudWatchMonitoringConfiguration"]
    cluster = request["virtualClusterId"]
    log_uri = monitoring["s3MonitoringConfiguration"]["logUri"].rstrip("/")
    return {
        "log_group": cloudwatch["logGroupName"],
        "log_stream_prefix": f"{cloudwatch['logStreamNamePrefix']}/{cluster}/jobs/{job_run_id}",
        "s3_logs": f"{log_uri}/{cluster}/jobs/{job_run_id}/",
    }
