"""SpaceX launch-data pipeline: raw /launches JSON -> validated Iceberg tables -> warehouse -> answers."""

__version__ = "0.1.0"
