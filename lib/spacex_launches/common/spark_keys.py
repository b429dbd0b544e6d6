"""The one check of Spark setting names: `spark.conf` and `emr.spark_conf` in conf/ (at load) and every key
of the EMR request. Spark silently ignores a key it does not know (`spark.executors.memory`), so a
misspelt key would change nothing and say nothing. No pyspark here: settings.py and Airflow import it.

The list holds the keys this project sets; tests check that each one is a key pyspark's own jars name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from spacex_launches.exceptions import ConfigError

KNOWN_SPARK_KEYS = frozenset(
    {
        "spark.app.name",
        "spark.archives",
        "spark.decommission.enabled",
        "spark.default.parallelism",
        "spark.driver.cores",
        "spark.driver.extraClassPath",
        "spark.driver.maxResultSize",
        "spark.driver.memory",
        "spark.driver.memoryOverhead",
        "spark.dynamicAllocation.enabled",
        "spark.dynamicAllocation.executorIdleTimeout",
        "spark.dynamicAllocation.initialExecutors",
        "spark.dynamicAllocation.maxExecutors",
        "spark.dynamicAllocation.minExecutors",
        "spark.dynamicAllocation.shuffleTracking.enabled",
        "spark.dynamicAllocation.shuffleTracking.timeout",
        "spark.eventLog.dir",
        "spark.eventLog.enabled",
        "spark.executor.cores",
        "spark.executor.instances",
        "spark.executor.memory",
        "spark.executor.memoryOverhead",
        "spark.executor.processTreeMetrics.enabled",
        "spark.files",
        "spark.jars",
        "spark.jars.packages",
        "spark.kubernetes.container.image",
        "spark.kubernetes.driver.podTemplateFile",
        "spark.kubernetes.executor.podTemplateFile",
        "spark.kubernetes.file.upload.path",
        "spark.kubernetes.namespace",
        "spark.metrics.appStatusSource.enabled",
        "spark.metrics.namespace",
        "spark.network.timeout",
        "spark.pyspark.driver.python",
        "spark.pyspark.python",
        "spark.scheduler.maxRetainedRemovedDecommissionExecutors",
        "spark.serializer",
        "spark.sql.adaptive.advisoryPartitionSizeInBytes",
        "spark.sql.adaptive.coalescePartitions.enabled",
        "spark.sql.adaptive.coalescePartitions.parallelismFirst",
        "spark.sql.adaptive.enabled",
        "spark.sql.extensions",
        "spark.sql.parquet.datetimeRebaseModeInRead",
        "spark.sql.parquet.datetimeRebaseModeInWrite",
        "spark.sql.parquet.outputTimestampType",
        "spark.sql.session.timeZone",
        "spark.sql.shuffle.partitions",
        "spark.sql.sources.partitionOverwriteMode",
        "spark.stage.ignoreDecommissionFetchFailure",
        "spark.storage.decommission.enabled",
        "spark.storage.decommission.rddBlocks.enabled",
        "spark.storage.decommission.shuffleBlocks.enabled",
        "spark.submit.pyFiles",
        "spark.task.maxFailures",
        "spark.ui.enabled",
        "spark.ui.port",
        "spark.ui.prometheus.enabled",
        "spark.ui.showConsoleProgress",
    }
)
# Open-ended by design: what follows the prefix is a Hadoop key, a variable, a label or a catalog's own key.
KNOWN_SPARK_PREFIXES = (
    "spark.hadoop.",
    "spark.executorEnv.",
    "spark.kubernetes.driverEnv.",
    "spark.kubernetes.driver.annotation.",
    "spark.kubernetes.driver.label.",
    "spark.kubernetes.executor.annotation.",
    "spark.kubernetes.executor.label.",
    "spark.metrics.conf.",
    "spark.sql.catalog.",
)


def check_spark_keys(keys: Iterable[str], where: str) -> None:
    """Refuse any key that is neither known nor under a known prefix, naming `where` it was set and the
    closest known key."""
    unknown = sorted(
        key for key in keys if key not in KNOWN_SPARK_KEYS and not key.startswith(KNOWN_SPARK_PREFIXES)
    )
    if unknown:
        problems = []
        for key in unknown:
            close = difflib.get_close_matches(key, KNOWN_SPARK_KEYS, n=1, cutoff=0.8)
            problems.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"unknown Spark conf key(s) in {where}: {', '.join(problems)}")
