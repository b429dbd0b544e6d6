"""A stand-in for EMR on EKS on one machine (tests and `make rehearsal` only, never the product's path).

moto serves the emr-containers API, but its job runs stay RUNNING and nothing runs. This stand-in lives
in the process that hosts moto's server, watches moto's job runs and carries each one out the way EMR
on EKS would: it runs the request's job with spark-submit, exactly as the request describes it (entry
point, --py-files, spark.archives, spark-defaults, driver environment, artifacts read from the S3
server), uploads the driver's stdout/stderr to the request's S3 and CloudWatch Logs locations in EMR's
layout, and sets the run's final state, reason and details in moto.

What only the EMR image or the EKS cluster has is mapped to a local equivalent (EMR_TO_LOCAL, and):

- the Glue Data Catalog of the Iceberg tables is moto's Glue, and their S3FileIO writes to moto's S3
  (the catalog's glue.endpoint, s3.endpoint, path-style access);
- s3:// (EMRFS on EMR) is read and written by S3A on the moto server (fs.s3.impl); its jars go on the
  driver's classpath (as EMRFS is on the image's), since spark-submit itself reads the artifacts from
  S3 before any --packages jar is loaded;
- the request's interpreter (spark.pyspark.python, /usr/bin/python3.11 on the image) is a clean Python
  of the same version with nothing but pyspark and py4j (the image's Spark) installed: clean_python();
- spark.archives, which a Kubernetes driver unpacks in its working directory before it starts
  (SPARK-33748), are unpacked into the driver's working directory before spark-submit starts;
- spark.kubernetes.driverEnv.X becomes X in the driver's environment; pod templates must exist in S3,
  the rest of spark.kubernetes.* and dynamic allocation mean nothing to local[2] and are left as sent;
- the Redshift warehouse (and its jars) is replaced by PostgreSQL: `job_env` sets the job's warehouse
  (SPACEX_WAREHOUSE, POSTGRES_SECRET_ID) and its JDBC driver is added with --packages;
- EMR returns the run a client token already started; moto starts a new one each time, so the stand-in
  adds that idempotency to moto's backend while it runs (emulate_client_tokens).
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import shlex
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from spacex_launches.common.s3 import S3A_PACKAGES, split_s3_uri
from spacex_launches.common.settings import Settings
from spacex_launches.job.session import s3a_conf
from spacex_launches.lake.catalog import EMR_ICEBERG_JAR, ICEBERG_PACKAGES
from spacex_launches.warehouse.jdbc import POSTGRES_JDBC_PACKAGE

log = logging.getLogger(__name__)

# Jars of the EMR image -> Maven coordinates fetched by spark-submit --packages (None: not needed here,
# because the Redshift warehouse is replaced by PostgreSQL, whose driver is always added). The image
# has the AWS SDK v2 that Iceberg's Glue catalog and S3FileIO use; here it comes with iceberg-aws-bundle.
ICEBERG_AWS_PACKAGE = ICEBERG_PACKAGES.replace("iceberg-spark-runtime-3.5_2.12", "iceberg-aws-bundle")
EMR_TO_LOCAL = {
    EMR_ICEBERG_JAR: f"{ICEBERG_PACKAGES},{ICEBERG_AWS_PACKAGE}",
    "local:///usr/share/aws/redshift/jdbc/RedshiftJDBC.jar": None,
    "local:///usr/share/aws/redshift/spark-redshift/lib/spark-redshift.jar": None,
    "local:///usr/share/aws/redshift/spark-redshift/lib/spark-avro.jar": None,
}
# How EMR on EKS words a run whose driver exited non-zero (the stand-in's wording, modelled on EMR's).
FAILED_DETAILS = (
    "Jobrun failed. Main Spark container terminated with errors (exit code {code}). Please refer to the "
    "logs uploaded to S3/CloudWatch based on your monitoring configuration."
)


class StandInError(RuntimeError):
    """The request asks for something the stand-in cannot map to this machine."""


def image_jar_packages(jar: str) -> list[str]:
    """The Maven packages standing in for one spark.jars entry that is a file of the EMR image (local://),
    [] for one fetched as it is (s3://). Only local:// names an image file: a bare path would be a file of
    the submitting machine on EMR on EKS, so it is refused, never mapped (a mapping would hide it)."""
    if jar.startswith("local://"):
        if jar not in EMR_TO_LOCAL:
            raise StandInError(f"spark.jars: {jar} is in the EMR image only and has no local equivalent")
        return [EMR_TO_LOCAL[jar]] if EMR_TO_LOCAL[jar] else []
    if "://" not in jar:
        raise StandInError(
            f"spark.jars: {jar} has no scheme: EMR on EKS would look for it on the submitting machine "
            "(an image file is local://<path>)"
        )
    return []


def clean_python(root: Path, version: str) -> Path:
    """A Python `version` interpreter with nothing but pyspark and py4j (linked from this one's
    site-packages, as the EMR image's Spark provides them): no project package, no third-party module.
    Returns the interpreter's path."""
    import py4j
    import pyspark

    if f"{sys.version_info.major}.{sys.version_info.minor}" != version:
        raise StandInError(f"the request runs Python {version}; this machine's is {sys.version.split()[0]}")
    python = root / "bin" / "python"
    if not python.exists():
        subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(root)], check=True)
        site = root / "lib" / f"python{version}" / "site-packages"
        for module in (pyspark, py4j):
            (site / Path(module.__file__).parent.name).symlink_to(Path(module.__file__).parent)
    return python


@contextmanager
def client_token_idempotency(backend, sent_tokens: list[str] | None = None) -> Iterator[None]:
    """While active, StartJobRun with a client token that already started a run on the virtual cluster
    returns that run, as EMR does (moto starts a new one); every token sent is appended to sent_tokens."""
    original = backend.start_job_run

    def start_job_run(**request):
        if sent_tokens is not None:
            sent_tokens.append(request["client_token"])
        for job_run in list(backend.job_runs.values()):
            same_cluster = job_run.virtual_cluster_id == request["virtual_cluster_id"]
            if same_cluster and job_run.client_token == request["client_token"]:
                return job_run
        return original(**request)

    backend.start_job_run = start_job_run
    try:
        yield
    finally:
        del backend.start_job_run  # the class's own method again


@dataclass
class Execution:
    """One job run carried out."""

    job_run_id: str
    command: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class EmrOnEksStandIn:
    """Watches moto's emr-containers backend and carries out its new job runs, one at a time.

    `plan` decides per job run (0-based order of arrival): a callable taking (stand-in, moto JobRun);
    the default for every run is `run`. `hold` leaves a run PENDING (a job that never gets capacity)."""

    backend: Any  # moto.emrcontainers.models.EMRContainersBackend
    virtual_cluster_id: str  # the stand-in serves this virtual cluster's job runs only
    endpoint_url: str
    python: Path  # clean_python(...) of python_version
    python_version: str
    work_dir: Path
    job_env: dict[str, str] = field(default_factory=dict)
    plan: list[Callable[[EmrOnEksStandIn, Any], None]] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    sent_tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="emr-on-eks-stand-in", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> EmrOnEksStandIn:
        self._tokens = client_token_idempotency(self.backend, self.sent_tokens)
        self._tokens.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self._tokens.__exit__(*exc_info)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for job_run in list(self.backend.job_runs.values()):
                ours = job_run.virtual_cluster_id == self.virtual_cluster_id
                if not ours or job_run.id in self.seen or job_run.state != "RUNNING":
                    continue
                self.seen.append(job_run.id)
                step = (
                    self.plan[len(self.seen) - 1] if len(self.seen) <= len(self.plan) else EmrOnEksStandIn.run
                )
                try:
                    step(self, job_run)
                except Exception as exc:  # a stand-in failure must not look like the job's
                    log.exception("stand-in could not carry out job run %s", job_run.id)
                    self.errors.append(f"{job_run.id}: {type(exc).__name__}: {exc}")
                    self._finish(job_run, "FAILED", "INTERNAL_ERROR", f"stand-in error: {exc}")
            self._stop.wait(0.2)

    # -- what happens to a job run ---------------------------------------------------------------
    def hold(self, job_run) -> None:
        """Leave the run PENDING, as one waiting for capacity that never comes."""
        job_run.state = "PENDING"
        job_run.state_details = "waiting for driver pod to be scheduled (held by the stand-in)"

    def run(self, job_run) -> Execution:
        """Run the job as the request describes it, upload the driver's logs, set the final state."""
        command, env, cwd = self.prepare(job_run)
        started = time.monotonic()
        result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=1200)
        execution = Execution(
            job_run.id,
            command,
            result.returncode,
            result.stdout,
            result.stderr,
            round(time.monotonic() - started, 1),
        )
        self.executions.append(execution)
        (cwd / "driver-stdout.log").write_text(execution.stdout)
        (cwd / "driver-stderr.log").write_text(execution.stderr)
        self.upload_driver_logs(job_run, execution)
        if execution.exit_code == 0:
            self._finish(job_run, "COMPLETED", None, None)
        else:
            self._finish(job_run, "FAILED", "USER_ERROR", FAILED_DETAILS.format(code=execution.exit_code))
        return execution

    def _finish(self, job_run, state: str, reason: str | None, details: str | None) -> None:
        if job_run.state in ("CANCELLED", "CANCEL_PENDING"):
            return  # cancelled meanwhile: EMR keeps the cancellation
        job_run.failure_reason, job_run.state_details = reason, details
        job_run.finished_at = job_run.created_at
        job_run.state = state

    # -- the request, mapped to this machine -----------------------------------------------------
    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def s3(self):
        return self.client("s3")

    def prepare(self, job_run) -> tuple[list[str], dict[str, str], Path]:
        """(spark-submit command, environment, working directory) for the job run's request."""
        driver = job_run.job_driver["sparkSubmitJobDriver"]
        defaults = {}
        for classification in job_run.configuration_overrides.get("applicationConfiguration", []):
            if classification["classification"] == "spark-defaults":
                defaults.update(classification.get("properties", {}))
        cwd = self.work_dir / job_run.id
        cwd.mkdir(parents=True)
        env = self.driver_environment(defaults)
        conf = dict(defaults)
        packages = [POSTGRES_JDBC_PACKAGE]

        for key in ("spark.pyspark.python", "spark.pyspark.driver.python"):
            wanted = conf.get(key, "python3")
            if wanted != f"/usr/bin/python{self.python_version}":
                raise StandInError(f"{key}={wanted}: the stand-in has Python {self.python_version} only")
            conf[key] = str(self.python)
        jars = []
        for jar in filter(None, conf.pop("spark.jars", "").split(",")):
            packages += image_jar_packages(jar)
            if not jar.startswith("local://"):
                jars.append(jar)
        if jars:
            conf["spark.jars"] = ",".join(jars)
        for archive in filter(None, conf.get("spark.archives", "").split(",")):
            uri, _, name = archive.partition("#")
            self.unpack(uri, cwd / (name or Path(uri).stem))
        for key in ("spark.kubernetes.driver.podTemplateFile", "spark.kubernetes.executor.podTemplateFile"):
            if key in conf:
                bucket, object_key = split_s3_uri(conf[key])
                self.s3().head_object(Bucket=bucket, Key=object_key)  # EMR fails the run without it
        for key, value in defaults.items():  # Iceberg catalogs in Glue: moto's Glue and S3
            if key.startswith("spark.sql.catalog.") and key.endswith(".type") and value == "glue":
                catalog = key.removesuffix(".type")
                conf.update(
                    {
                        f"{catalog}.glue.endpoint": self.endpoint_url,
                        f"{catalog}.s3.endpoint": self.endpoint_url,
                        f"{catalog}.s3.path-style-access": "true",
                        f"{catalog}.client.region": "us-east-1",
                    }
                )
        conf["spark.driver.extraClassPath"] = self.s3a_classpath()
        conf["spark.hadoop.fs.s3.impl"] = "org.apache.hadoop.fs.s3a.S3AFileSystem"
        conf.update(
            s3a_conf(
                Settings.from_mapping({"s3": {"endpoint_url": self.endpoint_url, "region": "us-east-1"}})
            )
        )

        command = [
            str(self.spark_home / "bin" / "spark-submit"),
            "--master",
            "local[2]",
            "--packages",
            ",".join(packages),
        ]
        for key, value in conf.items():
            command += ["--conf", f"{key}={value}"]
        command += shlex.split(driver.get("sparkSubmitParameters", ""))
        command += [driver["entryPoint"], *driver.get("entryPointArguments", [])]
        env["SPARK_HOME"] = str(self.spark_home)
        return command, env, cwd

    @property
    def spark_home(self) -> Path:
        return (
            self.python.parent.parent / "lib" / f"python{self.python_version}" / "site-packages" / "pyspark"
        )

    def s3a_classpath(self) -> str:
        """hadoop-aws and the AWS SDK it declares (S3A_PACKAGES) as local jars, resolved once by Spark's
        own Ivy into ~/.ivy2/jars."""
        coordinates = [package.split(":") for package in S3A_PACKAGES.split(",")]
        jars = [
            Path.home() / ".ivy2" / "jars" / f"{group}_{name}-{version}.jar"
            for group, name, version in coordinates
        ]
        if not all(jar.is_file() for jar in jars):
            script = self.work_dir / "resolve_packages.py"
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text("")
            env = {**self.driver_environment({}), "SPARK_HOME": str(self.spark_home)}
            subprocess.run(
                [str(self.spark_home / "bin" / "spark-submit"), "--packages", S3A_PACKAGES, str(script)],
                env=env,
                capture_output=True,
                check=True,
                timeout=1200,
            )
        return ":".join(map(str, jars))

    def driver_environment(self, defaults: dict[str, str]) -> dict[str, str]:
        """A clean environment (no project virtualenv, no PYTHONPATH of ours): the machine's basics,
        credentials for the local servers, the request's driver environment and the job's stand-ins."""
        env = {
            key: os.environ[key]
            for key in ("PATH", "HOME", "LANG", "JAVA_HOME", "TMPDIR")
            if key in os.environ
        }
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=self.endpoint_url,
        )
        prefix = "spark.kubernetes.driverEnv."
        env.update({key[len(prefix) :]: value for key, value in defaults.items() if key.startswith(prefix)})
        env.update(self.job_env)
        return env

    def unpack(self, uri: str, target: Path) -> None:
        bucket, key = split_s3_uri(uri)
        body = self.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            archive.extractall(target)

    # -- logs where the request's monitoringConfiguration sends them -----------------------------
    def upload_driver_logs(self, job_run, execution: Execution) -> None:
        monitoring = job_run.configuration_overrides.get("monitoringConfiguration", {})
        driver_path = (
            f"{job_run.virtual_cluster_id}/jobs/{job_run.id}/containers/"
            f"spark-{uuid.uuid4().hex[:24]}/spark-{job_run.id}-driver"
        )
        streams = {"stdout": execution.stdout, "stderr": execution.stderr}
        if log_uri := monitoring.get("s3MonitoringConfiguration", {}).get("logUri"):
            bucket, prefix = split_s3_uri(log_uri)
            for name, text in streams.items():
                key = f"{prefix}/{driver_path}/{name}.gz" if prefix else f"{driver_path}/{name}.gz"
                self.s3().put_object(Bucket=bucket, Key=key, Body=gzip.compress(text.encode()))
        cloudwatch = monitoring.get("cloudWatchMonitoringConfiguration", {})
        if group := cloudwatch.get("logGroupName"):
            logs = self.client("logs")
            prefix = cloudwatch.get("logStreamNamePrefix", "")
            for name, text in streams.items():
                stream = f"{prefix}/{driver_path}/{name}".lstrip("/")
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
                now = int(time.time() * 1000)
                events = [{"timestamp": now, "message": line} for line in text.splitlines() if line.strip()]
                for start in range(0, len(events), 5000):
                    logs.put_log_events(
                        logGroupName=group, logStreamName=stream, logEvents=events[start : start + 5000]
                    )
