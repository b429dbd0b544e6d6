"""The SparkSession for a run: settings from conf/<env>.yaml's `spark.conf` plus S3 access."""

from __future__ import annotations

from pyspark.sql import SparkSession

from spacex_launches.common.s3 import S3Settings
from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import ConfigError
from spacex_launches.job import jvm_functions

# S3A's waits, bounded so that an unreachable lake fails in about a minute, not the quarter of an hour
# its defaults allow (SDK retries x S3A retries x 50 s connection timeout). hadoop-aws 3.3.4 reads the
# two timeouts as plain integers in milliseconds (a "5s" would fail); the retry interval is a duration.
# Each one may be set otherwise in conf's spark.conf.
S3A_BOUNDS = {
    "spark.hadoop.fs.s3a.connection.establish.timeout": "5000",  # ms to open a connection
    "spark.hadoop.fs.s3a.connection.timeout": "30000",  # ms a socket may wait for data
    "spark.hadoop.fs.s3a.attempts.maximum": "2",  # the AWS SDK's own retries of a request
    "spark.hadoop.fs.s3a.retry.limit": "3",  # S3A's retries of a failed operation
    "spark.hadoop.fs.s3a.retry.interval": "500ms",
}


def spark_conf(config: Settings) -> dict[str, str]:
    """Every Spark setting a run uses, as strings: S3A's bounds, the config's spark.conf over them,
    then the S3 endpoint's settings."""
    conf = dict(S3A_BOUNDS)
    conf.update({key: str(value) for key, value in (config.spark.conf or {}).items()})
    conf.update(s3a_conf(config))
    return conf


def s3a_conf(config: Settings) -> dict[str, str]:
    """S3A settings for a non-default S3 endpoint (a local S3-protocol server); empty for AWS itself.

    Credentials are never set here: S3A's default provider chain reads the environment variables
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or the instance/pod role.
    Outside EMR use s3a:// URIs; on EMR, s3:// is EMRFS and is left to EMR's own settings.
    """
    s3 = S3Settings.from_config(config)
    if not s3.endpoint_url:
        return {}
    return {
        "spark.hadoop.fs.s3a.endpoint": s3.endpoint_url,
        "spark.hadoop.fs.s3a.endpoint.region": s3.region,
        "spark.hadoop.fs.s3a.path.style.access": str(s3.path_style).lower(),
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(s3.endpoint_url.startswith("https")).lower(),
    }


def build_session(
    config: Settings, app_name: str | None = None, extra_conf: dict[str, str] | None = None
) -> SparkSession:
    """The session for a run, with the job's JVM functions registered; `extra_conf` (e.g. the lake
    catalog's settings) goes on top."""
    builder = SparkSession.builder.appName(app_name or config.spark.app_name or "spacex-launches")
    for key, value in {**spark_conf(config), **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # a setting Spark refuses (a bad value in spark.conf), or no Java
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(
            f"Spark did not start with the settings of conf/{config.env}.yaml: {reason}"
        ) from None
    spark.sparkContext.setLogLevel("WARN")
    register_jvm_functions(spark)
    return spark


def register_jvm_functions(spark: SparkSession) -> None:
    """The job's JVM functions (job.jvm_functions), with a clear error when their jar is not on the
    session's classpath."""
    for name, (class_name, return_type) in jvm_functions.FUNCTIONS.items():
        try:
            spark.udf.registerJavaFunction(name, class_name, return_type)
        except Exception as exc:  # py4j's error wraps Spark's "Can not load class"
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(
                f"the job's JVM function {name} ({class_name}) is not on Spark's classpath: start Spark "
                "with the jar of lib/spacex_launches/job/jvm (spark-submit --jars, as `make job` does; on "
                f"EMR the request's spark.jars): {reason}"
            ) from None
