"""Database credentials from AWS Secrets Manager, resolved at run time and never logged.

The secret is a JSON object in the shape RDS and Redshift use for their own secrets:
{"host": ..., "port": 5439, "dbname": ..., "username": ..., "password": ...}
(`database` and `user` are accepted for `dbname` and `username`). host, port and dbname are optional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from spacex_launches.exceptions import SecretError


@dataclass(frozen=True)
class DatabaseCredentials:
    user: str
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | None = None
    database: str | None = None


def parse_credentials(secret_id: str, text: str) -> DatabaseCredentials:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise SecretError(f"secret {secret_id!r} is not a JSON object")
    user = value.get("username") or value.get("user")
    if not user:
        raise SecretError(f"secret {secret_id!r} has no 'username'")
    port = value.get("port")
    try:
        port = int(port) if port not in (None, "") else None
    except (TypeError, ValueError):
        raise SecretError(f"secret {secret_id!r}: 'port' is not a number") from None
    return DatabaseCredentials(
        user=user,
        password=value.get("password"),
        host=value.get("host"),
        port=port,
        database=value.get("dbname") or value.get("database"),
    )


def database_credentials(secret_id: str, region: str | None = None) -> DatabaseCredentials:
    """Read `secret_id` with the standard AWS credential chain (AWS_ENDPOINT_URL is honoured)."""
    try:
        client = boto3.client("secretsmanager", region_name=region)
        text = client.get_secret_value(SecretId=secret_id)["SecretString"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SecretError(f"secret {secret_id!r} could not be read: {code}") from None
    except (BotoCoreError, KeyError) as exc:
        raise SecretError(f"secret {secret_id!r} could not be read: {type(exc).__name__}") from None
    return parse_credentials(secret_id, text)
