"""The warehouse contract in plain Python: its tables, their columns (type, nullability), keys, the byte
limits of their text columns and the id format.

No Spark here: the warehouse, its checks, the analytics and Airflow read the contract without pyspark.
The Spark schemas of the tables derive from it (lake/schemas.py), and a test holds the DDL
(sql/create_tables.sql, sql/redshift/create_tables.sql) to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    """A column's type, named as Spark SQL names it (the DDL's: VARCHAR, INTEGER, BIGINT, BOOLEAN,
    TIMESTAMP)."""

    STRING = "string"
    INT = "int"
    BIGINT = "bigint"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True


STRING, INT, BIGINT = ColumnType.STRING, ColumnType.INT, ColumnType.BIGINT
BOOLEAN, TIMESTAMP = ColumnType.BOOLEAN, ColumnType.TIMESTAMP

LAUNCHES = (
    Column("launch_id", STRING, nullable=False),
    Column("flight_number", INT),
    Column("name", STRING),
    Column("date_utc", TIMESTAMP),
    Column("date_unix", BIGINT),
    Column("date_precision", STRING),
    Column("upcoming", BOOLEAN),
    Column("success", BOOLEAN),
    Column("rocket_id", STRING),
    Column("launchpad_id", STRING),
    Column("details", STRING),
    Column("source_api_version", STRING),
    Column("ingested_at", TIMESTAMP),
)

LAUNCH_CORES = (
    Column("launch_id", STRING, nullable=False),
    Column("core_position", INT, nullable=False),
    Column("core_id", STRING),
    Column("core_flight", INT),
    Column("reused", BOOLEAN),
    Column("gridfins", BOOLEAN),
    Column("legs", BOOLEAN),
    Column("landing_attempt", BOOLEAN),
    Column("landing_success", BOOLEAN),
    Column("landing_type", STRING),
    Column("landpad_id", STRING),
    Column("date_utc", TIMESTAMP),
    Column("date_unix", BIGINT),
    Column("upcoming", BOOLEAN),
)

# One row per core (booster) id, from the API's /cores: the job merges it when the run reads /cores files
# (by default the raw zone's); every warehouse load syncs it with the other tables.
CORES = (
    Column("core_id", STRING, nullable=False),
    Column("serial", STRING),
    Column("block", INT),
    Column("status", STRING),
    Column("reuse_count", INT),
    Column("rtls_attempts", INT),
    Column("rtls_landings", INT),
    Column("asds_attempts", INT),
    Column("asds_landings", INT),
    Column("last_update", STRING),
    Column("ingested_at", TIMESTAMP),
)

# One row per launch: when the newest snapshot that listed it was fetched (`last_seen_at`). A refetch
# of unchanged data moves this, not the launch's rows; a launch the API stopped listing keeps an old
# one (README "The lake": upstream deletions).
LAUNCH_SIGHTINGS = (
    Column("launch_id", STRING, nullable=False),
    Column("last_seen_at", TIMESTAMP),
)

# Warehouse tables and their keys; every loader and the load SQL follow this.
TABLES: dict[str, tuple[Column, ...]] = {
    "launches": LAUNCHES,
    "launch_cores": LAUNCH_CORES,
    "cores": CORES,
    "launch_sightings": LAUNCH_SIGHTINGS,
}
TABLE_KEYS = {
    "launches": ("launch_id",),
    "launch_cores": ("launch_id", "core_position"),
    "cores": ("core_id",),
    "launch_sightings": ("launch_id",),
}


def column_names(table: str) -> list[str]:
    """A contract table's column names, in the DDL's order."""
    return [column.name for column in TABLES[table]]


# The id contract: SpaceX ids are MongoDB ObjectIds, 24 lowercase hex characters. An id that differs
# only by case or surrounding whitespace is not normalised into another launch's id: it fails the rule
# `id_format` and is quarantined, so near-duplicates never become launches of their own.
ID_PATTERN = r"^[0-9a-f]{24}$"
# The contract's text columns and their size in bytes as the warehouse stores them (VARCHAR(n) in
# sql/create_tables.sql; Redshift counts bytes, not characters): the raw field -> (column, bytes).
LAUNCH_TEXT_BYTES = {
    "name": ("name", 256),
    "rocket": ("rocket_id", 64),
    "launchpad": ("launchpad_id", 64),
    "details": ("details", 65535),
}
CORES_TABLE_TEXT_BYTES = {  # the cores table's (the API's /cores)
    "serial": ("serial", 32),
    "status": ("status", 16),
    "last_update": ("last_update", 65535),
}
CORE_TEXT_BYTES = {  # launch_cores' (a launch's core slots)
    "core": ("core_id", 64),
    "landing_type": ("landing_type", 32),
    "landpad": ("landpad_id", 64),
}


# The warehouse's own record of what it loaded: one row per table, the lake snapshot it holds
# (sql/create_tables.sql). Loads read it before they write; lake upkeep keeps what it names.
LOAD_STATE_TABLE = "lake_loads"


def lake_loads_query(schema: str = "spacex") -> str:
    """What the warehouse says it holds: one row per table (table_name, table_uuid, sequence_number,
    snapshot_id) from `<schema>.lake_loads`, the one place this is read (loads and lake upkeep)."""
    return f"SELECT table_name, table_uuid, sequence_number, snapshot_id FROM {schema}.{LOAD_STATE_TABLE}"
