"""The synthetic generator's output goes through the real pipeline with the counts the generator says
it wrote (the generator itself: tests/unit/bench/test_synthetic.py)."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import functions as F

from bench.synthetic import generate
from support.lake import lake_table, run_in_process


# The array case is ~8 MB in one file: exploding it once carried the whole parsed array into every row
# (memory quadratic in the file size; 4 MB ran out of heap).
@pytest.mark.parametrize(("fmt", "parts", "launches"), [("jsonl", 3, 2500), ("array", 1, 5000)])
def test_generated_input_passes_through_the_job(spark, tmp_path, fmt, parts, launches):
    generated = generate(launches, tmp_path / "in", parts=parts, fmt=fmt, seed=5, bad_share=0.02)
    lake = tmp_path / "lake"
    report = run_in_process(spark, [tmp_path / "in"], lake, None, "synthetic")

    assert report["status"] == "succeeded"
    assert report["conservation"]["holds"]
    assert report["counts"] == {
        "input_records": generated.records,
        "launches": generated.launches,
        "duplicates_collapsed": generated.duplicates,
        "quarantined": generated.quarantined,
        "launch_cores": generated.launch_cores,
        "unknown_core_slots": generated.unknown_cores,
        "same_time_conflicts": 0,  # its duplicates are exact copies
    }
    quarantine = lake_table(spark, lake, "quarantine").filter(F.col("run_id") == "synthetic")
    by_rule = {row["rule"]: row["count"] for row in quarantine.groupBy("rule").count().collect()}
    assert by_rule == {rule: n for rule, n in generated.bad.items() if n}
    launches = lake_table(spark, lake, "launches")
    upcoming = launches.filter(F.col("upcoming")).count()
    assert upcoming == generated.upcoming
    years = {row[0] for row in launches.select(F.year("date_utc")).distinct().collect()}
    assert min(years) == 2006 and max(years) <= datetime.now().year + 3
