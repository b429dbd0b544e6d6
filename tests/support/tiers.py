"""The fast tiers' rule (docs/testing.md): tests/unit and tests/infra start no JVM and no server
(`make test-fast`); tests/spark use the session's SparkSession; tests/integration run spark-submit,
servers, a browser. Each fast tier's conftest applies it to its own tests."""

from __future__ import annotations

import pytest

SLOW_FIXTURES = {
    "spark",
    "sample_run",
    "snapshot_run",
    "moto_server",
    "postgres_port",
    "httpserver",
    "emr_python",
    "emr_artifacts",
}


def refuse_slow_fixtures(item, tier: str) -> None:
    """A fast-tier test that asks for a JVM or a server fails before it starts one, saying where it belongs."""
    slow = SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if slow:
        pytest.fail(
            f"tests/{tier} starts no JVM and no server, but this test uses {', '.join(sorted(slow))}: "
            "move it to tests/spark or tests/integration",
            pytrace=False,
        )
