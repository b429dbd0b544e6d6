"""Shared by every layer, none of it needs Spark: settings, lake paths, redaction, S3, secrets."""
