"""S3 settings shared by boto3 (ingest) and Spark's S3A: endpoint, region and addressing style.

The endpoint is the config's `s3.endpoint_url` (AWS_ENDPOINT_URL overrides it); unset means AWS itself.
The region is the one every AWS client of this project uses (settings.resolve_region, which documents
the order of conf, environment and defaults for region, endpoint and credentials).
`s3.path_style_access` may be true, false or null: null means path style exactly when a custom endpoint
is set, since a local S3-protocol server on 127.0.0.1 cannot serve virtual-hosted bucket names.
Credentials are never read from the config: boto3 and S3A both take them from the standard AWS chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spacex_launches.common.redact import redact_location
from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import ConfigError

# Maven coordinates for s3a://: hadoop-aws at pyspark's bundled Hadoop version (pyspark 3.5.x ships
# Hadoop 3.3.4) and the AWS SDK bundle that hadoop-aws 3.3.4 declares. Under spark-submit they must be
# given as --packages on the command line (job/submit.py adds them for an s3a:// INPUT or LAKE).
S3A_PACKAGES = "org.apache.hadoop:hadoop-aws:3.3.4,com.amazonaws:aws-java-sdk-bundle:1.12.262"

S3_SCHEMES = ("s3://", "s3a://")


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None
    region: str
    path_style: bool

    @classmethod
    def from_config(cls, config: Settings) -> S3Settings:
        endpoint = config.s3.endpoint_url or None
        path_style = config.s3.path_style_access
        return cls(
            endpoint_url=endpoint,
            region=config.aws_region,
            path_style=bool(endpoint) if path_style in (None, "") else as_bool(path_style),
        )

    def client(self):
        """A boto3 S3 client for these settings; credentials from the standard AWS chain."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path" if self.path_style else "auto"},
                retries={"mode": "standard", "max_attempts": 5},
            ),
        )


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"expected true or false, got {value!r}")


def is_s3_uri(path: str) -> bool:
    return path.startswith(S3_SCHEMES)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` (or s3a://) -> ("bucket", "some/prefix")."""
    without_scheme = uri.split("://", 1)[1]
    bucket, _, prefix = without_scheme.partition("/")
    if not bucket:
        raise ConfigError(f"not an S3 location (no bucket): {redact_location(uri)!r}")
    return bucket, prefix.strip("/")
