"""Bounded waits: an ingest against a server that drips its body stops by the total deadline
(api.total_deadline_s) and writes nothing, and no process it starts carries the endpoint's secret in its
arguments; a job whose s3a:// lake cannot be reached fails within S3A's bounds (exit 2), naming the
endpoint and the bucket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from rehearsal.servers import free_port
from spacex_launches.common.s3 import S3A_PACKAGES
from support.jobs import spark_submit_command
from support.paths import REPO, SAMPLE_DIR

pytestmark = pytest.mark.integration
SECRET = "Dr1pS3cret"


@contextmanager
def dripping_server(byte_every_s: float = 0.2):
    """A real HTTP server on 127.0.0.1 that answers 200 with a 1 MB Content-Length, then sends one
    byte of it every `byte_every_s` until the client goes away or the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    requests_seen: list[str] = []

    def drip(connection: socket.socket) -> None:
        with connection:
            requests_seen.append(connection.recv(65536).decode("latin-1").split("\r\n", 1)[0])
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n["
            )
            for _ in range(10_000):  # bounded: at most ~30 min at 0.2 s, far beyond any test
                if stop.wait(byte_every_s):
                    return
                try:
                    connection.sendall(b" ")
                except OSError:
                    return

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(connection,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield listener.getsockname()[1], requests_seen
    finally:
        stop.set()
        server.join(5)
        listener.close()


def group_cmdlines(pgid: int) -> dict[int, bytes]:
    """The argument vectors of the live processes in process group `pgid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    found[int(entry.name)] = (entry / "cmdline").read_bytes()
            except (OSError, ProcessLookupError):
                continue
    return found


def test_a_dripping_server_is_given_up_by_the_total_deadline_and_no_argument_holds_the_secret(
    conf_copy, tmp_path
):
    base = yaml.safe_load((conf_copy / "base.yaml").read_text())
    base["api"].update(total_deadline_s=4, attempt_deadline_s=3, backoff_base_s=0.2, backoff_max_s=0.5)
    (conf_copy / "base.yaml").write_text(yaml.safe_dump(base))
    lake = tmp_path / "lake"
    with dripping_server() as (port, requests_seen):
        url = f"http://ingest:{SECRET}@127.0.0.1:{port}/v5/launches?api_key={SECRET}"
        # API_URL from the environment (docs/secrets.md): make's own arguments are public too.
        command = ["make", "--no-print-directory", "-o", ".venv/.installed", "ingest", f"LAKE={lake}"]
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "API_URL": url},
            start_new_session=True,
        )
        try:
            seen: dict[int, bytes] = {}
            while process.poll() is None and time.monotonic() - started < 60:
                seen.update(group_cmdlines(process.pid))
                time.sleep(0.1)
            stdout, stderr = process.communicate(timeout=60)  # the bound: the test fails, never hangs
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        took = time.monotonic() - started

    assert process.returncode == 2, stderr
    assert requests_seen and requests_seen[0].startswith("GET /v5/launches?api_key=")
    assert any(b"ingest_launches.py" in cmdline for cmdline in seen.values()), seen
    assert not [cmdline for cmdline in seen.values() if SECRET.encode() in cmdline]
    assert "total deadline of 4 s (api.total_deadline_s)" in stderr
    assert "nothing was written" in stderr
    assert SECRET not in stdout + stderr
    assert not lake.exists() or not [path for path in lake.rglob("*") if path.is_file()]
    print(f"dripping server: ingest gave up after {took:.1f} s wall (total deadline 4 s)")


def test_an_unreachable_s3a_lake_fails_in_about_a_minute_naming_endpoint_and_bucket(tmp_path):
    closed = free_port()  # nothing listens there
    endpoint = f"http://127.0.0.1:{closed}"
    started = time.monotonic()
    command, environment = spark_submit_command(
        "--input",
        str(SAMPLE_DIR),
        "--lake",
        "s3a://unreachable-lake/spacex",
        "--warehouse",
        "none",
        "--run-id",
        "unreachable",
        env={
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        packages=S3A_PACKAGES,
    )
    # The bound: about a minute of S3A's waits plus the JVM's start (a timeout fails the test).
    result = subprocess.run(command, env=environment, cwd=REPO, capture_output=True, text=True, timeout=150)
    took = time.monotonic() - started

    printed = result.stdout + result.stderr
    assert result.returncode == 2, printed[-3000:]
    assert f"the lake's S3 endpoint {endpoint} could not be reached for bucket unreachable-lake" in printed
    assert "unexpected failure" not in printed
    print(f"unreachable s3a lake: the job failed after {took:.1f} s wall")
