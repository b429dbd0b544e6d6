"""make bench's summary and table: the floor's columns and the line naming commit and machine (no Spark)."""

from __future__ import annotations

from bench.bench_launches import commit, provenance, summarise, table


def _job_run(job_s: float) -> dict:
    counts = {"launches": 98, "input_records": 100, "launch_cores": 101}
    return {
        "wall_s": job_s + 8,
        "job_s": job_s,
        "peak_rss": 800e6,
        "raw_scans": 1,
        "output_files": 4,
        "counts": counts,
    }


def _floor_run(floor_s: float) -> dict:
    return {
        "wall_s": floor_s + 8,
        "peak_rss": 600e6,
        "floor_s": floor_s,
        "launches": 100,
        "launch_cores": 103,
    }


def test_the_row_gives_the_floor_median_and_the_job_over_it():
    row = summarise(
        "100", 2_000_000, [_job_run(10), _job_run(12), _job_run(30)], [], [_floor_run(f) for f in (3, 4, 9)]
    )

    assert row["floor_s"] == 4 and row["job_floor_ratio"] == 3.0
    assert row["floor"]["launches"] == 100 and len(row["floor"]["runs"]) == 3
    assert "   4.0   3.0x |" in table([row])


def test_without_floor_runs_the_columns_show_a_dash():
    row = summarise("100", 2_000_000, [_job_run(10)], [], [])

    assert "floor_s" not in row and "job_floor_ratio" not in row
    assert "|       -      - |" in table([row])


def test_the_provenance_line_names_commit_and_machine():
    machine = {
        "commit": "abc1234-dirty",
        "cpus": 2,
        "cpu_model": "AMD EPYC",
        "memory_gb": 25.3,
        "platform": "Linux-6",
        "java": 'openjdk version "17"',
        "pyspark": "3.5.6",
    }

    assert provenance(machine).startswith("commit abc1234-dirty on 2 CPUs (AMD EPYC), 25.3 GB, Linux-6")
    assert commit()  # this checkout's short hash, never empty
