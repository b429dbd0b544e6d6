"""The EMR on EKS StartJobRun request builder: content, checks against botocore's model and Spark keys."""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import pyspark
import pytest

from rehearsal.stand_in import EMR_TO_LOCAL, StandInError, image_jar_packages
from spacex_launches.common.settings import ENVIRONMENTS, Settings, load_settings
from spacex_launches.common.spark_keys import KNOWN_SPARK_KEYS, KNOWN_SPARK_PREFIXES, check_spark_keys
from spacex_launches.exceptions import ConfigError, EmrRequestError
from spacex_launches.job.session import spark_conf
from spacex_launches.lake.catalog import EMR_ICEBERG_JAR, CatalogSettings, catalog_conf
from spacex_launches.orchestration.emr_request import (
    FILE_SCHEMES,
    build_job_run_request,
    client_token,
    file_problems,
    request_digest,
    request_files,
    submit_parameter_keys,
    validate_request,
)
from spacex_launches.orchestration.emr_runs import MAINTENANCE_ENTRY_POINT, maintenance_job
from spacex_launches.orchestration.run_metrics import job_arguments
from support.paths import REPO
from support.spark import TEST_SESSION_CONF

RUN_DATE = date(2026, 11, 23)


def dev_config(**environ):
    return load_settings("dev", environ=environ)


def with_emr(config: Settings, **values) -> Settings:
    """`config` with other emr.* values (the settings are frozen: a changed copy)."""
    return dataclasses.replace(config, emr=dataclasses.replace(config.emr, **values))


