"""The validated zone as Apache Iceberg tables, through Spark: creating them, merging a run's records by
precedence, committing, and reading committed snapshots. Which catalog and its settings: catalog.py."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spacex_launches.exceptions import CommitConflict, LakeError
from spacex_launches.lake import precedence, schemas
from spacex_launches.lake.catalog import CatalogSettings, TableSnapshot

log = logging.getLogger("spacex_launches")


@dataclass(frozen=True)
class MergeResult:
    snapshot: TableSnapshot  # the table's state after this run's commit (or its unchanged state)
    committed: bool
    # keys (launches; cores for `cores`) per change (precedence.CHANGES) and `same_time_conflicts`;
    # None for a first load into an empty table, which writes every incoming row without comparing
    changes: dict[str, int] | None
    rows_added: int = 0  # rows in the files the commit added / removed (its snapshot summary)
    rows_removed: int = 0
    attempts: int = 1


# Lake tables: the contract columns plus where each row came from (its raw file, the run that wrote it,
# the hash of the record's text: precedence.version). Partitioned by launch year (few, evenly sized
# partitions: a merge rewrites only the years it touches); cores (a few hundred rows) not at all; the
# quarantine by run, so a retried run replaces its own rows and nothing else. `launch_sightings`: per
# launch, the newest snapshot that listed it (the version a refetch confirmed without a rewrite).
PROVENANCE = [
    T.StructField("source_file", T.StringType()),
    T.StructField("run_id", T.StringType()),
    T.StructField("record_hash", T.LongType()),
]
LAKE_TABLES = {
    "launches": (T.StructType([*schemas.LAUNCHES.fields, *PROVENANCE]), "years(date_utc)"),
    "launch_cores": (
        T.StructType(
            [*schemas.LAUNCH_CORES.fields, T.StructField("ingested_at", T.TimestampType()), *PROVENANCE]
        ),
        "years(date_utc)",
    ),
    "cores": (T.StructType([*schemas.CORES.fields, *PROVENANCE]), None),
    "quarantine": (
        T.StructType(
            [
                T.StructField("run_id", T.StringType()),
                T.StructField("dataset", T.StringType()),
                *schemas.QUARANTINE.fields,
            ]
        ),
        "run_id",
    ),
    "launch_sightings": (T.StructType([*schemas.LAUNCH_SIGHTINGS.fields, *PROVENANCE]), None),
}
# The key a merge decides on: a launch (its row, or all its core slots together), a core.
TABLE_KEYS = {
    "launches": "launch_id",
    "launch_cores": "launch_id",
    "cores": "core_id",
    "launch_sightings": "launch_id",
}
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.distribution-mode": "hash",  # one file per partition and task, whatever the input order
    "write.metadata.delete-after-commit.enabled": "true",
    # Every commit writes a new metadata file; a daily confirmation commit (launch_sightings) would keep
    # up to this many old ones per table. Ten is enough to point a table back at an earlier version.
    "write.metadata.previous-versions-max": "10",
}
RUN_ID_PROPERTY = "spacex.run-id"
COMMIT_ATTEMPTS = 5
_CONFLICTS = (
    "org.apache.iceberg.exceptions.ValidationException",
    "org.apache.iceberg.exceptions.CommitFailedException",
)


def is_commit_conflict(exc: BaseException) -> bool:
    text = str(exc)
    return any(name in text for name in _CONFLICTS)


def same_location(location: str, expected: str, prefix: bool = False) -> bool:
    """Whether two lake locations are the same (or `location` is under `expected`): `file:` and the
    s3 / s3a / s3n schemes are spelled in more than one way for one place."""

    def plain(uri: str) -> str:
        uri = re.sub(r"^file:(//)?", "", uri.rstrip("/"))
        return re.sub(r"^s3[an]?://", "s3://", uri)

    location, expected = plain(location), plain(expected)
    return location == expected or (prefix and location.startswith(expected + "/"))


def years_filter(years: list[int]) -> Column:
    """Rows whose launch time falls in `years` (UTC), as whole `years(date_utc)` partitions."""
    condition = F.lit(False)
    for year in years:
        start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        condition = condition | ((F.col("date_utc") >= F.lit(start)) & (F.col("date_utc") < F.lit(end)))
    return condition


class Lakehouse:
    """The validated zone's Iceberg tables: create, read at a snapshot, merge by precedence."""

    def __init__(self, spark: SparkSession, settings: CatalogSettings):
        self.spark = spark
        self.settings = settings

    def name(self, table: str) -> str:
        return self.settings.table(table)

    def ensure_tables(self) -> None:
        """Create the namespace and tables if missing (a concurrent run may create them first), after
        checking that every existing table is readable and belongs to this lake: before any write."""
        self._refuse_old_layout()
        held = {table: self._checked_table(table) for table in LAKE_TABLES}  # one metadata read each
        if any(java_table is None for java_table in held.values()):
            self._create_if_missing(
                f"CREATE NAMESPACE IF NOT EXISTS {self.settings.name}.{self.settings.database}"
            )
        properties = ", ".join(f"'{key}' = '{value}'" for key, value in TABLE_PROPERTIES.items())
        for table, (schema, partitioning) in LAKE_TABLES.items():
            if held[table] is None:
                columns = ", ".join(
                    f"{field.name} {field.dataType.simpleString()}" for field in schema.fields
                )
                partitioned = f"PARTITIONED BY ({partitioning}) " if partitioning else ""
                self._create_if_missing(
                    f"CREATE TABLE IF NOT EXISTS {self.name(table)} ({columns}) USING iceberg "
                    f"{partitioned}TBLPROPERTIES ({properties})"
                )
            self._upgrade(table, schema, self._java_table(table) if held[table] is None else held[table])

    def _upgrade(self, table: str, schema: T.StructType, java_table: Any) -> None:
        """A table made by an earlier release gets the columns (NULL in its old rows) and the table
        properties set since."""
        held = {column.name() for column in java_table.schema().columns()}
        for column in schema.fields:
            if column.name not in held:
                log.info("%s: adding column %s", table, column.name)
                self.spark.sql(
                    f"ALTER TABLE {self.name(table)} ADD COLUMN {column.name} {column.dataType.simpleString()}"
                )
        properties = java_table.properties()
        stale = {key: value for key, value in TABLE_PROPERTIES.items() if properties.get(key) != value}
        if stale:
            settings = ", ".join(f"'{key}' = '{value}'" for key, value in stale.items())
            log.info("%s: setting %s", table, settings)
            self.spark.sql(f"ALTER TABLE {self.name(table)} SET TBLPROPERTIES ({settings})")

    def _create_if_missing(self, statement: str) -> None:
        """Run a CREATE ... IF NOT EXISTS; another run creating the same object first is fine."""
        try:
            self.spark.sql(statement)
        except Exception as exc:
            if "AlreadyExists" not in str(exc) and "already exists" not in str(exc):
                raise

    def _refuse_old_layout(self) -> None:
        """Before Iceberg, validated/spacex/<table> held plain Parquet; a table must not adopt it."""
        if self.settings.type != "hadoop":
            return
        from spacex_launches.lake.hadoopfs import LakeFS

        lakefs = LakeFS(self.spark)
        for table in LAKE_TABLES:
            location = f"{self.settings.warehouse}/{self.settings.database}/{table}"
            if lakefs.exists(location) and not lakefs.exists(f"{location}/metadata"):
                raise LakeError(
                    f"{location} holds files that are not an Iceberg table (the validated zone's layout "
                    "before Iceberg): move it aside, or delete it and re-run from the raw zone"
                )

    def expected_location(self, table: str) -> str:
        """Where `table` lives in this lake (the Hadoop catalog's layout; Glue: under the warehouse)."""
        return f"{self.settings.warehouse}/{self.settings.database}/{table}"

    def _checked_table(self, table: str) -> Any:
        """The table as Iceberg loads it, None when it does not exist; LakeError when its metadata
        cannot be read or it belongs to another lake (Iceberg metadata holds absolute paths: a copied,
        moved or restored lake still points at the original's, and would write there)."""
        try:
            java_table = self._java_table(table)
        except Exception as exc:
            if "NoSuchTableException" in str(exc) or "TABLE_OR_VIEW_NOT_FOUND" in str(exc):
                return None
            raise self._unreadable(table, exc) from None
        location = str(java_table.location())
        inside = (
            same_location(location, self.expected_location(table))
            if self.settings.type == "hadoop"
            else same_location(location, self.settings.warehouse, prefix=True)
        )
        if not inside:
            root = self.settings.warehouse.removesuffix("/validated")
            raise LakeError(
                f"{self.name(table)}: this lake's metadata for the table says its files live at {location}, "
                f"but the lake this run was given keeps it at {self.expected_location(table)}: the lake is a "
                "copy, a move or a restore of another one, and a run here would write into the original. "
                "Nothing was written. Ways on: rebuild this lake's validated zone from its own raw zone "
                f"(make rebuild LAKE={root}: moves validated/ aside, never deletes); or rewrite the tables' "
                "paths with Iceberg's rewrite_table_path procedure (CALL <catalog>.system.rewrite_table_path("
                f"table => '{self.settings.database}.{table}', source_prefix => '<old lake>/validated', "
                "target_prefix => '<new lake>/validated'), then copy the files it lists, docs/lake.md "
                '"Lake identity"); or, to write into the original lake, give the run its location as --lake.'
            )
        return java_table

    def _unreadable(self, table: str, exc: BaseException) -> LakeError:
        """A LakeError naming the table's damaged metadata file and the ways back."""
        from spacex_launches.exceptions import root_cause
        from spacex_launches.lake.hadoopfs import LakeFS

        root = self.settings.warehouse.removesuffix("/validated")
        rebuild = (
            f"rebuild the validated zone from the raw zone: make rebuild LAKE={root} (moves validated/ aside "
            "with a timestamp, never deletes, then runs the job over the whole raw zone)"
        )
        if self.settings.type != "hadoop":
            return LakeError(
                f"{self.name(table)}: its metadata cannot be read ({root_cause(exc)}): {rebuild}"
            )
        metadata = f"{self.expected_location(table)}/metadata"
        versions = sorted(
            int(match.group(1))
            for uri, _ in LakeFS(self.spark).list_files(metadata) or []
            if (match := re.search(r"/v(\d+)\.metadata\.json$", uri))
        )
        current = versions[-1] if versions else None
        way_back = ""
        if current is not None and current - 1 in versions:
            way_back = (
                f"point the table at its previous metadata version: move v{current}.metadata.json (and "
                f".v{current}.metadata.json.crc, if there) out of {metadata}, then write {current - 1} into "
                f"{metadata}/version-hint.text; the table is then at its commit before the damaged one, and "
                "the next run re-applies from the raw zone what that commit held. Or "
            )
        damaged = f"{metadata}/v{current}.metadata.json" if current is not None else metadata
        return LakeError(
            f"{self.name(table)}: its metadata file {damaged} cannot be read ({root_cause(exc)}): it is "
            f"damaged (truncated or overwritten). Nothing was written. Ways back: {way_back}{rebuild}."
        )

    def _java_table(self, table: str):
        jvm: Any = self.spark.sparkContext._jvm  # py4j's view of the JVM: classes by attribute
        return jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(
            self.spark._jsparkSession, self.name(table)
        )

    def snapshot(self, table: str) -> TableSnapshot:
        """The table's current committed state, read fresh from the catalog."""
        java_table = self._java_table(table)
        current = java_table.currentSnapshot()
        return TableSnapshot(
            table=table,
            table_uuid=str(java_table.uuid().toString()),
            snapshot_id=int(current.snapshotId()) if current is not None else 0,
            sequence_number=int(current.sequenceNumber()) if current is not None else 0,
        )

    def read(self, table: str, snapshot: TableSnapshot | None = None) -> DataFrame:
        """The table's rows at `snapshot` (default: now)."""
        if snapshot is None or snapshot.snapshot_id == 0:
            return self.spark.table(self.name(table))
        return self.spark.sql(f"SELECT * FROM {self.name(table)} VERSION AS OF {snapshot.snapshot_id}")

    def merge(
        self,
        table: str,
        incoming: DataFrame,
        decide: Callable[[DataFrame], DataFrame],
        run_id: str,
        incoming_rows: int | None = None,
    ) -> MergeResult:
        """Merge `incoming` (the table's columns but run_id) into `table` by precedence.

        `decide(current)` returns the changes per key (precedence.row_changes or slot_set_changes).
        Only the partitions (years) holding changed keys are rewritten (an unpartitioned table whole),
        in one commit that Iceberg validates against the snapshot the decision was made on: if another
        run committed to the table in between, the commit fails and the merge is decided again.
        `incoming_rows`: how many rows `incoming` holds, when the caller has counted them already
        (spares the Spark job that asks whether there are any before a first load)."""
        incoming = incoming.withColumn("run_id", F.lit(run_id))
        schema, partitioning = LAKE_TABLES[table]
        columns, key = schema.fieldNames(), TABLE_KEYS[table]
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            base = self.snapshot(table)
            if base.snapshot_id == 0:
                # An empty table: every incoming launch is new and the whole table is written.
                empty = incoming.isEmpty() if incoming_rows is None else incoming_rows == 0
                if empty:  # e.g. launch_cores of launches that all have no cores
                    return MergeResult(base, committed=False, changes=dict.fromkeys(precedence.CHANGES, 0))
                counts, rows, overwritten = None, incoming, F.lit(True)
            else:
                current = self.read(table, base)
                changes = decide(current)
                counts, years = precedence.change_summary(changes)
                if not any(counts[change] for change in precedence.CHANGED):
                    return MergeResult(base, committed=False, changes=counts, attempts=attempt)
                if partitioning is None:
                    rows = precedence.rewritten_partitions(current, incoming, changes, None, key)
                    overwritten = F.lit(True)
                else:
                    rows = precedence.rewritten_partitions(current, incoming, changes, years, key)
                    overwritten = years_filter(years)
            writer = (
                rows.select(*columns)
                .writeTo(self.name(table))
                .option("isolation-level", "serializable")
                .option(f"snapshot-property.{RUN_ID_PROPERTY}", run_id)
            )
            if base.snapshot_id:
                writer = writer.option("validate-from-snapshot-id", str(base.snapshot_id))
            log.info("%s: committing (attempt %d)", table, attempt)
            try:
                writer.overwrite(overwritten)
            except Exception as exc:
                if not is_commit_conflict(exc):
                    raise
                log.warning(
                    "%s: another run committed first (attempt %d/%d): deciding again",
                    table,
                    attempt,
                    COMMIT_ATTEMPTS,
                )
                time.sleep(random.uniform(0.5, 2.0) * attempt)
                continue
            summary = self._java_table(table).currentSnapshot().summary()
            log.info("%s: committed", table)
            return MergeResult(
                self.snapshot(table),
                committed=True,
                changes=counts,
                rows_added=int(summary.get("added-records") or 0),
                rows_removed=int(summary.get("deleted-records") or 0),
                attempts=attempt,
            )
        raise CommitConflict(
            f"{self.name(table)}: {COMMIT_ATTEMPTS} commits in a row lost to concurrent runs; nothing of this "
            "run is in that table: re-run it"
        )

    def replace_quarantine(self, rows: DataFrame, run_id: str) -> tuple[TableSnapshot, int]:
        """The run's quarantined records, replacing any an earlier attempt of the same run wrote.
        Returns the table's snapshot and the rows that commit added (from the snapshot's summary)."""
        (
            rows.withColumn("run_id", F.lit(run_id))
            .select(*LAKE_TABLES["quarantine"][0].fieldNames())
            .writeTo(self.name("quarantine"))
            .option(f"snapshot-property.{RUN_ID_PROPERTY}", run_id)
            .overwrite(F.col("run_id") == F.lit(run_id))
        )
        summary = self._java_table("quarantine").currentSnapshot().summary()
        return self.snapshot("quarantine"), int(summary.get("added-records") or 0)
