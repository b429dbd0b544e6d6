"""Deterministic synthetic launches in the SpaceX `/launches` shape, at any size, for tests and `make bench`.

    python -m bench.synthetic --launches 100000 --out bench-out/input [--parts 8]
        [--format jsonl|array] [--seed 7]

What is in it (all decided by `--seed`): Falcon 9 boosters re-flown in chains (turnarounds of three weeks
and up, so some re-flights are under 50 days), Falcon Heavy launches with three cores, unknown cores
(`core: null`), upcoming launches at the end of the timeline, API v4 (crew ids) and v5 (crew objects)
shapes, `fairings: null` on some, unknown extra fields, a small share of bad records (one per quality
rule kind) and, with several part files, copies of some launches in the next part (an overlapping later
snapshot). Records are formatted as text and streamed to disk, so a million launches need little memory.
`generate` returns what it wrote, including the counts the job should report.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DAY = 86_400
TIMELINE_START = 1_143_200_000  # 2006-03-24: the first Falcon 1 attempt
TIMELINE_END = 1_767_225_600  # 2026-01-01: launches after this are upcoming
UPCOMING_SHARE = 0.01
FALCON_HEAVY_SHARE = 0.02
UNKNOWN_CORE_SHARE = 0.015
NEW_CORE_SHARE = 0.03  # a brand-new booster even when a flown one is ready
RETIRE_SHARE = 0.05  # expended or lost after a flight
MAX_CORE_FLIGHTS = 25
CREW_SHARE = 0.03
V4_SHARE = 0.3
NULL_FAIRINGS_SHARE = 0.05
EXTRA_FIELD_SHARE = 0.1
EMPTY_CORES_SHARE = 0.002
BAD_SHARE = 0.002
DUPLICATE_SHARE = 0.005

# Bad record kinds and the quality rule the job quarantines each under (its first failing rule).
BAD_KINDS = {
    "truncated": "valid_json_object",
    "wrong_type": "fields_match_schema",
    "missing_id": "id_present",
    "flight_number_not_positive": "flight_number_positive",
    "bad_date": "date_utc_parses",
}

ROCKET_F9, ROCKET_FH = "5e9d0d95eda69973a809d1ec", "5e9d0d95eda69974db09d1ed"
LAUNCHPADS = ("5e9e4501f509094ba4566f84", "5e9e4502f509094188566f88", "5e9e4502f509092b78566f87")
LANDINGS = (  # (landing_type, landpad) for a recovered booster
    ("ASDS", "5e9e3032383ecb6bb234e7ca"),
    ("ASDS", "5e9e3033383ecbb9e534e7cc"),
    ("ASDS", "5e9e3033383ecb075134e7cd"),
    ("RTLS", "5e9e3032383ecb267a34e7c7"),
    ("RTLS", "5e9e3032383ecb554034e7c9"),
)


@dataclass
class Generated:
    """What `generate` wrote, and what the job should make of it."""

    files: list[Path]
    format: str
    seed: int
    records: int = 0  # records in the files (launches, duplicate copies and bad records)
    launches: int = 0  # distinct valid launch ids
    duplicates: int = 0  # extra copies of valid launches
    launch_cores: int = 0  # core slots of the distinct valid launches
    unknown_cores: int = 0
    upcoming: int = 0
    falcon_heavy: int = 0
    bad: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BAD_KINDS.values(), 0))
    bytes: int = 0

    @property
    def quarantined(self) -> int:
        return sum(self.bad.values())

    def summary(self) -> dict:
        return {
            "files": [str(f) for f in self.files],
            "format": self.format,
            "seed": self.seed,
            "records": self.records,
            "launches": self.launches,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "bad_by_rule": self.bad,
            "launch_cores": self.launch_cores,
            "unknown_cores": self.unknown_cores,
            "upcoming": self.upcoming,
            "falcon_heavy": self.falcon_heavy,
            "bytes": self.bytes,
        }


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def _local(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S-04:00", time.gmtime(ts - 4 * 3600))


def _json_bool(value: bool | None) -> str:
    return "null" if value is None else ("true" if value else "false")


class _Fleet:
    """Boosters waiting for their next flight, earliest ready first."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.ready: list[tuple[int, int, int]] = []  # (ready_at, core_number, flights so far)
        self.next_core = 0

    def take(self, now: int, fresh: bool) -> tuple[int, int]:
        """A booster for a launch at `now`: (core number, its flight number on this launch)."""
        if not fresh and self.ready and self.ready[0][0] <= now:
            _, core, flights = heapq.heappop(self.ready)
            return core, flights + 1
        self.next_core += 1
        return self.next_core, 1

    def land(self, core: int, flight: int, now: int) -> None:
        if flight < MAX_CORE_FLIGHTS and self.rng.random() >= RETIRE_SHARE:
            turnaround = int((21 + self.rng.expovariate(1 / 45)) * DAY)
            heapq.heappush(self.ready, (now + turnaround, core, flight))