def test_request_for_dev_has_the_job_the_logs_and_the_spark_settings():
    request = build_job_run_request(dev_config(), RUN_DATE, version="abc1234")
    base = "s3://spacex-artifacts-dev/spacex-launches/abc1234"
    driver = request["jobDriver"]["sparkSubmitJobDriver"]
    assert request["name"] == "spacex-launches-etl-dev-2026-11-23"
    assert request["releaseLabel"] == "emr-7.13.0-latest"
    assert driver["entryPoint"] == f"{base}/launches_etl.py"
    args = driver["entryPointArguments"]
    assert args[:10] == [
        "--env",
        "dev",
        "--input",
        "s3://spacex-lake-dev/raw/spacex/launches",
        "--cores-input",
        "s3://spacex-lake-dev/raw/spacex/cores",
        "--lake",
        "s3://spacex-lake-dev",
        "--ingest-date",
        "2026-11-23",
    ]
    assert args[10] == "--run-id" and args[11].startswith("dev-20261123-")
    assert f"--py-files {base}/spacex_launches.zip" in driver["sparkSubmitParameters"]
    assert submit_parameter_keys(driver["sparkSubmitParameters"]) == [
        "spark.driver.cores",
        "spark.driver.memory",
        "spark.executor.cores",
        "spark.executor.memory",
    ]
    assert "--conf spark.executor.memory=4g" in driver["sparkSubmitParameters"]

    defaults, submitter = request["configurationOverrides"]["applicationConfiguration"]
    assert defaults["classification"] == "spark-defaults"
    # EMR's job submitter pod runs for the whole job: on the driver's on-demand NodePool, never on Spot.
    assert submitter == {
        "classification": "emr-job-submitter",
        "properties": {"jobsubmitter.node.selector.workload": "spark-driver"},
    }
    props = defaults["properties"]
    assert props["spark.kubernetes.driver.podTemplateFile"] == f"{base}/pod-templates/driver.yaml"
    assert props["spark.kubernetes.executor.podTemplateFile"] == f"{base}/pod-templates/executor.yaml"
    assert props["spark.ui.prometheus.enabled"] == "true"
    assert props["spark.metrics.conf.*.sink.prometheusServlet.class"].endswith("PrometheusServlet")
    assert props["spark.kubernetes.driver.annotation.prometheus.io/port"] == "4040"
    assert props["spark.dynamicAllocation.enabled"] == "true"
    assert props["spark.dynamicAllocation.shuffleTracking.enabled"] == "true"
    assert props["spark.dynamicAllocation.maxExecutors"] == "4"
    *redshift, iceberg, jvm_functions = props["spark.jars"].split(",")
    assert redshift == [  # EMR 7.13 ships them; from 6.10 on minimal-json.jar is not needed
        "local:///usr/share/aws/redshift/jdbc/RedshiftJDBC.jar",
        "local:///usr/share/aws/redshift/spark-redshift/lib/spark-redshift.jar",
        "local:///usr/share/aws/redshift/spark-redshift/lib/spark-avro.jar",
    ]
    assert iceberg == "local:///usr/share/aws/iceberg/lib/iceberg-spark3-runtime.jar" == EMR_ICEBERG_JAR
    assert jvm_functions == f"{base}/spacex-launches-jvm.jar"  # the job's own, an artifact of the run
    assert props["spark.archives"] == f"{base}/resources.zip#resources,{base}/pydeps.zip#pydeps"
    # The runtime: the image's Python 3.11 (its python3 is 3.9), third-party packages from ./pydeps.
    assert props["spark.pyspark.python"] == props["spark.pyspark.driver.python"] == "/usr/bin/python3.11"
    assert props["spark.kubernetes.driverEnv.PYTHONPATH"] == props["spark.executorEnv.PYTHONPATH"] == "pydeps"
    # The validated zone's Iceberg catalog in Glue, under the request's own lake.
    catalog = catalog_conf(CatalogSettings.from_config(dev_config(), "s3://spacex-lake-dev"))
    assert {key: props[key] for key in catalog} == catalog
    assert props["spark.sql.catalog.lake.type"] == "glue"
    assert props["spark.sql.catalog.lake.warehouse"] == "s3://spacex-lake-dev/validated"

    monitoring = request["configurationOverrides"]["monitoringConfiguration"]
    assert monitoring == {
        "persistentAppUI": "ENABLED",
        "cloudWatchMonitoringConfiguration": {
            "logGroupName": "/emr-on-eks/spacex-launches-dev",
            "logStreamNamePrefix": "spacex-launches",
        },
        "s3MonitoringConfiguration": {"logUri": "s3://spacex-logs-dev/emr-on-eks/"},
    }
    assert request["retryPolicyConfiguration"] == {"maxAttempts": 1}  # EMR retries nothing (retry budget)
    unsent = {key: value for key, value in request.items() if key not in ("clientToken", "tags")}
    unsent["jobDriver"] = json.loads(json.dumps(request["jobDriver"]))
    del unsent["jobDriver"]["sparkSubmitJobDriver"]["entryPointArguments"][-2:]  # --run-id <id>
    digest = request_digest(unsent)
    assert request["tags"] == {
        "env": "dev",
        "git_sha": "abc1234",
        "job": "spacex-launches-etl",
        "run_date": "2026-11-23",
        "attempt": "0",
        "request": digest[:16],
    }
    assert request["clientToken"] == client_token("dev", "spacex-launches-etl", RUN_DATE, 0, digest)


def test_decommissioning_is_off_and_refused_without_a_custom_image():
    """Decommissioning on EMR on EKS needs a custom image (AWS's best practices: decom.sh fixed); without
    one it is refused, never half-on. A misspelt key is still refused by the key check."""
    keys = ("spark.decommission.enabled", "spark.storage.decommission.enabled")
    for env in ("dev", "prod"):
        config = load_settings(env, environ={})
        props = build_job_run_request(config, RUN_DATE, version="abc1234")["configurationOverrides"][
            "applicationConfiguration"
        ][0]["properties"]
        assert not [key for key in props if "decommission" in key.lower()], env
        assert "spark.kubernetes.container.image" not in props
    config = with_emr(dev_config(), spark_conf={key: "true" for key in keys})
    with pytest.raises(EmrRequestError, match=re.escape(f"{', '.join(keys)} on without a custom image")):
        build_job_run_request(config, RUN_DATE, version="abc1234")
    config = with_emr(config, spark_conf={"spark.storage.decommission.enabled": "true"})
    with pytest.raises(
        EmrRequestError, match=r"spark\.storage\.decommission\.enabled on without a custom image"
    ):
        build_job_run_request(config, RUN_DATE, version="abc1234")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/spacex-emr:7.13.0-decom"
    config = with_emr(
        config, spark_conf={**dict.fromkeys(keys, "true"), "spark.kubernetes.container.image": image}
    )
    build_job_run_request(config, RUN_DATE, version="abc1234")  # with its own image: accepted
    config = with_emr(config, spark_conf={"spark.storage.decommission.shuffleBlock.enabled": "true"})
    suggestion = re.escape("did you mean 'spark.storage.decommission.shuffleBlocks.enabled'")
    with pytest.raises(ConfigError, match=suggestion):
        build_job_run_request(config, RUN_DATE, version="abc1234")


