"""Ingest: the SpaceX API, as sent, into the write-once raw zone (requests + boto3, no Spark)."""
