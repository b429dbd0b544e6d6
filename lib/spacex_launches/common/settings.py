"""Per-environment settings from conf/<env>.yaml, with documented environment-variable overrides.

conf/<env>.yaml holds only what is its own and names the file it builds on (`extends: aws`, which
`extends: base`); the chain is merged key by key, base first. conf/<env>.outputs.yaml, when present, is
laid over it: the values the deployed platform produced (virtual cluster id, Redshift endpoint, network
ids), written by `make platform-outputs` and never by hand. Environment variables come last.
No secrets live in these files: credentials come from the AWS chain, IAM roles or Secrets Manager.

Code reads typed settings (load_settings -> Settings): the merged mapping is read once into frozen
dataclasses with slots, so `config.emr.log_group` is an attribute and a misspelt name is an
AttributeError where it is written (and for a linter), never a None at run time; `section.required.name`
is the value or ConfigError "config key 'emr.log_group' is not set for env 'local'", raised by the code
that needs it (a local run needs no EMR settings). Plain dataclasses rather than pydantic or attrs: no
new dependency for the job's zip (EMR gets yaml and boto3 beside it, jobs/package.py) nor for Airflow,
which imports this module; and what is checked when a file is read (its shape, the Spark keys, YAML
errors by line) is checked by read_mapping with its own messages, which a validation library would
replace. Values keep the type YAML (or an environment variable: a string) gave them and each reader
converts them as before, so a bad value fails where and how it always did. Keys the dataclasses do not
name are accepted and ignored, as before. load_config (the raw merged mapping) is the first step of
load_settings; tests lay their own values over it and read it back through Settings.from_mapping.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.spark_keys import check_spark_keys
from spacex_launches.exceptions import ConfigError

PROJECT_DIR = Path(__file__).resolve().parents[3]
ENVIRONMENTS = ("local", "dev", "prod")
DEFAULT_REGION = "us-east-1"
SectionT = TypeVar("SectionT", bound="Section")

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


def load_config(env: str = "local", environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read conf/<env>.yaml over the files it extends, lay conf/<env>.outputs.yaml over it if present,
    and apply ENV_OVERRIDES from `environ` (default: os.environ). The raw merged mapping: code reads
    load_settings' typed Settings; this is its first step (and tests lay their own values over it)."""
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


# ---- Typed settings (see the module docstring) -----------------------------------------------------
# A field's default is what the code used when its key is absent; a nested mapping is its own Section.


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One mapping of the config; `_key` is its dotted place ("" for the top, "emr.driver"), `_env` the
    env the whole config is for (for the messages of `required`)."""

    _key: str = field(default="", repr=False, compare=False)
    _env: str | None = field(default=None, repr=False, compare=False)

    @property
    def required(self) -> Any:
        """`section.required.name`: the value of `name`, or ConfigError if it is unset or empty."""
        return Required(self)

    def key(self, name: str) -> str:
        return f"{self._key}.{name}" if self._key else name

    def is_empty(self) -> bool:
        """Nothing in this section differs from its defaults (the conf has no such mapping)."""
        return self == type(self)()


class Required:
    """See Section.required. The name is checked first: a misspelt one is an AttributeError."""

    __slots__ = ("_section",)

    def __init__(self, section: Section):
        self._section = section

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._section, name)
        if value in (None, "") or (isinstance(value, Section) and value.is_empty()):
            raise ConfigError(
                f"config key {self._section.key(name)!r} is not set for env {self._section._env!r}"
            )
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSettings(Section):
    """The SpaceX API and the ingest's bounds (ingest.fetch.FetchSettings checks and converts them)."""

    base_url: str | None = None
    version: Any = "v5"
    connect_timeout_s: Any = 5.0
    read_timeout_s: Any = 30.0
    max_attempts: Any = 5
    backoff_base_s: Any = 1.0
    backoff_max_s: Any = 60.0
    attempt_deadline_s: Any = 120.0
    total_deadline_s: Any = 180.0
    max_body_mb: Any = 32
    max_decompressed_mb: Any = 64
    max_redirects: Any = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Section(Section):
    endpoint_url: str | None = None
    region: str | None = None
    path_style_access: Any = None  # true, false or null (null: path style exactly with an endpoint)


