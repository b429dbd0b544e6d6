"""The EMR on EKS StartJobRun request builder: content, checks against botocore's model and Spark keys."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from spacex_launches.config import load_config
from spacex_launches.emr import (
    EmrRequestError,
    build_job_run_request,
    check_spark_keys,
    client_token,
    submit_parameter_keys,
    validate_request,
)

REPO = Path(__file__).resolve().parents[2]
RUN_DATE = date(2026, 11, 23)


def dev_config(**environ):
    return load_config("dev", environ=environ)


def test_request_for_dev_has_the_job_the_logs_and_the_spark_settings():
    request = build_job_run_request(dev_config(), RUN_DATE, version="abc1234")
    base = "s3://spacex-artifacts-dev/spacex-launches/abc1234"
    driver = request["jobDriver"]["sparkSubmitJobDriver"]
    assert request["name"] == "spacex-launches-etl-dev-2026-11-23"
    assert request["releaseLabel"] == "emr-7.13.0-latest"
    assert driver["entryPoint"] == f"{base}/launches_etl.py"
    args = driver["entryPointArguments"]
    assert args[:6] == ["--env", "dev", "--lake", "s3://spacex-lake-dev", "--ingest-date", "2026-11-23"]
    assert args[6] == "--run-id" and args[7].startswith("dev-20261123-")
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
    assert all(jar.startswith("/usr/share/aws/redshift/") for jar in props["spark.jars"].split(","))
    assert props["spark.archives"] == f"{base}/resources.zip#resources"

    monitoring = request["configurationOverrides"]["monitoringConfiguration"]
    assert monitoring == {
        "persistentAppUI": "ENABLED",
        "cloudWatchMonitoringConfiguration": {
            "logGroupName": "/emr-on-eks/spacex-launches-dev",
            "logStreamNamePrefix": "spacex-launches",
        },
        "s3MonitoringConfiguration": {"logUri": "s3://spacex-logs-dev/emr-on-eks/"},
    }
    assert request["retryPolicyConfiguration"] == {"maxAttempts": 2}
    assert request["tags"] == {"env": "dev", "git_sha": "abc1234", "job": "spacex-launches-etl"}


def test_spot_decommissioning_settings_from_conf_pass_the_key_check():
    """Executors run on Spot: the decommissioning keys in conf emr.spark_conf reach spark-defaults and are
    known keys (a misspelt one would be silently ignored by Spark, so the check refuses it)."""
    for env in ("dev", "prod"):
        config = load_config(env, environ={})
        props = build_job_run_request(config, RUN_DATE, version="abc1234")["configurationOverrides"][
            "applicationConfiguration"
        ][0]["properties"]
        for key in (
            "spark.decommission.enabled",
            "spark.storage.decommission.enabled",
            "spark.storage.decommission.shuffleBlocks.enabled",
            "spark.storage.decommission.rddBlocks.enabled",
        ):
            assert props[key] == "true", (env, key)
    config = dev_config()
    config["emr"]["spark_conf"] = {"spark.storage.decommission.shuffleBlock.enabled": "true"}
    suggestion = re.escape("did you mean 'spark.storage.decommission.shuffleBlocks.enabled'")
    with pytest.raises(EmrRequestError, match=suggestion):
        build_job_run_request(config, RUN_DATE, version="abc1234")


def test_no_job_submitter_classification_without_a_selector():
    config = dev_config()
    del config["emr"]["job_submitter_node_selector"]
    request = build_job_run_request(config, RUN_DATE, version="abc1234")
    assert [c["classification"] for c in request["configurationOverrides"]["applicationConfiguration"]] == [
        "spark-defaults"
    ]


def test_prod_request_builds_and_points_at_prod():
    request = build_job_run_request(load_config("prod", environ={}), RUN_DATE, version="abc1234")
    assert request["executionRoleArn"].endswith("spacex-emr-job-execution-prod")
    assert request["tags"]["env"] == "prod"


def test_every_value_from_conf_can_come_from_the_environment():
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
    assert "s3://other-lake" in request["jobDriver"]["sparkSubmitJobDriver"]["entryPointArguments"]
    assert "/other/group" in text and "other-prefix" in text and "s3://other-logs/" in text
    assert "spacex-artifacts-dev" not in text and "spacex-lake-dev" not in text


def test_client_token_is_deterministic_per_env_job_and_date():
    token = client_token("dev", "job", RUN_DATE)
    assert token == client_token("dev", "job", RUN_DATE)
    others = {
        client_token("prod", "job", RUN_DATE),
        client_token("dev", "other", RUN_DATE),
        client_token("dev", "job", date(2026, 11, 24)),
        client_token("dev", "job", RUN_DATE, rerun=1),
    }
    assert token not in others and len(others) == 4
    first = build_job_run_request(dev_config(), RUN_DATE, version="a")
    assert first["clientToken"] == build_job_run_request(dev_config(), RUN_DATE, version="b")["clientToken"]
    assert first["clientToken"] == client_token("dev", "spacex-launches-etl", RUN_DATE)


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("spark.executors.memory", "spark.executor.memory"),
        ("spark.dynamicAllocation.maxExecutor", "spark.dynamicAllocation.maxExecutors"),
        ("spark.kubernetes.driver.podTemplate", "spark.kubernetes.driver.podTemplateFile"),
    ],
)
def test_unknown_spark_key_is_rejected_with_the_closest_known_key(key, suggestion):
    config = dev_config()
    config["emr"]["spark_conf"] = {key: "4g"}
    with pytest.raises(EmrRequestError, match="unknown Spark conf key") as error:
        build_job_run_request(config, RUN_DATE, version="abc1234")
    assert repr(key) in str(error.value) and repr(suggestion) in str(error.value)


def test_unknown_key_in_spark_submit_parameters_is_rejected():
    request = build_job_run_request(dev_config(), RUN_DATE, version="abc1234")
    request["jobDriver"]["sparkSubmitJobDriver"]["sparkSubmitParameters"] += " --conf spark.executors.cores=4"
    with pytest.raises(EmrRequestError, match=r"sparkSubmitParameters: 'spark.executors.cores'"):
        validate_request(request)


def test_known_prefixes_are_open_ended():
    check_spark_keys(
        ["spark.hadoop.fs.s3a.endpoint", "spark.kubernetes.driverEnv.X", "spark.sql.catalog.glue"], "test"
    )


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


def test_package_builds_a_self_contained_python_zip(tmp_path):
    spec = importlib.util.spec_from_file_location("package_script", REPO / "jobs" / "package.py")
    package_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package_script)

    assert package_script.main(["--version", "t1", "--dist", str(tmp_path / "dist")]) == 0
    dist = tmp_path / "dist"
    manifest = json.loads((dist / "MANIFEST.json").read_text())
    assert manifest["version"] == "t1"
    assert set(manifest["files"]) == {
        "launches_etl.py",
        "spacex_launches.zip",
        "resources.zip",
        "pod-templates/driver.yaml",
        "pod-templates/executor.yaml",
    }
    names = set(zipfile.ZipFile(dist / "resources.zip").namelist())
    assert {"conf/dev.yaml", "conf/prod.yaml", "sql/load_table.sql", "sql/checks/row_counts.sql"} <= names
    # The deployed platform's values travel too: the driver reads redshift.jdbc_url from them.
    assert {"conf/dev.outputs.yaml", "conf/prod.outputs.yaml"} <= names
    # The zip alone (no site-packages: -S) gives the package and its YAML parser.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import yaml, spacex_launches.emr, spacex_launches.config;"
        "print(yaml.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(dist / "spacex_launches.zip")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "spacex_launches.zip" in result.stdout
