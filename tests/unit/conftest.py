"""tests/unit: plain Python, no JVM and no server (`make test-fast`)."""

from __future__ import annotations

from support.tiers import refuse_slow_fixtures


def pytest_runtest_setup(item) -> None:
    refuse_slow_fixtures(item, "unit")
