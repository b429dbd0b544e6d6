"""The SparkSession for a run: settings from conf/<env>.yaml's `spark.conf` plus S3 access."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

from spacex_launches.config import get_dotted


def spark_conf(config: dict[str, Any]) -> dict[str, str]:
    """Every Spark setting a run uses, as strings."""
    conf = {key: str(value) for key, value in (get_dotted(config, "spark.conf") or {}).items()}
    conf.update(s3a_conf(config))
    return conf


def s3a_conf(config: dict[str, Any]) -> dict[str, str]:
    """S3A settings for a non-default S3 endpoint (a local S3-protocol server); empty for AWS itself.

    Credentials are never set here: S3A's default provider chain reads the environment, the
    profile or the pod's web identity (IRSA).
    """
    endpoint = get_dotted(config, "s3.endpoint_url")
    if not endpoint:
        return {}
    path_style = str(get_dotted(config, "s3.path_style_access", True)).lower()
    return {
        "spark.hadoop.fs.s3a.endpoint": endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": str(get_dotted(config, "s3.region", "us-east-1")),
        "spark.hadoop.fs.s3a.path.style.access": path_style,
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(endpoint.startswith("https")).lower(),
    }


def build_session(config: dict[str, Any], app_name: str | None = None) -> SparkSession:
    builder = SparkSession.builder.appName(
        app_name or get_dotted(config, "spark.app_name", "spacex-launches")
    )
    for key, value in spark_conf(config).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