def test_no_job_submitter_classification_without_a_selector():
    config = with_emr(dev_config(), job_submitter_node_selector=None)
    request = build_job_run_request(config, RUN_DATE, version="abc1234")
    assert [c["classification"] for c in request["configurationOverrides"]["applicationConfiguration"]] == [
        "spark-defaults"
    ]


def test_prod_request_builds_and_points_at_prod():
    request = build_job_run_request(load_settings("prod", environ={}), RUN_DATE, version="abc1234")
    assert request["executionRoleArn"].endswith("spacex-emr-job-execution-prod")
    assert request["tags"]["env"] == "prod"


def test_the_requests_names_and_places_can_come_from_the_environment():
    request = build_job_run_request(
        dev_config(
            EMR_VIRTUAL_CLUSTER_ID="0123456789abcdefghijklmno",
            EMR_EXECUTION_ROLE_ARN="arn:aws:iam::999988887777:role/other-role",
            EMR_RELEASE_LABEL="emr-7.12.0-latest",
            EMR_ARTIFACTS_URI="s3://other-artifacts/x",
            EMR_ARTIFACTS_VERSION="v42",
            EMR_LOG_GROUP="/other/group",
            EMR_LOG_STREAM_PREFIX="other-prefix",
            EMR_LOG_URI="s3://other-logs/",
            SPACEX_LAKE="s3://other-lake",
        ),
        RUN_DATE,
    )
    text = json.dumps(request)
    assert request["virtualClusterId"] == "0123456789abcdefghijklmno"
    assert request["executionRoleArn"] == "arn:aws:iam::999988887777:role/other-role"
    assert request["releaseLabel"] == "emr-7.12.0-latest"
    assert (
        request["jobDriver"]["sparkSubmitJobDriver"]["entryPoint"]
        == "s3://other-artifacts/x/v42/launches_etl.py"
    )
    arguments = request["jobDriver"]["sparkSubmitJobDriver"]["entryPointArguments"]
    assert "s3://other-lake" in arguments and "s3://other-lake/raw/spacex/launches" in arguments
    assert "s3://other-lake/raw/spacex/cores" in arguments
    assert "/other/group" in text and "other-prefix" in text and "s3://other-logs/" in text
    assert "spacex-artifacts-dev" not in text and "spacex-lake-dev" not in text


def test_client_token_is_deterministic_per_env_job_date_attempt_and_request():
    token = client_token("dev", "job", RUN_DATE, 0, "d")
    assert token == client_token("dev", "job", RUN_DATE, attempt=0, digest="d")
    others = {
        client_token("prod", "job", RUN_DATE, 0, "d"),
        client_token("dev", "other", RUN_DATE, 0, "d"),
        client_token("dev", "job", date(2026, 11, 24), 0, "d"),
        client_token("dev", "job", RUN_DATE, 1, "d"),
        client_token("dev", "job", RUN_DATE, 0, "e"),
    }
    assert token not in others and len(others) == 5
    first = build_job_run_request(dev_config(), RUN_DATE, version="a")
    assert first["clientToken"] == build_job_run_request(dev_config(), RUN_DATE, version="a")["clientToken"]
    # The request itself is in the token: other artifacts, sizes or settings are another request.
    other_version = build_job_run_request(dev_config(), RUN_DATE, version="b")
    config = dev_config()
    bigger = with_emr(config, executors=dataclasses.replace(config.emr.executors, memory="8g"))
    other_size = build_job_run_request(bigger, RUN_DATE, version="a")
    tokens = {request["clientToken"] for request in (first, other_version, other_size)}
    digests = {request["tags"]["request"] for request in (first, other_version, other_size)}
    assert len(tokens) == len(digests) == 3
    second = build_job_run_request(dev_config(), RUN_DATE, version="a", attempt=1)
    assert (
        second["clientToken"] != first["clientToken"]
        and second["tags"]["request"] == first["tags"]["request"]
    )
    assert second["name"] == first["name"] and second["tags"]["attempt"] == "1"
    run_ids = {job_arguments(request)["--run-id"] for request in (first, second)}
    assert len(run_ids) == 2  # each attempt writes its own run report


