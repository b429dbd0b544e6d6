"""`make airflow` (jobs/airflow_local.py): a local Airflow with this DAG in the local env. It prints the
URL and a login that works, a DAG run triggered through its REST API ingests from an HTTP server on
127.0.0.1 and runs the Spark step with spark-submit on this machine, and Ctrl-C stops every Airflow
process it started."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from rehearsal.servers import free_port, http_server
from spacex_launches.warehouse import read_sql
from spacex_launches.warehouse.duckdb import DuckDBLoader
from support.paths import REPO, SAMPLE_DIR

pytestmark = pytest.mark.integration

SAMPLE_CORES = REPO / "sample" / "cores"


def group_members(pgid: int) -> list[str]:
    """Processes (not zombies) of a process group: their command lines."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _parent, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
            if int(group) == pgid and state != "Z":
                members.append((stat.parent / "cmdline").read_text().replace("\0", " "))
        except (OSError, ValueError):
            continue
    return members


def test_make_airflow_runs_the_dag_locally_prints_a_working_login_and_stops_cleanly(tmp_path):
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to check that every Airflow process stopped")
    port = free_port()
    with http_server() as api:
        api.expect_request("/v5/launches").respond_with_data(
            (SAMPLE_DIR / "20240101T060000Z-api-v5.json").read_bytes(), content_type="application/json"
        )
        api.expect_request("/v4/cores").respond_with_data(
            (SAMPLE_CORES / "20240101T060000Z-api-v4.json").read_bytes(), content_type="application/json"
        )
        command = [
            sys.executable,
            "jobs/airflow_local.py",
            "--port",
            str(port),
            "--home",
            str(tmp_path / "home"),
            "--lake",
            str(tmp_path / "lake"),
            "--warehouse",
            str(tmp_path / "launches.duckdb"),
        ]
        environ = {**os.environ, "SPACEX_API_BASE_URL": api.url_for("/").rstrip("/")}
        process = subprocess.Popen(
            command, cwd=REPO, env=environ, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
        reader.start()
        printed = []
        try:
            while not printed or "Ctrl-C stops Airflow." not in printed[-1]:
                printed.append(lines.get(timeout=300))
            text = "".join(printed)
            url = re.search(r"Airflow is up: (\S+)", text).group(1)
            user, password = re.search(r"login\s+(\S+) / (\S+)", text).groups()
            assert url == f"http://127.0.0.1:{port}"

            token = requests.post(
                f"{url}/auth/token", json={"username": user, "password": password}, timeout=30
            )
            assert token.status_code in (200, 201), token.text
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            dag = requests.get(f"{url}/api/v2/dags/spacex_launches", headers=headers, timeout=30).json()
            assert {tag["name"] for tag in dag["tags"]} == {"spacex", "local"}
            run = requests.post(
                f"{url}/api/v2/dags/spacex_launches/dagRuns",
                headers=headers,
                json={"logical_date": None},
                timeout=30,
            )
            assert run.status_code in (200, 201), run.text
            run_url = f"{url}/api/v2/dags/spacex_launches/dagRuns/{run.json()['dag_run_id']}"
            deadline = time.monotonic() + 900
            while (state := requests.get(run_url, headers=headers, timeout=30).json()["state"]) not in (
                "success",
                "failed",
            ):
                assert time.monotonic() < deadline, f"DAG run still {state}"
                time.sleep(3)
            assert state == "success"
        finally:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
            process.wait(timeout=120)
            reader.join(timeout=10)
    rest = "".join(lines.get() for _ in range(lines.qsize()))
    assert process.returncode == 0 and "Airflow stopped." in rest
    assert group_members(process.pid) == []

    # What the run did: ingest into the run date's partition, the job with spark-submit, DuckDB loaded.
    for dataset in ("launches", "cores"):
        [partition] = (tmp_path / "lake" / "raw" / "spacex" / dataset).iterdir()
        assert partition.name.startswith("ingest_date=")
    loader = DuckDBLoader(str(tmp_path / "launches.duckdb"))
    assert loader.query(read_sql("max_core_reuse.sql"))[1] == [("5a3b1e0000000000000c0a01", "B9001", 4, 5)]
