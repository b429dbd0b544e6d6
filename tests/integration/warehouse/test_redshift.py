"""The Redshift loader resolves its credentials from Secrets Manager (moto's server): the secret's
password reaches only the connector's password option, never logs or descriptions; a missing secret is
named."""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import pytest

from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import ConfigError
from spacex_launches.lake.catalog import TableSnapshot
from spacex_launches.warehouse import loader_for
from spacex_launches.warehouse.redshift import RedshiftLoader, write_options

PASSWORD = "not-a-real-password-" + uuid.uuid4().hex

LAUNCHES = TableSnapshot("launches", "0b6e1d51-5a0e-4c8e-9d1e-2f1b2c3d4e5f", 4422668105435556124, 7)
CORES = TableSnapshot("launch_cores", "6f1a0b2c-3d4e-4f50-8a1b-2c3d4e5f6a7b", 2910051766485292412, 9)
PENDING = {"launches": LAUNCHES, "launch_cores": CORES}


def test_the_loader_resolves_its_secret_from_secrets_manager(aws_env, caplog):
    caplog.set_level(logging.INFO)
    secret_id = f"spacex/dev/redshift-{uuid.uuid4().hex[:6]}"
    boto3.client("secretsmanager").create_secret(
        Name=secret_id,
        SecretString=json.dumps(
            {
                "host": "ignored",
                "port": 5439,
                "dbname": "spacex",
                "username": "spacex_loader",
                "password": PASSWORD,
            }
        ),
    )
    loader = loader_for("redshift", load_settings("dev", environ={"REDSHIFT_SECRET_ID": secret_id}))
    assert isinstance(loader, RedshiftLoader)
    assert (loader.credentials.user, loader.credentials.password) == ("spacex_loader", PASSWORD)
    url_host = load_settings("dev", environ={}).redshift.jdbc_url.split("//", 1)[1].split(":", 1)[0]
    assert loader.host == url_host != "ignored"  # the URL's (conf/dev.outputs.yaml), not the secret's
    assert (
        write_options(loader.settings, loader.credentials, PENDING, "launches", "r1")["password"] == PASSWORD
    )
    assert PASSWORD not in caplog.text and PASSWORD not in loader.describe()

    with pytest.raises(ConfigError, match="could not be read: ResourceNotFoundException"):
        loader_for("redshift", load_settings("dev", environ={"REDSHIFT_SECRET_ID": "spacex/missing"}))
