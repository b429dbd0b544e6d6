"""Lake locations as plain strings: which are local, and their paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from spacex_launches.common.paths import local_path
from spacex_launches.lake.maintenance import set_aside


@pytest.mark.parametrize("spelling", ["/lake/x", "file:/lake/x", "file:///lake/x"])
def test_a_local_location_is_its_path_however_spelled(spelling):
    assert local_path(spelling) == Path("/lake/x")


@pytest.mark.parametrize("location", ["s3a://bucket/lake", "s3://bucket/lake", "hdfs://nn/lake"])
def test_a_remote_location_has_no_local_path(location):
    assert local_path(location) is None


def test_set_aside_moves_the_validated_zone_of_a_lake_named_as_a_uri(tmp_path):
    (tmp_path / "validated" / "spacex").mkdir(parents=True)
    moved = set_aside(f"file://{tmp_path}")
    assert moved is not None and moved.parent == tmp_path / "_set_aside"
    assert (moved / "spacex").is_dir() and not (tmp_path / "validated").exists()


def test_set_aside_refuses_a_lake_on_s3_and_says_how():
    with pytest.raises(ValueError, match="aws s3 mv --recursive s3a://bucket/lake/validated"):
        set_aside("s3a://bucket/lake")