def test_another_entry_point_is_its_own_job_with_its_own_arguments():
    """How another job (e.g. lake maintenance) gets its request: entry point, arguments, job name."""
    etl = build_job_run_request(dev_config(), RUN_DATE, version="a")
    other = build_job_run_request(
        dev_config(),
        RUN_DATE,
        version="a",
        entry_point="lake_maintenance.py",
        arguments=["--env", "dev", "--lake", "s3://spacex-lake-dev"],
        job_name="spacex-lake-maintenance",
    )
    driver = other["jobDriver"]["sparkSubmitJobDriver"]
    assert driver["entryPoint"] == "s3://spacex-artifacts-dev/spacex-launches/a/lake_maintenance.py"
    assert driver["entryPointArguments"][:4] == ["--env", "dev", "--lake", "s3://spacex-lake-dev"]
    assert driver["entryPointArguments"][4] == "--run-id" and len(driver["entryPointArguments"]) == 6
    assert other["name"] == "spacex-lake-maintenance-dev-2026-11-23" != etl["name"]
    assert other["tags"]["job"] == "spacex-lake-maintenance" and other["clientToken"] != etl["clientToken"]


def test_the_maintenance_request_runs_maintain_lake_from_the_artifacts_as_its_own_job():
    """The weekly DAG's request (emr_runs.maintenance_job): the same builder, another entry point."""
    for env in ("dev", "prod"):
        config = load_settings(env, environ={})
        etl = build_job_run_request(config, RUN_DATE, version="abc1234")
        request = build_job_run_request(config, RUN_DATE, version="abc1234", **maintenance_job(config))
        driver = request["jobDriver"]["sparkSubmitJobDriver"]
        base = f"{config.emr.artifacts_uri.rstrip('/')}/abc1234"
        assert driver["entryPoint"] == f"{base}/{MAINTENANCE_ENTRY_POINT}" == f"{base}/maintain_lake.py"
        assert (REPO / "jobs" / MAINTENANCE_ENTRY_POINT).is_file()  # what jobs/package.py ships
        arguments = job_arguments(request)
        assert arguments["--env"] == env and arguments["--lake"] == config.lake
        assert set(arguments) == {"--env", "--lake", "--run-id"}  # no raw-zone input: the whole lake
        assert arguments["--run-id"] != job_arguments(etl)["--run-id"]
        assert request["name"] == f"spacex-launches-etl-maintenance-{env}-2026-11-23" != etl["name"]
        assert request["tags"]["job"] == "spacex-launches-etl-maintenance"
        assert request["clientToken"] != etl["clientToken"]  # the same date, another job
        # The same Spark settings, catalog and files as the ETL's run: only the job differs.
        assert request["configurationOverrides"] == etl["configurationOverrides"]
        assert (
            driver["sparkSubmitParameters"]
            == etl["jobDriver"]["sparkSubmitJobDriver"]["sparkSubmitParameters"]
        )
        assert file_problems(request) == []
        assert all(uri.startswith(FILE_SCHEMES) for _, uri in request_files(request))
        again = build_job_run_request(config, RUN_DATE, version="abc1234", **maintenance_job(config))
        assert again["clientToken"] == request["clientToken"]  # a retried task returns the same run


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("spark.executors.memory", "spark.executor.memory"),
        ("spark.dynamicAllocation.maxExecutor", "spark.dynamicAllocation.maxExecutors"),
        ("spark.kubernetes.driver.podTemplate", "spark.kubernetes.driver.podTemplateFile"),
    ],
)
def test_unknown_spark_key_is_rejected_with_the_closest_known_key(key, suggestion):
    config = with_emr(dev_config(), spark_conf={key: "4g"})
    with pytest.raises(ConfigError, match="unknown Spark conf key") as error:
        build_job_run_request(config, RUN_DATE, version="abc1234")
    assert repr(key) in str(error.value) and repr(suggestion) in str(error.value)


