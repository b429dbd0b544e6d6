"""Warehouse loaders: one interface, several targets (embedded DuckDB, PostgreSQL, Redshift).

The warehouse mirrors what the lake committed. A load reads each lake table at a committed Iceberg
snapshot, stages those rows in a table of the run's own, and replaces the target's rows with them in
one transaction that also records the snapshot in `spacex.lake_loads` (sql/load_table.sql). A table
already at that snapshot (or a later one) is skipped, so a failed load is healed by the next run,
re-runs change nothing, and a slower concurrent run never takes the warehouse back to older data.

Full state rather than the changes since the last load: the tables are small (one row per launch and
core slot), the load needs no Iceberg snapshot older than the current one (snapshots may expire), and a
warehouse that was emptied or restored heals itself without special cases.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from spacex_launches import contract
from spacex_launches.common.redact import redact_location
from spacex_launches.common.settings import Settings, sql_dir
from spacex_launches.exceptions import ConfigError, WarehouseError

if TYPE_CHECKING:
    from spacex_launches.lake.catalog import TableSnapshot
    from spacex_launches.lake.tables import Lakehouse

POSTGRES_URL_PREFIXES = ("postgresql://", "postgres://")
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._:-]*")


class WarehouseLoader(Protocol):
    target: str

    def describe(self) -> str:
        """Where the data goes, safe to log: never a password or token."""

    def sync(self, lake: Lakehouse, snapshots: dict[str, TableSnapshot], run_id: str) -> WarehouseSync:
        """Bring each table to its lake snapshot (see the module docstring); return what was done."""

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run one read-only statement; return column names and rows."""


def read_sql(name: str) -> str:
    return (sql_dir() / name).read_text()


def sql_statements(text: str) -> list[str]:
    """Split a .sql file into statements (the project's SQL keeps ';' out of strings and comments)."""
    without_comments = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return [statement.strip() for statement in without_comments.split(";") if statement.strip()]


def staging_name(table: str, run_id: str) -> str:
    """A staging table of the run's own: a re-run and a scheduled run never share one."""
    return f"{table}_staging_{hashlib.sha256(run_id.encode()).hexdigest()[:12]}"


def load_statements(table: str, staging: str, snapshot: TableSnapshot, run_id: str) -> list[str]:
    """sql/load_table.sql for one table, its placeholders filled with checked values."""
    values = {"table_uuid": snapshot.table_uuid, "run_id": run_id, "staging": staging}
    for name, value in values.items():
        if not _SAFE_VALUE.fullmatch(value):
            raise WarehouseError(f"refusing to load: {name} {value!r} has characters outside [A-Za-z0-9._:-]")
    text = read_sql("load_table.sql").format(
        table=table,
        columns=", ".join(contract.column_names(table)),
        snapshot_id=int(snapshot.snapshot_id),
        sequence_number=int(snapshot.sequence_number),
        **values,
    )
    return sql_statements(text)


def loaded_snapshots(rows: list[tuple]) -> dict[str, tuple[str, int]]:
    """contract.lake_loads_query rows as (table_uuid, sequence_number) by table."""
    return {table: (table_uuid, int(sequence)) for table, table_uuid, sequence, _ in rows}


def pending_loads(
    loaded: dict[str, tuple[str, int]], snapshots: dict[str, TableSnapshot]
) -> dict[str, TableSnapshot]:
    """The tables whose lake snapshot the warehouse does not hold yet (nor a later one)."""
    pending = {}
    for table, snapshot in snapshots.items():
        held = loaded.get(table)
        if held is None or held[0] != snapshot.table_uuid or held[1] < snapshot.sequence_number:
            pending[table] = snapshot
    return pending


@dataclass(frozen=True)
class TableLoad:
    """One warehouse table in a sync: its rows before and after, the lake snapshot it now holds, and
    whether this sync loaded it (False: it held that snapshot already)."""

    before: int
    after: int
    snapshot_id: int
    loaded: bool


@dataclass(frozen=True)
class WarehouseSync:
    """What a loader's sync did (the run report's `warehouse` holds it as JSON)."""

    up_to_date_before: bool  # every table held its lake snapshot already: nothing was loaded
    tables: dict[str, TableLoad]

    def as_dict(self) -> dict[str, Any]:
        return {
            "up_to_date_before": self.up_to_date_before,
            "tables": {table: asdict(load) for table, load in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> WarehouseSync:
        tables = {table: TableLoad(**load) for table, load in document["tables"].items()}
        return cls(document["up_to_date_before"], tables)


def sync_outcome(
    snapshots: dict[str, TableSnapshot],
    pending: dict[str, TableSnapshot],
    before: dict[str, int],
    after: dict[str, int],
) -> WarehouseSync:
    return WarehouseSync(
        up_to_date_before=not pending,
        tables={
            table: TableLoad(before[table], after[table], snapshot.snapshot_id, loaded=table in pending)
            for table, snapshot in snapshots.items()
        },
    )


def contract_rows(lake: Lakehouse, table: str, snapshot: TableSnapshot):
    """The lake table's rows at `snapshot`, in the warehouse contract's columns."""
    return lake.read(table, snapshot).select(*contract.column_names(table))


def warehouse_kind(spec: str) -> str:
    """What a `--warehouse` value names: `duckdb` (`duckdb` or a path ending in .duckdb), `postgres`
    (`postgres` or a postgresql:// URL), `redshift` or `none`. The one place a spec is classified."""
    if spec in ("none", "redshift", "duckdb", "postgres"):
        return spec
    if spec.startswith(POSTGRES_URL_PREFIXES):
        return "postgres"
    if spec.endswith(".duckdb"):
        return "duckdb"
    # Masked: an unknown spec may be a mistyped URL or DSN with a password in it.
    raise ConfigError(
        f"unknown warehouse {redact_location(spec)!r}: expected duckdb, a .duckdb file path, postgres, "
        "a postgresql:// URL, redshift or none"
    )


def loader_for(spec: str | None, config: Settings) -> WarehouseLoader | None:
    """The loader a `--warehouse` value (or the config's `warehouse.target`) asks for: embedded DuckDB
    (the spec's file, else warehouse.duckdb_path), PostgreSQL (the URL, else the config's postgres.url /
    secret_id), Redshift (the config's redshift.*), or None for `none` (no warehouse load)."""
    spec = spec or config.warehouse.target
    kind = warehouse_kind(spec)
    if kind == "postgres":
        from spacex_launches.warehouse.postgres import PostgresLoader

        return PostgresLoader.from_spec(spec, config)
    if kind == "redshift":
        from spacex_launches.warehouse.redshift import RedshiftLoader

        return RedshiftLoader.from_config(config)
    if kind == "duckdb":
        from spacex_launches.warehouse.duckdb import DuckDBLoader

        path = spec if spec.endswith(".duckdb") else str(config.warehouse.required.duckdb_path)
        return DuckDBLoader(path, lock_timeout=float(config.warehouse.lock_timeout_s))
    return None


def spark_packages(spec: str | None) -> str:
    """Maven coordinates (comma-separated) that spark-submit needs on the classpath for a warehouse:
    the JDBC driver / connector jars, which a SparkSession builder cannot add under spark-submit.
    An unknown spec needs none here: the job itself refuses it, by name."""
    from spacex_launches.warehouse.jdbc import POSTGRES_JDBC_PACKAGE, REDSHIFT_PACKAGES

    try:
        kind = warehouse_kind(spec or "duckdb")
    except ConfigError:
        return ""
    return {"postgres": POSTGRES_JDBC_PACKAGE, "redshift": ",".join(REDSHIFT_PACKAGES)}.get(kind, "")
