"""The ingest's settings from conf/<env>.yaml: limits with their defaults, refused values named, the
URL kept out of reprs and messages."""

from __future__ import annotations

import pytest

from spacex_launches.common.settings import Settings, load_config, load_settings
from spacex_launches.exceptions import ConfigError
from spacex_launches.ingest.fetch import MIB, FetchSettings


@pytest.fixture
def config() -> Settings:
    return load_settings("local", environ={})


@pytest.fixture
def mapping() -> dict:
    """The merged local conf as a mapping, to change before it is read (Settings.from_mapping)."""
    return load_config("local", environ={})


def test_the_limits_come_from_the_config(config):
    settings = FetchSettings.from_config(config)

    assert settings.url == "https://api.spacexdata.com/v5/launches"
    assert (settings.attempt_deadline, settings.max_redirects) == (120, 5)
    assert (settings.max_body_bytes, settings.max_decoded_bytes) == (32 * MIB, 64 * MIB)


def test_absent_limits_take_the_defaults(mapping):
    for key in ("attempt_deadline_s", "max_body_mb", "max_decompressed_mb", "max_redirects"):
        del mapping["api"][key]

    settings = FetchSettings.from_config(Settings.from_mapping(mapping, environ={}))

    assert (settings.attempt_deadline, settings.max_body_bytes, settings.max_decoded_bytes) == (
        FetchSettings.attempt_deadline,
        FetchSettings.max_body_bytes,
        FetchSettings.max_decoded_bytes,
    )


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("max_body_mb", "lots", "above 0"),
        ("max_decompressed_mb", 0, "above 0"),
        ("attempt_deadline_s", -1, "above 0"),
        ("read_timeout_s", None, "above 0"),
        ("max_attempts", 0, "at least 1"),
        ("max_redirects", -1, "at least 0"),
    ],
)
def test_a_bad_limit_is_refused_by_name(mapping, key, value, rule):
    mapping["api"][key] = value

    with pytest.raises(ConfigError) as error:
        FetchSettings.from_config(Settings.from_mapping(mapping, environ={}))
    assert str(error.value) == f"api.{key} (conf/local.yaml) must be a number {rule}, got {value!r}"


@pytest.mark.parametrize(
    "url", ["ftp://u:Pl4nted@h/launches", "u:Pl4nted@h/launches", "http:///x?token=Pl4nted"]
)
def test_a_url_that_is_not_http_is_refused_masked(config, url):
    with pytest.raises(ConfigError, match=r"the API URL must be http\(s\)://host/") as error:
        FetchSettings.from_config(config, url)
    assert "Pl4nted" not in str(error.value) and "***" in str(error.value)


def test_the_url_stays_out_of_the_settings_repr(config):
    settings = FetchSettings.from_config(config, "https://u:Pl4nted@h/v5/launches?api_key=K3y")

    assert "Pl4nted" not in repr(settings) and "K3y" not in repr(settings)
    assert settings.display_url == "https://u:***@h/v5/launches?api_key=***"