def test_unknown_key_in_spark_submit_parameters_is_rejected():
    request = build_job_run_request(dev_config(), RUN_DATE, version="abc1234")
    request["jobDriver"]["sparkSubmitJobDriver"]["sparkSubmitParameters"] += " --conf spark.executors.cores=4"
    with pytest.raises(ConfigError, match=r"sparkSubmitParameters: 'spark.executors.cores'"):
        validate_request(request)


def test_known_prefixes_are_open_ended():
    check_spark_keys(
        ["spark.hadoop.fs.s3a.endpoint", "spark.kubernetes.driverEnv.X", "spark.sql.catalog.glue"], "test"
    )


def test_every_spark_key_the_project_sets_passes_the_check():
    """conf/ (spark.conf, emr.spark_conf), the session's S3A settings, both lakehouse catalogs, the EMR
    request and the tests' own session: one check for all of them."""
    keys = set(TEST_SESSION_CONF)
    for env in ENVIRONMENTS:
        config = load_settings(env, environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
        keys |= set(spark_conf(config)) | set(config.emr.spark_conf or {})
        keys |= set(catalog_conf(CatalogSettings.from_config(config, "s3://lake")))
    for env in ("dev", "prod"):
        driver, defaults = request_spark_settings(load_settings(env, environ={}))
        keys |= set(submit_parameter_keys(driver["sparkSubmitParameters"])) | set(defaults)
    expected = {
        "spark.sql.adaptive.advisoryPartitionSizeInBytes",
        "spark.ui.showConsoleProgress",
        "spark.hadoop.fs.s3a.endpoint",
        "spark.sql.catalog.lake.type",
        "spark.dynamicAllocation.shuffleTracking.enabled",
        "spark.pyspark.python",
        "spark.executor.memory",
        "spark.default.parallelism",
    }
    assert expected <= keys
    check_spark_keys(keys, "the project's own settings")


def request_spark_settings(config):
    request = build_job_run_request(config, RUN_DATE, version="abc1234")
    defaults = request["configurationOverrides"]["applicationConfiguration"][0]["properties"]
    return request["jobDriver"]["sparkSubmitJobDriver"], defaults


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("spark.sql.shufle.partitions", "spark.sql.shuffle.partitions"),
        ("spark.ui.enable", "spark.ui.enabled"),
    ],
)
def test_a_misspelt_spark_key_is_refused_with_the_closest_known_key(key, suggestion):
    with pytest.raises(ConfigError) as error:
        check_spark_keys(["spark.sql.session.timeZone", key], "conf/x.yaml `spark.conf`")
    assert str(error.value) == (
        f"unknown Spark conf key(s) in conf/x.yaml `spark.conf`: {key!r} (did you mean {suggestion!r}?)"
    )


SPARK_NAME = re.compile(rb"spark\.[A-Za-z0-9_.-]+")


