"""The warehouse contract's tables (spacex_launches.contract) as Spark schemas: what the lake tables
hold before their provenance columns (tables.py), and what a warehouse load selects."""

from __future__ import annotations

from pyspark.sql import types as T

from spacex_launches import contract
from spacex_launches.contract import ColumnType

SPARK_TYPES: dict[ColumnType, T.DataType] = {
    ColumnType.STRING: T.StringType(),
    ColumnType.INT: T.IntegerType(),
    ColumnType.BIGINT: T.LongType(),
    ColumnType.BOOLEAN: T.BooleanType(),
    ColumnType.TIMESTAMP: T.TimestampType(),
}


def struct_of(table: str) -> T.StructType:
    return T.StructType(
        [T.StructField(c.name, SPARK_TYPES[c.type], c.nullable) for c in contract.TABLES[table]]
    )


TABLES = {table: struct_of(table) for table in contract.TABLES}
LAUNCHES = TABLES["launches"]
LAUNCH_CORES = TABLES["launch_cores"]
CORES = TABLES["cores"]
LAUNCH_SIGHTINGS = TABLES["launch_sightings"]

# The quarantine table: each record that failed a rule, as it came, with the rules it failed.
QUARANTINE = T.StructType(
    [
        T.StructField("source_file", T.StringType(), False),
        T.StructField("source_block", T.LongType(), False),
        T.StructField("source_row", T.LongType(), False),
        T.StructField("record_id", T.StringType()),  # the record's id as it came (a launch's, a core's)
        T.StructField("rule", T.StringType()),
        T.StructField("failed_rules", T.ArrayType(T.StringType())),
        T.StructField("raw_record", T.StringType()),
    ]
)
