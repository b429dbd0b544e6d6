"""The Spark job: find raw files, read and parse them, apply the record rules, stage, run report."""