@dataclass(frozen=True, slots=True, kw_only=True)
class LakehouseSection(Section):
    catalog: Any = "lake"
    type: Any = "hadoop"
    database: Any = "spacex"


@dataclass(frozen=True, slots=True, kw_only=True)
class SparkSection(Section):
    app_name: str | None = None
    conf: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WarehouseSection(Section):
    target: str = "duckdb"
    duckdb_path: str | None = None
    lock_timeout_s: Any = 120


@dataclass(frozen=True, slots=True, kw_only=True)
class PostgresSection(Section):
    url: str | None = None
    secret_id: str | None = None
    schema: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RedshiftSection(Section):
    jdbc_url: str | None = None
    secret_id: str | None = None
    tempdir: str | None = None
    iam_role_arn: str | None = None
    schema: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmrExecutors(Section):
    instances: Any = None
    max_instances: Any = None  # default: instances
    cores: Any = None
    memory: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmrDriver(Section):
    cores: Any = None
    memory: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmrPython(Section):
    path: str | None = None
    version: str | None = None
    platform: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "version": self.version, "platform": self.platform}


@dataclass(frozen=True, slots=True, kw_only=True)
class EmrSection(Section):
    virtual_cluster_id: str | None = None
    execution_role_arn: str | None = None
    release_label: str | None = None
    namespace: str | None = None
    artifacts_uri: str | None = None
    artifacts_version: Any = None
    log_group: str | None = None
    log_stream_prefix: str | None = None
    log_uri: str | None = None
    max_attempts: Any = None
    pod_templates: dict[str, str] | None = None  # role (driver, executor) -> file under the project
    executors: EmrExecutors = field(default_factory=EmrExecutors)
    driver: EmrDriver = field(default_factory=EmrDriver)
    python: EmrPython = field(default_factory=EmrPython)
    jars: list[str] | None = None
    job_submitter_node_selector: dict[str, Any] | None = None
    spark_conf: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AirflowSection(Section):
    schedule: str | None = None
    maintenance_schedule: str | None = None
    alert_webhook_variable: str | None = None
    aws_conn_id: str | None = None
    retries: Any = 3
    retry_delay_s: Any = 120
    emr_poll_s: Any = 60
    emr_timeout_s: Any = 7200
    freshness_hours: Any = 36


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceSection(Section):
    snapshot_retention_h: Any = 168
    orphan_window_h: Any = 72
    compaction_min_files: Any = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformRedshift(Section):
    database: str | None = None
    base_capacity_rpu: Any = None
    max_capacity_rpu: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformSection(Section):
    """What infra/ (CDK) and k8s/ read; `network` is conf/<env>.outputs.yaml's, as the stacks wrote it."""

    availability_zones: list[str] | None = None
    log_retention_days: Any = None
    redshift: PlatformRedshift = field(default_factory=PlatformRedshift)
    github_repository: str | None = None
    cluster_name: str | None = None
    vpc_cidr: str | None = None
    nat_gateways: Any = None
    ci_submits_jobs: Any = None
    lake_write_lock: Any = None
    termination_protection: Any = None
    eks_oidc_issuer: str | None = None
    network: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(Section):
    """One environment's settings, built once from the merged mapping (see load_settings)."""

    env: str = "local"
    lake: str | None = None
    input: str | None = None
    cores_input: str | None = None
    region: str | None = None  # the conf's own `region` (aws.yaml); clients use aws_region
    aws_account_id: str | None = None
    aws_region: str = field(default=DEFAULT_REGION, metadata={"derived": True})  # see resolve_region
    api: ApiSettings = field(default_factory=ApiSettings)
    s3: S3Section = field(default_factory=S3Section)
    lakehouse: LakehouseSection = field(default_factory=LakehouseSection)
    spark: SparkSection = field(default_factory=SparkSection)
    warehouse: WarehouseSection = field(default_factory=WarehouseSection)
    postgres: PostgresSection = field(default_factory=PostgresSection)
    redshift: RedshiftSection = field(default_factory=RedshiftSection)
    emr: EmrSection = field(default_factory=EmrSection)
    airflow: AirflowSection = field(default_factory=AirflowSection)
    maintenance: MaintenanceSection = field(default_factory=MaintenanceSection)
    platform: PlatformSection = field(default_factory=PlatformSection)

    @classmethod
    def from_mapping(cls, config: dict[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
        """The typed settings of a merged config (load_config's result); `environ` (default os.environ)
        is read for the region only, when the config names none (resolve_region)."""
        env = config.get("env")
        built = build_section(cls, config, "", env if isinstance(env, str) or env is None else str(env))
        region = resolve_region(config, os.environ if environ is None else environ)
        return replace(built, aws_region=region)


def build_section(cls: type[SectionT], mapping: Any, key: str, env: str | None) -> SectionT:
    """`cls` from the keys of `mapping` it names (a missing or non-mapping value: the defaults)."""
    mapping = mapping if isinstance(mapping, dict) else {}
    values: dict[str, Any] = {}
    for item in fields(cls):
        if item.name.startswith("_") or item.metadata.get("derived"):
            continue
        nested = item.default_factory
        if isinstance(nested, type) and issubclass(nested, Section):  # a nested mapping
            values[item.name] = build_section(
                nested, mapping.get(item.name), f"{key}.{item.name}".lstrip("."), env
            )
        elif item.name in mapping:
            values[item.name] = mapping[item.name]
    return cls(_key=key, _env=env, **values)


def resolve_region(config: dict[str, Any], environ: Mapping[str, str]) -> str:
    """The AWS region of every client this project makes (boto3: S3, Secrets Manager, EMR on EKS, logs;
    S3A's endpoint region; the Redshift connector's tempdir region), in this one order:

    1. `region` in the conf: the environment's AWS region (conf/aws.yaml, so dev and prod);
    2. `s3.region` in the conf: the S3 endpoint's region (conf/base.yaml, so also local runs against a
       local S3-protocol server);
    3. AWS_REGION, then AWS_DEFAULT_REGION in the environment (what the AWS SDKs read);
    4. us-east-1.

    The conf wins over the environment: the region is part of what an environment *is* (its buckets,
    its Glue database, its cluster), not a property of the shell that runs it. The S3 endpoint follows
    the env-over-conf rule of every other setting (AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else
    `s3.endpoint_url`, else AWS itself: ENV_OVERRIDES). Credentials are never read from the conf: every
    client takes them from the standard AWS chain (environment variables, profile, IRSA or instance
    role), and S3A from its default provider chain."""
    s3: dict[str, Any] = config["s3"] if isinstance(config.get("s3"), dict) else {}
    for value in (
        config.get("region"),
        s3.get("region"),
        environ.get("AWS_REGION"),
        environ.get("AWS_DEFAULT_REGION"),
    ):
        if value:
            return str(value)
    return DEFAULT_REGION


def load_settings(env: str = "local", environ: Mapping[str, str] | None = None) -> Settings:
    """The typed settings of `env`: load_config's merged, checked mapping, read once."""
    environ = os.environ if environ is None else environ
    return Settings.from_mapping(load_config(env, environ), environ)


def default_inputs(config: Settings, lake: str) -> tuple[str, str]:
    """What the job reads when no --input is given: (launches, cores). The config's `input` and
    `cores_input` when set (local: the sample, which is not in the lake), else the lake's raw zones,
    so moving the lake (SPACEX_LAKE, --lake) moves the input with it."""
    raw = LakePaths.at(lake)
    return (config.input or raw.raw("launches"), config.cores_input or raw.raw("cores"))