class _Writer:
    """Streams records into part files: JSON Lines, or one JSON array."""

    def __init__(self, out: Path, parts: int, fmt: str, prefix: str):
        self.out, self.parts, self.format, self.prefix = out, parts, fmt, prefix
        self.files: list[Path] = []
        self.handle = None
        self.first = True
        self.bytes = 0

    def open(self, part: int) -> None:
        self.close()
        suffix = "json" if self.format == "array" else "jsonl"
        path = self.out / f"{self.prefix}-part-{part:05d}.{suffix}"
        self.handle = path.open("w", encoding="utf-8", buffering=1 << 20)
        self.files.append(path)
        self.first = True
        if self.format == "array":
            self.handle.write("[\n")

    def write(self, text: str) -> None:
        if self.format == "array":
            text = ("" if self.first else ",\n") + text
        else:
            text += "\n"
        self.first = False
        self.handle.write(text)

    def close(self) -> None:
        if self.handle is not None:
            if self.format == "array":
                self.handle.write("\n]\n")
            self.bytes += self.handle.tell()
            self.handle.close()
            self.handle = None


def _core_json(core: str | None, flight: int | None, upcoming: bool, rng: random.Random) -> str:
    reused = None if flight is None else flight > 1
    if upcoming:
        landing, attempt, success = (None, None), None, None
    elif rng.random() < 0.08:  # expended
        landing, attempt, success = (None, None), False, None
    else:
        landing, attempt, success = LANDINGS[rng.randrange(len(LANDINGS))], True, rng.random() > 0.03
    landpad = "null" if landing[1] is None else f'"{landing[1]}"'
    landing_type = "null" if landing[0] is None else f'"{landing[0]}"'
    return (
        f'{{"core": {"null" if core is None else chr(34) + core + chr(34)}, '
        f'"flight": {"null" if flight is None else flight}, "gridfins": true, "legs": true, '
        f'"reused": {_json_bool(reused)}, "landing_attempt": {_json_bool(attempt)}, '
        f'"landing_success": {_json_bool(success)}, "landing_type": {landing_type}, "landpad": {landpad}}}'
    )


def _launch_json(
    launch_id: str | None,
    flight_number,
    name: str,
    date_utc: str,
    ts: int,
    precision: str,
    upcoming: bool,
    cores: list[str],
    rocket: str,
    rng: random.Random,
) -> str:
    crew = "[]"
    if rng.random() < CREW_SHARE:
        members = [f"5ebf1a6e23a9a60006e03a{rng.randrange(256):02x}" for _ in range(rng.randint(2, 4))]
        if rng.random() < V4_SHARE:
            crew = "[" + ", ".join(f'"{m}"' for m in members) + "]"
        else:
            crew = "[" + ", ".join(f'{{"crew": "{m}", "role": "Mission Specialist"}}' for m in members) + "]"
    fairings = (
        "null"
        if rng.random() < NULL_FAIRINGS_SHARE
        else '{"reused": true, "recovery_attempt": true, "recovered": true, "ships": ["5ea6ed2e080df4000697c908"]}'
    )
    extra = (
        f', "synthetic_extra": {{"batch": {rng.randrange(1000)}, "tags": ["x", "y"]}}'
        if rng.random() < EXTRA_FIELD_SHARE
        else ""
    )
    slug = name.replace(" ", "_")
    id_field = "" if launch_id is None else f', "id": "{launch_id}"'
    success = "null" if upcoming else _json_bool(rng.random() > 0.02)
    number = json.dumps(flight_number)
    return (
        f'{{"fairings": {fairings}, "links": {{"patch": {{"small": "https://images2.imgbox.com/synthetic/{slug}_s.png", '
        f'"large": "https://images2.imgbox.com/synthetic/{slug}_l.png"}}, "reddit": {{"campaign": '
        f'"https://www.reddit.com/r/spacex/comments/synthetic/{slug}/", "launch": null, "media": null, '
        f'"recovery": null}}, "flickr": {{"small": [], "original": ["https://live.staticflickr.com/65535/{ts}_a_o.jpg", '
        f'"https://live.staticflickr.com/65535/{ts}_b_o.jpg"]}}, "presskit": null, '
        f'"webcast": "https://youtu.be/{ts:x}", "youtube_id": "{ts:x}", '
        f'"article": "https://spaceflightnow.com/synthetic/{slug}/", "wikipedia": "https://en.wikipedia.org/wiki/Starlink"}}, '
        f'"static_fire_date_utc": null, "static_fire_date_unix": null, "net": false, "window": 0, '
        f'"rocket": "{rocket}", "success": {success}, "failures": [], "details": null, "crew": {crew}, '
        f'"ships": [], "capsules": [], "payloads": ["61e05516be8d8b6679{ts % 1000000:06x}"], '
        f'"launchpad": "{LAUNCHPADS[ts % len(LAUNCHPADS)]}", "flight_number": {number}, "name": "{name}", '
        f'"date_utc": "{date_utc}", "date_unix": {ts}, "date_local": "{_local(ts)}", '
        f'"date_precision": "{precision}", "upcoming": {_json_bool(upcoming)}, "cores": [{", ".join(cores)}], '
        f'"auto_update": true, "tbd": false, "launch_library_id": null{id_field}{extra}}}'
    )


