"""conf/<env>.yaml loading (base + overlays) and environment overrides; no secrets in any config file."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import shutil

import pytest

from spacex_launches.common.s3 import S3Settings
from spacex_launches.common.settings import (
    ENVIRONMENTS,
    PROJECT_DIR,
    LakehouseSection,
    PlatformRedshift,
    Section,
    Settings,
    conf_dir,
    default_inputs,
    get_dotted,
    load_config,
    load_settings,
    merge,
    outputs_path,
    read_layers,
    read_mapping,
    resolve_region,
)
from spacex_launches.exceptions import ConfigError
from spacex_launches.warehouse.redshift import RedshiftSettings


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_loads_with_the_shared_keys(env):
    config = load_config(env, environ={})
    assert config["env"] == env and "extends" not in config
    for key in ("lake", "api.version", "api.max_redirects", "spark.conf", "warehouse.target"):
        assert get_dotted(config, key) is not None, key
    assert get_dotted(config, "spark.conf")["spark.sql.session.timeZone"] == "UTC"  # from base.yaml
    typed = load_settings(env, environ={})
    assert typed.env == env and typed.lake == config["lake"] and typed.api.version == config["api"]["version"]
    assert (
        typed.spark.conf == config["spark"]["conf"]
        and typed.warehouse.target == config["warehouse"]["target"]
    )


def test_each_env_file_holds_only_what_differs_and_extends_the_shared_files():
    layers = {name: read_mapping(conf_dir() / f"{name}.yaml") for name in ("base", "aws", *ENVIRONMENTS)}
    assert [layers[name].get("extends") for name in ("base", "aws", "local", "dev", "prod")] == [
        None,
        "base",
        "base",
        "aws",
        "aws",
    ]
    for name, layer in layers.items():  # an overlay repeats nothing it inherits
        if parent := layer.pop("extends", None):
            inherited = read_layers(parent)
            for key in leaf_keys(layer):
                assert get_dotted(layer, key) != get_dotted(inherited, key, object()), f"{name}.yaml: {key}"
    dev, prod = load_config("dev", environ={}), load_config("prod", environ={})
    assert dev["emr"]["spark_conf"] == prod["emr"]["spark_conf"] == layers["aws"]["emr"]["spark_conf"]
    assert dev["platform"]["redshift"] == {
        "database": "spacex",
        "base_capacity_rpu": 8,
        "max_capacity_rpu": 32,
    }
    assert dev["lakehouse"] == {"catalog": "lake", "type": "glue", "database": "spacex_dev"}
    typed = load_settings("dev", environ={})
    assert typed.platform.redshift == PlatformRedshift(
        database="spacex", base_capacity_rpu=8, max_capacity_rpu=32
    )
    assert typed.lakehouse == LakehouseSection(catalog="lake", type="glue", database="spacex_dev")
    assert typed.emr.spark_conf == layers["aws"]["emr"]["spark_conf"]


@pytest.fixture
def conf_copy(tmp_path, monkeypatch):
    """A copy of conf/ that SPACEX_CONF_DIR points at, to break on purpose."""
    conf = shutil.copytree(conf_dir(), tmp_path / "conf")
    monkeypatch.setenv("SPACEX_CONF_DIR", str(conf))
    return conf


def test_extends_refuses_unknown_parents_and_cycles_naming_the_file(conf_copy):
    aws = conf_copy / "aws.yaml"
    aws.write_text(aws.read_text().replace("extends: base", "extends: bsae"))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(aws))}: `extends: bsae` names no file"):
        load_config("dev", environ={})
    aws.write_text(aws.read_text().replace("extends: bsae", "extends: ../conf/base"))
    with pytest.raises(ConfigError, match="names no file"):
        load_config("dev", environ={})
    aws.write_text(aws.read_text().replace("extends: ../conf/base", "extends: dev"))
    with pytest.raises(ConfigError) as error:
        load_config("dev", environ={})
    assert str(error.value) == f"{aws}: `extends: dev` makes a cycle (dev.yaml -> aws.yaml -> dev.yaml)"
    base = conf_copy / "base.yaml"
    base.write_text("extends: base\n" + base.read_text())
    with pytest.raises(
        ConfigError, match=r"base.yaml: `extends: base` makes a cycle \(base.yaml -> base.yaml\)"
    ):
        read_layers("base")


def test_a_misspelt_spark_key_in_any_file_is_refused_by_file_section_and_key(conf_copy):
    base, aws = conf_copy / "base.yaml", conf_copy / "aws.yaml"
    original = base.read_text()
    base.write_text(original.replace("spark.sql.session.timeZone:", "spark.sql.session.timezone:"))
    with pytest.raises(ConfigError) as error:
        load_config("local", environ={})
    assert str(error.value) == (
        f"unknown Spark conf key(s) in {base} `spark.conf`: 'spark.sql.session.timezone' "
        "(did you mean 'spark.sql.session.timeZone'?)"
    )
    base.write_text(original)
    aws.write_text(
        aws.read_text().replace("spark_conf: {}", 'spark_conf: {spark.decomission.enabled: "false"}')
    )
    with pytest.raises(ConfigError, match=rf"in {re.escape(str(aws))} `emr.spark_conf`: 'spark.decomission"):
        load_config("prod", environ={})
    assert load_settings("local", environ={}).env == "local"  # local does not extend aws.yaml


def test_the_default_input_is_the_lakes_raw_zone_and_moves_with_the_lake():
    assert "input" not in load_config("dev", environ={})
    dev = load_settings("dev", environ={})
    assert dev.input is None and dev.cores_input is None
    assert default_inputs(dev, dev.lake) == (
        "s3://spacex-lake-dev/raw/spacex/launches",
        "s3://spacex-lake-dev/raw/spacex/cores",
    )
    moved = load_settings("dev", environ={"SPACEX_LAKE": "s3a://elsewhere/lake"})
    assert default_inputs(moved, moved.lake) == (
        "s3a://elsewhere/lake/raw/spacex/launches",
        "s3a://elsewhere/lake/raw/spacex/cores",
    )
    # local reads the sample, which is not in the lake; SPACEX_INPUT still wins over both.
    local = load_settings("local", environ={"SPACEX_LAKE": "/tmp/other"})
    assert default_inputs(local, local.lake) == ("sample/launches", "sample/cores")
    pinned = load_settings("dev", environ={"SPACEX_INPUT": "s3a://b/x", "SPACEX_CORES_INPUT": "s3a://b/y"})
    assert default_inputs(pinned, pinned.lake) == ("s3a://b/x", "s3a://b/y")


def test_the_job_reads_the_default_inputs_unless_given_its_own():
    spec = importlib.util.spec_from_file_location("launches_etl", PROJECT_DIR / "jobs" / "launches_etl.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    moved = load_settings("dev", environ={"SPACEX_LAKE": "s3a://elsewhere/lake"})
    assert job.job_inputs(job.parse_args(["--env", "dev"]), moved, moved.lake) == (
        ["s3a://elsewhere/lake/raw/spacex/launches"],
        ["s3a://elsewhere/lake/raw/spacex/cores"],
    )
    given = job.parse_args(["--env", "dev", "--input", "a.json"])
    assert job.job_inputs(given, moved, moved.lake) == (["a.json"], [])  # --input alone: no cores
    both = job.parse_args(["--input", "a.json", "--cores-input", "c.json"])
    assert job.job_inputs(both, moved, moved.lake) == (["a.json"], ["c.json"])
    local = load_settings("local", environ={})
    assert job.job_inputs(job.parse_args([]), local, "/tmp/lake") == (["sample/launches"], ["sample/cores"])


def test_environment_variables_override_config_values():
    config = load_settings(
        "local", environ={"SPACEX_LAKE": "s3a://other/lake", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    )
    assert config.lake == "s3a://other/lake"
    assert config.s3.endpoint_url == "http://127.0.0.1:9"
    assert load_settings("local", environ={"SPACEX_LAKE": ""}).lake == "lake"  # empty means unset
    both = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:8"}
    assert load_settings("local", environ=both).s3.endpoint_url == "http://127.0.0.1:8"  # the S3 one wins


def test_unknown_environment_and_missing_key_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown environment 'staging'"):
        load_config("staging")
    with pytest.raises(ConfigError, match="unknown environment 'staging'"):
        load_settings("staging")
    local = load_settings("local", environ={})
    with pytest.raises(ConfigError) as error:
        local.emr.required.virtual_cluster_id  # noqa: B018
    assert str(error.value) == "config key 'emr.virtual_cluster_id' is not set for env 'local'"
    with pytest.raises(ConfigError, match=r"^config key 'emr\.driver\.cores' is not set for env 'local'$"):
        local.emr.driver.required.cores  # noqa: B018
    with pytest.raises(ConfigError, match=r"^config key 'emr\.python' is not set for env 'local'$"):
        local.emr.required.python  # noqa: B018
    with pytest.raises(ConfigError, match=r"^config key 'aws_account_id' is not set for env 'local'$"):
        local.required.aws_account_id  # noqa: B018


SECRET_LOOKING = re.compile(r"(password|secret_access_key|aws_secret|token)\s*:\s*[^\s#]+", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted(conf_dir().glob("*.yaml")), ids=lambda p: p.name)
def test_no_secrets_in_config_files(path):
    text = path.read_text()
    assert not SECRET_LOOKING.search(text), SECRET_LOOKING.search(text)
    assert "AKIA" not in text
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", text), "a URL with credentials in it"


def leaf_keys(node: dict, trail: str = "") -> set[str]:
    keys = set()
    for key, value in node.items():
        dotted = f"{trail}{key}"
        keys |= leaf_keys(value, f"{dotted}.") if isinstance(value, dict) else {dotted}
    return keys


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_generated_outputs_overlay_is_laid_over_the_env_file(env):
    """conf/<env>.outputs.yaml (make platform-outputs) owns its keys; nothing in it is also hand-written
    in conf/<env>.yaml or the files it extends; environment variables still win over both."""
    base, overlay = read_layers(env), read_mapping(outputs_path(env))
    assert leaf_keys(overlay) and not leaf_keys(base) & leaf_keys(overlay)
    config = load_config(env, environ={})
    for key in leaf_keys(overlay):
        assert get_dotted(config, key) == get_dotted(overlay, key), key
    for key in leaf_keys(base):
        assert get_dotted(config, key) == get_dotted(base, key), key
    typed = load_settings(env, environ={})
    assert typed.emr.virtual_cluster_id == overlay["emr"]["virtual_cluster_id"]
    assert typed.platform.network == overlay["platform"]["network"]
    assert load_settings(env, environ={"EMR_VIRTUAL_CLUSTER_ID": "abc"}).emr.virtual_cluster_id == "abc"


def test_merge_lays_mappings_key_by_key_and_replaces_the_rest():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert merge(base, {"a": {"c": [3]}, "e": {"f": 2}}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {"f": 2}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}, "the base is not modified"


def test_local_has_no_overlay_and_loads_without_one():
    assert not outputs_path("local").exists()
    assert load_settings("local", environ={}).env == "local"


def test_a_misspelt_setting_is_an_error_where_it_is_read_never_a_silent_none():
    """Frozen dataclasses with slots: no attribute springs into being, by reading or by writing."""
    config = load_settings("dev", environ={})
    with pytest.raises(AttributeError, match="log_gruop"):
        config.emr.log_gruop  # noqa: B018
    with pytest.raises(AttributeError, match="virtual_clustr_id"):
        config.emr.required.virtual_clustr_id  # noqa: B018
    with pytest.raises(AttributeError):
        config.lakehouse.databse  # noqa: B018
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.emr.log_group = "other"  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        config.emr.log_gruop = "other"  # type: ignore[attr-defined]
    assert not hasattr(config.emr, "__dict__")
    assert config.emr.required.log_group == "/emr-on-eks/spacex-launches-dev"


def attribute_paths(section: Section, mapping: dict, trail: str = "") -> list[str]:
    """The dotted keys of `mapping` that `section` has no field for."""
    missing = []
    for key, value in mapping.items():
        if not hasattr(section, key) or key.startswith("_"):
            missing.append(f"{trail}{key}")
        elif isinstance(getattr(section, key), Section) and isinstance(value, dict):
            missing += attribute_paths(getattr(section, key), value, f"{trail}{key}.")
    return missing


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_typed_settings_name_every_key_the_conf_files_set(env):
    """Nothing the shipped files say is dropped on the way to the dataclasses (a key the dataclasses do
    not name is still accepted in a file, as before: this holds the shipped files to it)."""
    mapping = load_config(env, environ={})
    assert attribute_paths(load_settings(env, environ={}), mapping) == []


def test_from_mapping_takes_the_defaults_for_what_is_absent_and_ignores_unknown_keys():
    config = Settings.from_mapping({"env": "x", "emr": {"log_group": "g"}, "surplus": 1}, environ={})
    assert (config.env, config.emr.log_group, config.warehouse.target, config.lakehouse.type) == (
        "x", "g", "duckdb", "hadoop"
    )  # fmt: skip
    assert config.airflow.retries == 3 and config.maintenance.orphan_window_h == 72
    assert not hasattr(config, "surplus")
    with pytest.raises(ConfigError, match=r"^config key 'emr\.log_uri' is not set for env 'x'$"):
        config.emr.required.log_uri  # noqa: B018


@pytest.mark.parametrize(
    ("config", "environ", "region"),
    [
        ({"region": "eu-west-1", "s3": {"region": "us-west-2"}}, {"AWS_REGION": "ap-south-1"}, "eu-west-1"),
        ({"s3": {"region": "us-west-2"}}, {"AWS_REGION": "ap-south-1"}, "us-west-2"),
        ({}, {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ca-central-1"}, "ap-south-1"),
        ({}, {"AWS_DEFAULT_REGION": "ca-central-1"}, "ca-central-1"),
        ({"region": "", "s3": None}, {}, "us-east-1"),
    ],
)
def test_one_region_order_conf_then_environment_then_us_east_1(config, environ, region):
    assert resolve_region(config, environ) == region
    assert Settings.from_mapping(config, environ).aws_region == region


def test_every_client_takes_the_one_region():
    """S3 (boto3 and S3A), the Redshift connector and Secrets Manager read Settings.aws_region."""
    mapping = merge(load_config("dev", environ={}), {"region": "eu-west-1", "s3": {"region": "us-west-2"}})
    config = Settings.from_mapping(mapping, environ={"AWS_REGION": "ap-south-1"})
    assert S3Settings.from_config(config).region == RedshiftSettings.from_config(config).region == "eu-west-1"
