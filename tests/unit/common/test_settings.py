"""conf/<env>.yaml loading (base + overlays) and environment overrides; no secrets in any config file."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pytest

from spacex_launches.common.settings import (
    ENVIRONMENTS,
    PROJECT_DIR,
    conf_dir,
    default_inputs,
    get_dotted,
    load_config,
    merge,
    outputs_path,
    read_layers,
    read_mapping,
    require,
)
from spacex_launches.exceptions import ConfigError


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_loads_with_the_shared_keys(env):
    config = load_config(env, environ={})
    assert config["env"] == env and "extends" not in config
    for key in ("lake", "api.version", "api.max_redirects", "spark.conf", "warehouse.target"):
        assert get_dotted(config, key) is not None, key
    assert get_dotted(config, "spark.conf")["spark.sql.session.timeZone"] == "UTC"  # from base.yaml


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
    assert load_config("local", environ={})["env"] == "local"  # local does not extend aws.yaml


def test_the_default_input_is_the_lakes_raw_zone_and_moves_with_the_lake():
    dev = load_config("dev", environ={})
    assert "input" not in dev and "cores_input" not in dev
    assert default_inputs(dev, dev["lake"]) == (
        "s3://spacex-lake-dev/raw/spacex/launches",
        "s3://spacex-lake-dev/raw/spacex/cores",
    )
    moved = load_config("dev", environ={"SPACEX_LAKE": "s3a://elsewhere/lake"})
    assert default_inputs(moved, moved["lake"]) == (
        "s3a://elsewhere/lake/raw/spacex/launches",
        "s3a://elsewhere/lake/raw/spacex/cores",
    )
    # local reads the sample, which is not in the lake; SPACEX_INPUT still wins over both.
    local = load_config("local", environ={"SPACEX_LAKE": "/tmp/other"})
    assert default_inputs(local, local["lake"]) == ("sample/launches", "sample/cores")
    pinned = load_config("dev", environ={"SPACEX_INPUT": "s3a://b/x", "SPACEX_CORES_INPUT": "s3a://b/y"})
    assert default_inputs(pinned, pinned["lake"]) == ("s3a://b/x", "s3a://b/y")


def test_the_job_reads_the_default_inputs_unless_given_its_own():
    spec = importlib.util.spec_from_file_location("launches_etl", PROJECT_DIR / "jobs" / "launches_etl.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    moved = load_config("dev", environ={"SPACEX_LAKE": "s3a://elsewhere/lake"})
    assert job.job_inputs(job.parse_args(["--env", "dev"]), moved, moved["lake"]) == (
        ["s3a://elsewhere/lake/raw/spacex/launches"],
        ["s3a://elsewhere/lake/raw/spacex/cores"],
    )
    given = job.parse_args(["--env", "dev", "--input", "a.json"])
    assert job.job_inputs(given, moved, moved["lake"]) == (["a.json"], [])  # --input alone: no cores
    both = job.parse_args(["--input", "a.json", "--cores-input", "c.json"])
    assert job.job_inputs(both, moved, moved["lake"]) == (["a.json"], ["c.json"])
    local = load_config("local", environ={})
    assert job.job_inputs(job.parse_args([]), local, "/tmp/lake") == (["sample/launches"], ["sample/cores"])


def test_environment_variables_override_config_values():
    config = load_config(
        "local", environ={"SPACEX_LAKE": "s3a://other/lake", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    )
    assert config["lake"] == "s3a://other/lake"
    assert get_dotted(config, "s3.endpoint_url") == "http://127.0.0.1:9"
    assert load_config("local", environ={"SPACEX_LAKE": ""})["lake"] == "lake"  # empty means unset


def test_unknown_environment_and_missing_key_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown environment 'staging'"):
        load_config("staging")
    with pytest.raises(ConfigError, match=r"'emr\.virtual_cluster_id' is not set for env 'local'"):
        require(load_config("local", environ={}), "emr.virtual_cluster_id")


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
    assert load_config(env, environ={"EMR_VIRTUAL_CLUSTER_ID": "abc"})["emr"]["virtual_cluster_id"] == "abc"


def test_merge_lays_mappings_key_by_key_and_replaces_the_rest():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert merge(base, {"a": {"c": [3]}, "e": {"f": 2}}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {"f": 2}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}, "the base is not modified"


def test_local_has_no_overlay_and_loads_without_one():
    assert not outputs_path("local").exists()
    assert load_config("local", environ={})["env"] == "local"
