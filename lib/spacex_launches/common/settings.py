"""Per-environment settings from conf/<env>.yaml, with documented environment-variable overrides.

conf/<env>.yaml holds only what is its own and names the file it builds on (`extends: aws`, which
`extends: base`); the chain is merged key by key, base first. conf/<env>.outputs.yaml, when present, is
laid over it: the values the deployed platform produced (virtual cluster id, Redshift endpoint, network
ids), written by `make platform-outputs` and never by hand. Environment variables come last.
No secrets live in these files: credentials come from the AWS chain, IAM roles or Secrets Manager.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.spark_keys import check_spark_keys
from spacex_launches.exceptions import ConfigError

PROJECT_DIR = Path(__file__).resolve().parents[3]
ENVIRONMENTS = ("local", "dev", "prod")

# Environment variable -> dotted key in the config. An empty variable is ignored.
ENV_OVERRIDES: dict[str, str] = {
    "SPACEX_LAKE": "lake",
    "SPACEX_INPUT": "input",
    "SPACEX_CORES_INPUT": "cores_input",
    "SPACEX_WAREHOUSE": "warehouse.target",
    "SPACEX_WAREHOUSE_LOCK_TIMEOUT_S": "warehouse.lock_timeout_s",
    "SPACEX_API_BASE_URL": "api.base_url",
    "SPACEX_API_VERSION": "api.version",
    "AWS_ENDPOINT_URL": "s3.endpoint_url",
    "AWS_ENDPOINT_URL_S3": "s3.endpoint_url",
    "SPACEX_S3_PATH_STYLE": "s3.path_style_access",
    # EMR on EKS job request (lib/spacex_launches/orchestration/emr_request.py)
    "EMR_VIRTUAL_CLUSTER_ID": "emr.virtual_cluster_id",
    "EMR_EXECUTION_ROLE_ARN": "emr.execution_role_arn",
    "EMR_RELEASE_LABEL": "emr.release_label",
    "EMR_ARTIFACTS_URI": "emr.artifacts_uri",
    "EMR_ARTIFACTS_VERSION": "emr.artifacts_version",
    "EMR_LOG_GROUP": "emr.log_group",
    "EMR_LOG_STREAM_PREFIX": "emr.log_stream_prefix",
    "EMR_LOG_URI": "emr.log_uri",
    # The Airflow DAG's retries and its EMR task's polling (dags/spacex_launches.py)
    "SPACEX_AIRFLOW_RETRIES": "airflow.retries",
    "SPACEX_AIRFLOW_RETRY_DELAY_S": "airflow.retry_delay_s",
    "SPACEX_EMR_POLL_S": "airflow.emr_poll_s",
    "SPACEX_EMR_TIMEOUT_S": "airflow.emr_timeout_s",
    # Warehouses (lib/spacex_launches/warehouse/): names of secrets and places, never a password
    "POSTGRES_URL": "postgres.url",
    "POSTGRES_SECRET_ID": "postgres.secret_id",
    "REDSHIFT_JDBC_URL": "redshift.jdbc_url",
    "REDSHIFT_SECRET_ID": "redshift.secret_id",
    "REDSHIFT_TEMPDIR": "redshift.tempdir",
    "REDSHIFT_IAM_ROLE_ARN": "redshift.iam_role_arn",
    "REDSHIFT_SCHEMA": "redshift.schema",
}


def conf_dir() -> Path:
    return Path(os.environ.get("SPACEX_CONF_DIR") or PROJECT_DIR / "conf")


def sql_dir() -> Path:
    return Path(os.environ.get("SPACEX_SQL_DIR") or PROJECT_DIR / "sql")


def load_config(env: str = "local", environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read conf/<env>.yaml over the files it extends, lay conf/<env>.outputs.yaml over it if present,
    and apply ENV_OVERRIDES from `environ` (default: os.environ)."""
    if env not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {env!r}: expected one of {', '.join(ENVIRONMENTS)}")
    config = read_layers(env)
    outputs = outputs_path(env)
    if outputs.is_file():
        config = merge(config, read_mapping(outputs))
    return apply_overrides(config, os.environ if environ is None else environ)


