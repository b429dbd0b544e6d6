"""The sample /cores file: it reads cleanly with the explicit raw schema and covers the cases the
analytics must handle against the sample launches (known serial, null block, a core the launches use
that the file lacks, a core no launch uses)."""

from __future__ import annotations

import json

from support.paths import REPO, SAMPLE_DIR

CORES_FILE = REPO / "sample" / "cores" / "20240101T060000Z-api-v4.json"


def launch_core_ids() -> set[str]:
    ids = set()
    for path in SAMPLE_DIR.iterdir():
        text = path.read_text()
        lines = [text] if path.suffix == ".json" else text.splitlines()
        for line in lines:
            try:
                records = json.loads(line)
            except json.JSONDecodeError:
                continue  # the sample's deliberately truncated record
            for launch in records if isinstance(records, list) else [records]:
                ids.update(core["core"] for core in launch["cores"] if core.get("core"))
    return ids


def test_sample_cores_cover_the_join_cases():
    cores = {core["id"]: core for core in json.loads(CORES_FILE.read_text())}
    used = launch_core_ids()
    assert len(used & cores.keys()) >= 3, "known serials for launches' cores"
    assert used - cores.keys() == {"5a3b1e0000000000000c0c03"}, "a used core the file lacks"
    assert set(cores) - used == {"5a3b1e0000000000000c0a07"}, "a core no launch uses"
    assert [c["serial"] for c in cores.values() if c["block"] is None] == ["B9004"]
    statuses = {"active", "inactive", "unknown", "expended", "lost", "retired"}
    assert {core["status"] for core in cores.values()} <= statuses
    assert len({core["serial"] for core in cores.values()}) == len(cores), "serials are unique"
