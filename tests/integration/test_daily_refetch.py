"""A lake that runs for years: 60 daily refetches of unchanged data commit nothing to launches and
launch_cores (only launch_sightings moves), and after `make maintain` the files and bytes under
validated/ are what they were after 30 days; a correction still lands and the correction audit
(`make history`) prints the same before and after maintenance."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from spacex_launches.lake.maintenance import tree_size
from support.lake import core, hid, launch, raw_file, run_in_process
from support.paths import REPO

pytestmark = pytest.mark.integration
DAYS = 60


def make(*args: str) -> subprocess.CompletedProcess:
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def maintained(lake: Path) -> tuple[int, int]:
    result = make("maintain", f"LAKE={lake}", "WAREHOUSE=none")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tree_size(str(lake / "validated"))


def test_sixty_unchanged_refetches_commit_nothing_and_maintenance_keeps_the_lake_small(
    spark, tmp_path, conf_copy
):
    settings = yaml.safe_load((conf_copy / "base.yaml").read_text())
    settings["maintenance"]["snapshot_retention_h"] = 0  # keep only what is current (and unloaded)
    (conf_copy / "base.yaml").write_text(yaml.safe_dump(settings))
    lake, raw = tmp_path / "lake", tmp_path / "raw"
    fh1 = hid("FH1")
    data = [
        launch(fh1, "2020-03-01T20:45:00Z", [core("B1"), core("B2"), core("C1")]),
        *[
            launch(hid(f"L{year}"), f"{year}-05-01T00:00:00Z", [core(f"S{year}")])
            for year in range(2010, 2022)
        ],
    ]
    first_day = date(2024, 1, 1)

    def fetched(day: int) -> str:
        return f"{first_day + timedelta(days=day):%Y%m%d}T060000"

    first = run_in_process(spark, [raw_file(raw, fetched(0), data)], lake, None, "day-0")
    for day in range(1, DAYS):
        refetch = run_in_process(spark, [raw_file(raw, fetched(day), data)], lake, None, f"day-{day}")
        assert [refetch["lake"][table]["committed"] for table in ("launches", "launch_cores")] == [
            False,
            False,
        ]
        assert refetch["lake_snapshots"]["launch_cores"] == first["lake_snapshots"]["launch_cores"]
        assert refetch["lake"]["launch_sightings"]["launches"]["update"] == len(data)
        if day == DAYS // 2:
            half_way = maintained(lake)
    grown = tree_size(str(lake / "validated"))
    sixty_days = maintained(lake)
    correction = [launch(fh1, "2020-03-01T20:45:00Z", [core("B1"), core("B9", 2)]), *data[1:]]
    fixed = run_in_process(spark, [raw_file(raw, fetched(DAYS), correction)], lake, None, "correction")
    assert fixed["lake"]["launch_cores"]["launches"]["update"] == 1

    before = make("history", f"LAUNCH={fh1}", f"LAKE={lake}")
    assert before.returncode == 0, before.stderr[-3000:]
    assert f"{hid('B2')} -> {hid('B9')}" in before.stdout
    after_maintenance = maintained(lake)
    after = make("history", f"LAUNCH={fh1}", f"LAKE={lake}")
    assert after.stdout == before.stdout  # the audit survives expiry
    # The lake does not grow with its history: maintained after 60 days it holds what it held after 30
    # (give or take a metadata file per table: each table keeps at most 10 earlier metadata versions);
    # unmaintained, every day's sighting commit had added files.
    sizes = {"day 30, maintained": half_way, "day 60": grown, "day 60, maintained": sixty_days}
    assert sixty_days[0] <= half_way[0] + 2 * 7, sizes
    assert sixty_days[1] <= half_way[1] * 1.2, sizes
    assert grown[0] > sixty_days[0] + DAYS // 2, sizes
    sizes["after the correction, maintained"] = after_maintenance
    print(f"validated/ (files, bytes): {sizes}")
