"""bench/refetches.py without Spark: a landed day is what the job reads as that day's fetch, and the
summary sets the first refetch beside the last ones."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bench.refetches import land, summary
from spacex_launches.common.paths import fetch_time_from_name, ingest_date_of


def test_a_landed_day_is_read_as_that_days_fetch(tmp_path):
    snapshot = tmp_path / "launches.json"
    snapshot.write_text('[{"id": "a"}]')
    land(tmp_path / "raw", datetime(2026, 10, 5, tzinfo=UTC), snapshot)

    (landed,) = (tmp_path / "raw").rglob("*.json")
    assert landed.read_bytes() == snapshot.read_bytes()
    assert ingest_date_of(landed.as_posix()) == date(2026, 10, 5)
    assert fetch_time_from_name(landed.as_posix()) == datetime(2026, 10, 5, 6, tzinfo=UTC)


def _day(wall_s: float, files: int) -> dict:
    return {"wall_s": wall_s, "job_s": wall_s - 5, "validated_files": files}


def test_the_summary_sets_the_first_refetch_beside_the_first_and_last_ones():
    days = [_day(30, 100), _day(20, 110), *[_day(18, 120)] * 4, *[_day(25, 130)] * 5]
    text = summary({"days": days, "maintain_every": 7})

    assert text.startswith(
        "10 refetches of unchanged data, maintained every 7 days: first refetch wall 20.0 s"
    )
    assert "median of the first 5: wall 18.0 / job 13.0 s" in text
    assert "of the last 5: wall 25.0 / job 20.0 s" in text
    assert "validated/ files 110 on day 1, 130 on day 10" in text
    assert summary({"days": days[:1], "maintain_every": 7}) == "no refetches"
