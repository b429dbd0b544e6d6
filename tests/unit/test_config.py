"""conf/<env>.yaml loading and environment overrides; no secrets in any config file."""

from __future__ import annotations

import re

import pytest

from spacex_launches.config import ENVIRONMENTS, ConfigError, conf_dir, get_dotted, load_config, require


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_loads_with_the_shared_keys(env):
    config = load_config(env, environ={})
    assert config["env"] == env
    for key in ("lake", "input", "api.version", "spark.conf", "warehouse.target"):
        assert get_dotted(config, key) is not None, key


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
