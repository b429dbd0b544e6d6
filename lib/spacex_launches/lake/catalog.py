"""The lake's Iceberg catalog, plain values only (no pyspark, so the EMR request, Airflow's tasks and the
warehouse code can import it): which catalog, the Spark settings that open it, the snapshot a run
committed, and the lake's errors.

Locally the catalog is Iceberg's Hadoop catalog: table metadata lives beside the data under
`<lake>/validated`, no server needed (commits rely on an atomic rename: safe on a local disk, not for
concurrent writers on S3). On AWS it is the Glue Data Catalog, one database per env (`lakehouse.*` in
conf/<env>.yaml), with the data under the same `<lake>/validated` prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import ConfigError

# The Iceberg release EMR 7.13 ships (1.10.0-amzn-1); EMR uses the image's own jar (EMR_ICEBERG_JAR),
# everywhere else spark-submit resolves ICEBERG_PACKAGES from Maven.
ICEBERG_VERSION = "1.10.0"
ICEBERG_PACKAGES = f"org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:{ICEBERG_VERSION}"
EMR_ICEBERG_JAR = "local:///usr/share/aws/iceberg/lib/iceberg-spark3-runtime.jar"
CATALOG_TYPES = ("hadoop", "glue")


@dataclass(frozen=True)
class CatalogSettings:
    name: str  # the Spark catalog name: tables are <name>.<database>.<table>
    type: str  # hadoop | glue
    database: str
    warehouse: str  # <lake>/validated

    @classmethod
    def from_config(cls, config: Settings, lake_root: str) -> CatalogSettings:
        kind = str(config.lakehouse.type)
        if kind not in CATALOG_TYPES:
            raise ConfigError(f"lakehouse.type must be one of {', '.join(CATALOG_TYPES)}, got {kind!r}")
        return cls(
            name=str(config.lakehouse.catalog),
            type=kind,
            database=str(config.lakehouse.database),
            warehouse=f"{lake_root.rstrip('/')}/validated",
        )

    def table(self, table: str) -> str:
        return f"{self.name}.{self.database}.{table}"


def catalog_conf(settings: CatalogSettings) -> dict[str, str]:
    """Spark settings for the Iceberg SQL extensions (MERGE INTO, procedures) and the catalog."""
    prefix = f"spark.sql.catalog.{settings.name}"
    conf = {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.warehouse": settings.warehouse,
        # Every table load reads the current metadata: another run may have committed since.
        f"{prefix}.cache-enabled": "false",
    }
    if settings.type == "glue":
        conf[f"{prefix}.type"] = "glue"
        conf[f"{prefix}.io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
    else:
        conf[f"{prefix}.type"] = "hadoop"
    return conf


@dataclass(frozen=True)
class TableSnapshot:
    """A committed state of one lake table. `snapshot_id` 0: the table has no snapshot yet (empty).
    Sequence numbers order one table's snapshots; `table_uuid` tells a re-created table apart."""

    table: str
    table_uuid: str
    snapshot_id: int
    sequence_number: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "table_uuid": self.table_uuid,
            "snapshot_id": self.snapshot_id,
            "sequence_number": self.sequence_number,
        }