def generate(
    launches: int,
    out: str | Path,
    parts: int = 4,
    fmt: str = "jsonl",
    seed: int = 7,
    prefix: str = "launches",
    bad_share: float = BAD_SHARE,
) -> Generated:
    """Write `launches` launch records (plus duplicate copies and bad records) under `out`.
    `bad_share` of the records are bad, one rule's kind after the other."""
    if fmt not in ("jsonl", "array"):
        raise ValueError(f"format must be jsonl or array, not {fmt!r}")
    if launches < 1:
        raise ValueError("launches must be at least 1")
    parts = 1 if fmt == "array" else max(1, min(parts, launches))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f"{prefix}-part-*"):  # parts of an earlier, larger run would be read too
        stale.unlink()
    rng = random.Random(seed)
    fleet = _Fleet(rng)
    writer = _Writer(out, parts, fmt, prefix)
    result = Generated(files=writer.files, format=fmt, seed=seed)
    n_upcoming = max(1, int(launches * UPCOMING_SHARE)) if launches >= 10 else 0
    n_past = launches - n_upcoming
    past_step = (TIMELINE_END - TIMELINE_START) / max(n_past, 1)
    copies: list[str] = []  # valid launches to repeat in the next part (a later, overlapping snapshot)
    part = -1
    for i in range(launches):
        if i * parts // launches != part:
            part = i * parts // launches
            writer.open(part)
            for copy in copies:
                writer.write(copy)
            copies = []
        upcoming = i >= n_past
        if upcoming:
            ts = TIMELINE_END + int((i - n_past + rng.random()) * 730 * DAY / n_upcoming)
            precision = rng.choice(("month", "day", "hour"))
        else:
            ts = TIMELINE_START + int((i + rng.random()) * past_step)
            precision = "hour" if rng.random() < 0.95 else "day"
        heavy = rng.random() < FALCON_HEAVY_SHARE
        bad = rng.random() < bad_share
        cores = []
        if bad:  # a broken record flies no booster of the chains
            cores.append(_core_json(None, None, upcoming, rng))
        elif heavy or rng.random() >= EMPTY_CORES_SHARE:
            for position in range(3 if heavy else 1):
                if rng.random() < UNKNOWN_CORE_SHARE or (upcoming and rng.random() < 0.5):
                    cores.append(_core_json(None, None, upcoming, rng))
                    continue
                center_of_heavy = heavy and position == 0
                core, flight = fleet.take(ts, fresh=center_of_heavy or rng.random() < NEW_CORE_SHARE)
                if not upcoming and not center_of_heavy:
                    fleet.land(core, flight, ts)
                cores.append(_core_json(f"5e9e28a7f3{core:014x}", flight, upcoming, rng))
        launch_id = f"5eb87cd9ff{i:014x}"
        name = f"{'Falcon Heavy' if heavy else 'Starlink'} {i + 1}"
        if not bad:
            record = _launch_json(
                launch_id,
                i + 1,
                name,
                _iso(ts),
                ts,
                precision,
                upcoming,
                cores,
                ROCKET_FH if heavy else ROCKET_F9,
                rng,
            )
            writer.write(record)
            result.launches += 1
            result.launch_cores += len(cores)
            result.unknown_cores += sum(c.startswith('{"core": null') for c in cores)
            result.upcoming += upcoming
            result.falcon_heavy += heavy
            if rng.random() < DUPLICATE_SHARE:
                if part + 1 < parts:
                    copies.append(record)
                else:
                    writer.write(record)
                result.duplicates += 1
        else:
            kind = tuple(BAD_KINDS)[sum(result.bad.values()) % len(BAD_KINDS)]  # each kind in turn
            bad_id = f"badbadbad0{i:014x}"
            flight_number, date_utc = i + 1, _iso(ts)
            if kind == "wrong_type":
                flight_number = str(i + 1)
            elif kind == "flight_number_not_positive":
                flight_number = -rng.randrange(2)
            elif kind == "bad_date":
                date_utc = "not-a-date"
            record = _launch_json(
                None if kind == "missing_id" else bad_id,
                flight_number,
                name,
                date_utc,
                ts,
                precision,
                upcoming,
                cores,
                ROCKET_F9,
                rng,
            )
            if kind == "truncated":
                record = record[: len(record) // 2]
                if fmt == "array":  # an array cannot hold a cut-off object: the element is its text
                    record = json.dumps(record)
            writer.write(record)
            result.bad[BAD_KINDS[kind]] += 1
    writer.close()
    result.records = result.launches + result.duplicates + result.quarantined
    result.bytes = writer.bytes
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--launches", "-n", type=int, default=10_000, help="distinct launches (default 10000)"
    )
    parser.add_argument(
        "--out", default="bench-out/sample", help="output directory (default bench-out/sample)"
    )
    parser.add_argument("--parts", type=int, default=4, help="JSON Lines part files (default 4)")
    parser.add_argument("--format", choices=("jsonl", "array"), default="jsonl")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = generate(args.launches, args.out, args.parts, args.format, args.seed)
    summary = result.summary()
    summary["seconds"] = round(time.monotonic() - started, 2)
    json.dump(summary | {"files": len(result.files)}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
