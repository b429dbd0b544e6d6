"""SpaceX launch-data pipeline: raw /launches JSON -> validated Parquet -> warehouse -> answers."""

__version__ = "0.1.0"
