"""The validated zone: Iceberg tables, their catalog, precedence of versions, history, upkeep."""