def test_every_known_spark_key_is_one_spark_itself_names():
    """The hand-kept list holds real keys only: each key and prefix is a string constant in the class
    files of pyspark's own Spark jars (read as zip files, no JVM), where a misspelling is not."""
    jars = sorted((Path(pyspark.__file__).parent / "jars").glob("spark-*.jar"))
    names: set[str] = set()
    for jar in jars:
        with zipfile.ZipFile(jar) as archive:
            for entry in archive.namelist():
                if entry.endswith(".class"):
                    names.update(name.decode() for name in SPARK_NAME.findall(archive.read(entry)))
    assert "spark.sql.shuffle.partitions" in names, f"no Spark config in {jars}"
    assert not (KNOWN_SPARK_KEYS | set(KNOWN_SPARK_PREFIXES)) - names
    assert not {"spark.executors.memory", "spark.sql.shufle.partitions"} & names


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(virtualClusterId="vc-with-dashes"), "virtualClusterId"),
        (lambda r: r.update(executionRoleArn="arn:aws:iam::111122223333:user/someone"), "executionRoleArn"),
        (lambda r: r.update(name="x" * 65), "name: longer than 64"),
        (lambda r: r.update(unexpected="field"), "Unknown parameter"),
        (lambda r: r.pop("virtualClusterId"), "Missing required parameter"),
        (lambda r: r["retryPolicyConfiguration"].update(maxAttempts="2"), "maxAttempts"),
        (
            lambda r: r["configurationOverrides"]["monitoringConfiguration"].update(persistentAppUI="ON"),
            "persistentAppUI",
        ),
    ],
)
def test_request_is_checked_against_the_botocore_model(change, message):
    request = build_job_run_request(dev_config(), RUN_DATE, version="abc1234")
    validate_request(request)
    change(request)
    with pytest.raises(EmrRequestError, match=message):
        validate_request(request)


def test_no_credentials_in_the_request():
    secrets = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"}
    text = json.dumps(build_job_run_request(dev_config(**secrets), RUN_DATE, version="abc1234")).lower()
    for value in secrets.values():
        assert value.lower() not in text
    for word in ("password", "secret", "aws_access_key", "akia", "token="):
        assert word not in text


def test_every_file_the_request_names_is_an_image_file_or_on_s3():
    """On Spark on Kubernetes a bare path is a file of the submitting machine: image files are local://."""
    for env in ("dev", "prod"):
        request = build_job_run_request(load_settings(env, environ={}), RUN_DATE, version="abc1234")
        files = request_files(request)
        assert {where for where, _ in files} >= {
            "jobDriver.entryPoint",
            "sparkSubmitParameters --py-files",
            "spark-defaults spark.jars",
            "spark-defaults spark.archives",
            "spark-defaults spark.kubernetes.driver.podTemplateFile",
        }
        for where, uri in files:
            assert uri.startswith(FILE_SCHEMES), (env, where, uri)
            if "/usr/share/aws/" in uri:
                assert uri.startswith("local:///usr/share/aws/"), (env, where, uri)
        assert not any("minimal-json" in uri for _, uri in files)


@pytest.mark.parametrize(
    ("jar", "message"),
    [
        ("/usr/share/aws/redshift/jdbc/RedshiftJDBC.jar", "has no scheme: on Spark on Kubernetes"),
        ("file:///tmp/x.jar", "is not one of local://, s3://"),
    ],
)
def test_a_jar_without_the_image_scheme_is_refused(jar, message):
    config = dev_config()
    config = with_emr(config, jars=[*config.emr.jars, jar])
    with pytest.raises(EmrRequestError, match=re.escape(f"spark-defaults spark.jars: {jar!r} {message}")):
        build_job_run_request(config, RUN_DATE, version="abc1234")


def test_the_rehearsal_maps_image_files_only_and_refuses_a_bare_path():
    """The stand-in replaces the image's jars by Maven packages; it must not turn a bare path (which EMR
    on EKS would look for on the submitting machine) into a working run."""
    assert EMR_TO_LOCAL and all(jar.startswith("local:///") for jar in EMR_TO_LOCAL)
    request = build_job_run_request(dev_config(), RUN_DATE, version="abc1234")
    jars = request["configurationOverrides"]["applicationConfiguration"][0]["properties"]["spark.jars"]
    for jar in jars.split(","):
        image_jar_packages(jar)  # every jar of the real request is mapped, or fetched from S3 as it is
        if jar.startswith("local://"):
            with pytest.raises(StandInError, match="has no scheme"):
                image_jar_packages(jar.removeprefix("local://"))
    with pytest.raises(StandInError, match="no local equivalent"):
        image_jar_packages("local:///usr/share/aws/redshift/spark-redshift/lib/minimal-json.jar")
