"""Everything the stacks name, derived from conf/<env>.yaml (and the generated conf/<env>.outputs.yaml):
the platform is defined by those files and this code only, never by environment variables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.s3 import split_s3_uri
from spacex_launches.common.settings import Settings as Conf
from spacex_launches.common.settings import load_settings
from spacex_launches.lake.catalog import CatalogSettings

ENVS = ("dev", "prod")
# Service-generated values are placeholders in conf/<env>.outputs.yaml until the first deploy.
PLACEHOLDER = re.compile(r"placeholder|0{8}", re.IGNORECASE)


def stack_names(env: str) -> list[str]:
    """The data stack (no cluster needed) and the cluster stack, in deploy order."""
    return [f"spacex-{env}-data", f"spacex-{env}-cluster"]


def is_placeholder(value: Any) -> bool:
    return value is None or bool(PLACEHOLDER.search(str(value)))


@dataclass(frozen=True)
class Settings:
    """The names, ARNs and sizes of one environment's platform."""

    env: str
    account: str
    region: str
    conf: Conf  # the env's typed settings (conf/<env>.yaml and its outputs overlay)

    @classmethod
    def load(cls, env: str) -> Settings:
        conf = load_settings(env, environ={})
        return cls(env=env, account=str(conf.required.aws_account_id), region=conf.required.region, conf=conf)

    # --- names -------------------------------------------------------------------------------------

    def role_name(self, role: str) -> str:
        """Every role is spacex-<role>-<env>; the two that conf names by ARN are checked against it."""
        return f"spacex-{role}-{self.env}"

    def role_arn(self, role: str) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.role_name(role)}"

    @property
    def cluster_name(self) -> str:
        return self.conf.platform.required.cluster_name

    @property
    def lake_bucket(self) -> str:
        return split_s3_uri(self.conf.required.lake)[0]

    @property
    def lake(self) -> LakePaths:
        return LakePaths.at(f"s3://{self.lake_bucket}")

    @property
    def tempdir(self) -> tuple[str, str]:
        """The Redshift connector's scratch space: (bucket, prefix)."""
        return split_s3_uri(self.conf.redshift.required.tempdir)

    @property
    def artifacts(self) -> tuple[str, str]:
        return split_s3_uri(self.conf.emr.required.artifacts_uri)

    @property
    def job_logs(self) -> tuple[str, str]:
        """Where EMR writes the job's logs: (logs bucket, prefix)."""
        return split_s3_uri(self.conf.emr.required.log_uri)

    @property
    def buckets(self) -> dict[str, str]:
        """The four buckets by purpose."""
        return {
            "lake": self.lake_bucket,
            "tempdir": self.tempdir[0],
            "artifacts": self.artifacts[0],
            "logs": self.job_logs[0],
        }

    @property
    def catalog(self) -> CatalogSettings:
        """The Iceberg catalog the job opens: Glue database and warehouse prefix of the validated zone."""
        return CatalogSettings.from_config(self.conf, f"s3://{self.lake_bucket}")

    @property
    def validated_prefix(self) -> str:
        return split_s3_uri(self.catalog.warehouse)[1]

    @property
    def log_group(self) -> str:
        return self.conf.emr.required.log_group

    @property
    def redshift_secret_name(self) -> str:
        return self.conf.redshift.required.secret_id

    @property
    def airflow_secrets_prefix(self) -> str:
        return f"spacex/{self.env}/airflow/"

    @property
    def namespace(self) -> str:
        """The Kubernetes namespace registered as the EMR virtual cluster."""
        return self.conf.emr.required.namespace

    @property
    def github_repository(self) -> str:
        return self.conf.platform.required.github_repository

    @property
    def karpenter_queue_name(self) -> str:
        return f"spacex-{self.env}-karpenter"

    # --- ARNs ---------------------------------------------------------------------------------------

    def s3_arn(self, bucket: str, key: str = "") -> str:
        return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")

    def arn(self, service: str, resource: str) -> str:
        """arn:aws:<service>:<region>:<account>:<resource>"""
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    @property
    def log_group_arns(self) -> list[str]:
        group = self.arn("logs", f"log-group:{self.log_group}")
        return [group, f"{group}:log-stream:*"]

    @property
    def redshift_secret_arn(self) -> str:
        """Secrets Manager appends '-' and six random characters to a secret's name in its ARN."""
        return self.arn("secretsmanager", f"secret:{self.redshift_secret_name}-??????")

    @property
    def oidc_issuer(self) -> str:
        """The EKS cluster's OIDC issuer without https:// (conf/<env>.outputs.yaml, from the cluster)."""
        return self.conf.platform.required.eks_oidc_issuer.removeprefix("https://")

    @property
    def oidc_provider_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:oidc-provider/{self.oidc_issuer}"

    @property
    def cluster_arn(self) -> str:
        return self.arn("eks", f"cluster/{self.cluster_name}")


def base36(name: str) -> str:
    """The role-name encoding in EMR on EKS's job service account names (as `aws emr-containers
    update-role-trust-policy` computes it): the UTF-8 bytes as a big-endian number, in base 36."""
    number, digits = int.from_bytes(name.encode(), "big"), ""
    while number:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return digits or "0"


def emr_service_accounts(s: Settings) -> str:
    """The service accounts EMR on EKS creates for a job run of the execution role in its namespace."""
    role = s.role_name("emr-job-execution")
    return f"system:serviceaccount:{s.namespace}:emr-containers-sa-*-*-{s.account}-{base36(role)}"
