"""`make airflow`: this repo's DAG on a local Airflow, in the local environment.

    python jobs/airflow_local.py [--port 8080] [--home .airflow] [--lake lake] [--warehouse FILE]

Runs `airflow standalone` (metadata database, scheduler, triggerer, DAG processor, API server and UI,
all on this machine) with the DAG folder dags/ and SPACEX_ENV=local: the same DAG file as dev and prod,
whose Spark step here runs the job with spark-submit (`make job`) instead of EMR on EKS. Prints the URL
and the login once the UI answers; Ctrl-C (or SIGTERM) stops every Airflow process it started.
Airflow's own output goes to <home>/standalone.log.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from spacex_launches.common.settings import PROJECT_DIR

STARTUP_TIMEOUT_S = 300


def absolute(path: str) -> str:
    return path if "://" in path else str(Path(path).resolve())


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as response:
            status = json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return False
    return all(part.get("status") == "healthy" for part in status.values())


def group_alive(process: subprocess.Popen) -> bool:
    """Whether any process of the group (standalone and what it started) still runs; zombies that no
    one reaps (a container's PID 1 may not) do not count."""
    process.poll()  # reap the standalone process once it exits
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            state, _parent, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if int(group) == process.pid and state != "Z":
            return True
    return False


def stop(process: subprocess.Popen) -> None:
    """Ask the whole process group to stop (standalone stops its children), then insist."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
        if not group_alive(process):
            return
        os.killpg(process.pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(process):
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--home", type=Path, default=PROJECT_DIR / ".airflow", help="AIRFLOW_HOME")
    parser.add_argument("--lake", default="lake", help="the lake the DAG's runs use (SPACEX_LAKE)")
    parser.add_argument("--warehouse", default="warehouse/launches.duckdb", help="SPACEX_WAREHOUSE")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{args.port}"
    airflow = Path(sys.executable).with_name("airflow")
    environ = {
        **os.environ,
        "PATH": f"{airflow.parent}{os.pathsep}{os.environ.get('PATH', '')}",  # standalone runs `airflow ...`
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # manual runs only (schedule: null)
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(args.port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",  # where task runs report to
        "SPACEX_ENV": "local",
        "SPACEX_LAKE": absolute(args.lake),
        "SPACEX_WAREHOUSE": absolute(args.warehouse),
    }
    log = home / "standalone.log"
    print(f"starting Airflow standalone in {home} (its output: {log}) ...", flush=True)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [str(airflow), "standalone"],
            env=environ,
            cwd=PROJECT_DIR,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def on_signal(signum, _frame) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)  # also where a background start left SIGINT ignored
    signal.signal(signal.SIGTERM, on_signal)
    try:
        started = time.monotonic()
        while not healthy(url):
            if process.poll() is not None:
                print(f"error: Airflow exited with code {process.returncode}; see {log}", file=sys.stderr)
                return 1
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                print(
                    f"error: Airflow did not answer at {url} within {STARTUP_TIMEOUT_S} s; see {log}",
                    file=sys.stderr,
                )
                stop(process)
                return 1
            time.sleep(2)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        login = ", ".join(f"{user} / {password}" for user, password in passwords.items())
        print(
            f"\nAirflow is up: {url}\n"
            f"  login      {login}\n"
            "  DAG        spacex_launches (env local: the Spark step runs spark-submit on this machine)\n"
            f"  lake       {environ['SPACEX_LAKE']}\n"
            f"  warehouse  {environ['SPACEX_WAREHOUSE']}\n"
            "  trigger    the UI's Trigger button, or: "
            f"AIRFLOW_HOME={home} {airflow} dags trigger spacex_launches\n"
            "Ctrl-C stops Airflow.",
            flush=True,
        )
        process.wait()
        print(f"error: Airflow exited with code {process.returncode}; see {log}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping Airflow ...", flush=True)
        stop(process)
        print("Airflow stopped.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
