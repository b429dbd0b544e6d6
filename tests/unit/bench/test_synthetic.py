"""The synthetic launch generator: deterministic for a seed, realistic in shape (through the pipeline:
tests/spark/test_synthetic_through_the_job.py)."""

from __future__ import annotations

import itertools
import json

from bench.synthetic import generate


def _records(generated):
    lines = []
    for path in generated.files:
        text = path.read_text()
        if generated.format == "array":
            lines += [json.dumps(item) if isinstance(item, dict) else item for item in json.loads(text)]
        else:
            lines += text.splitlines()
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return [record for record in parsed if isinstance(record, dict)]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    first = generate(3000, tmp_path / "a", parts=3, seed=11)
    again = generate(3000, tmp_path / "b", parts=3, seed=11)
    other = generate(3000, tmp_path / "c", parts=3, seed=12)
    assert [p.read_bytes() for p in first.files] == [p.read_bytes() for p in again.files]
    assert first.summary() | {"files": None} == again.summary() | {"files": None}
    assert [p.read_bytes() for p in first.files] != [p.read_bytes() for p in other.files]
    assert first.bytes == sum(p.stat().st_size for p in first.files)


def test_output_has_the_shapes_the_job_must_handle(tmp_path):
    generated = generate(5000, tmp_path, parts=4, seed=3)
    records = _records(generated)
    assert len(generated.files) == 4
    cores = [(r["id"], r["date_unix"], c) for r in records if "id" in r for c in r["cores"]]
    assert any(len(r["cores"]) == 3 for r in records), "Falcon Heavy launches"
    assert any(c["core"] is None for _, _, c in cores), "unknown cores"
    assert any(r["upcoming"] for r in records) and any(not r["upcoming"] for r in records)
    crews = [member for r in records for member in r["crew"]]
    assert any(isinstance(m, str) for m in crews) and any(isinstance(m, dict) for m in crews), "v4 and v5"
    assert any(r["fairings"] is None for r in records)
    assert any("synthetic_extra" in r for r in records), "unknown extra fields"
    assert generated.duplicates > 0 and all(n > 0 for n in generated.bad.values())
    # Boosters fly in chains: flight numbers count up per core, and some re-flights come within 50 days.
    flights = {}  # core -> {flight number: date_unix}; duplicate copies of a launch collapse here
    for _, when, core in cores:
        if core["core"] and core["flight"]:
            flights.setdefault(core["core"], {})[core["flight"]] = when
    chains = [sorted(by_number.items()) for by_number in flights.values()]
    assert max(len(chain) for chain in chains) >= 5
    pairs = [pair for chain in chains for pair in itertools.pairwise(chain)]
    assert all(b[0] == a[0] + 1 and b[1] > a[1] for a, b in pairs)
    gaps = [(b[1] - a[1]) / 86_400 for a, b in pairs]
    assert any(gap < 50 for gap in gaps) and any(gap >= 50 for gap in gaps)


# The array case is ~8 MB in one file: exploding it once carried the whole parsed array into every row
# (memory quadratic in the file size; 4 MB ran out of heap).