def read_layers(name: str, below: tuple[str, ...] = ()) -> dict[str, Any]:
    """conf/<name>.yaml merged over the chain of files it `extends` (base first), without `extends`."""
    path = conf_dir() / f"{name}.yaml"
    layer = read_mapping(path)
    parent = layer.pop("extends", None)
    if parent is None:
        return layer
    if not LAYER_NAME.fullmatch(parent) or not (conf_dir() / f"{parent}.yaml").is_file():
        raise ConfigError(f"{path}: `extends: {parent}` names no file {conf_dir() / parent}.yaml")
    if parent in (*below, name):
        cycle = " -> ".join(f"{n}.yaml" for n in (*below, name, parent))
        raise ConfigError(f"{path}: `extends: {parent}` makes a cycle ({cycle})")
    return merge(read_layers(parent, (*below, name)), layer)


def outputs_path(env: str) -> Path:
    """The generated overlay of deployed-platform values for `env` (see `make platform-outputs`)."""
    return conf_dir() / f"{env}.outputs.yaml"


def read_mapping(path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    check_shape(config, str(path))
    check_spark_sections(config, str(path))
    return config


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`: mappings merge key by key, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in over.items():
        both_maps = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = merge(merged[key], value) if both_maps else copy.deepcopy(value)
    return merged


# `extends: <name>`: another file in the same directory, by its name without .yaml.
LAYER_NAME = re.compile(r"[A-Za-z0-9_-]+")

# The shape of the settings the code reads: a dotted key -> the YAML type it must have when set.
SHAPE: dict[str, type | tuple[type, ...]] = {
    "extends": str,
    "env": str,
    "lake": str,
    "input": str,
    "cores_input": str,
    "api": dict,
    "s3": dict,
    "spark": dict,
    "spark.conf": dict,
    "lakehouse": dict,
    "lakehouse.catalog": str,
    "lakehouse.type": str,
    "lakehouse.database": str,
    "warehouse": dict,
    "warehouse.target": str,
    "warehouse.duckdb_path": str,
    "warehouse.lock_timeout_s": (int, float),
    "postgres": dict,
    "redshift": dict,
    "emr": dict,
    "emr.spark_conf": dict,
    "airflow": dict,
}
SPARK_SECTIONS = ("spark.conf", "emr.spark_conf")  # Spark settings: their keys are checked


def check_shape(config: dict[str, Any], where: str) -> None:
    """Refuse a setting of the wrong type by its file and key (`lake: [a, b]`, `spark: 5`)."""
    for dotted, expected in SHAPE.items():
        kinds = expected if isinstance(expected, tuple) else (expected,)
        value = get_dotted(config, dotted)
        if value is None or (isinstance(value, kinds) and not isinstance(value, bool)):
            continue
        wanted = {dict: "a mapping", str: "a string", int: "a number", float: "a number"}[kinds[0]]
        raise ConfigError(f"{where}: `{dotted}` must be {wanted}, got {type(value).__name__} {value!r:.60}")


def check_spark_sections(config: dict[str, Any], where: str) -> None:
    """Refuse a misspelt Spark key in one file (Spark itself would ignore it silently)."""
    for section in SPARK_SECTIONS:
        check_spark_keys(get_dotted(config, section) or {}, f"{where} `{section}`")


def apply_overrides(config: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    result = copy.deepcopy(config)
    for variable, dotted in ENV_OVERRIDES.items():
        value = environ.get(variable)
        if value:
            set_dotted(result, dotted, value)
    return result


def get_dotted(config: dict[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_dotted(config: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def default_inputs(config: dict[str, Any], lake: str) -> tuple[str, str]:
    """What the job reads when no --input is given: (launches, cores). The config's `input` and
    `cores_input` when set (local: the sample, which is not in the lake), else the lake's raw zones,
    so moving the lake (SPACEX_LAKE, --lake) moves the input with it."""
    raw = LakePaths.at(lake)
    return (
        get_dotted(config, "input") or raw.raw("launches"),
        get_dotted(config, "cores_input") or raw.raw("cores"),
    )


def require(config: dict[str, Any], dotted: str) -> Any:
    value = get_dotted(config, dotted)
    if value in (None, ""):
        raise ConfigError(f"config key {dotted!r} is not set for env {config.get('env')!r}")
    return value
