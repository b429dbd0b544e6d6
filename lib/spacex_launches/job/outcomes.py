"""A run's outcomes as types: what the scan of each dataset counted (`Intake`), what each lake table's
merge decided and committed (`LakeOutcome`), the counts the report states and their conservation,
the /cores dataset's part, the warehouse load and the launches no longer listed upstream.

The run report (run_report.RunReport) holds them. Each one's `as_dict` is its part of the report's
JSON, exactly as Airflow's run_metrics and people have read it, and `from_dict` reads that part back
(run_metrics reads a report another process wrote). No Spark here: Airflow imports this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from spacex_launches.lake.catalog import TableSnapshot
from spacex_launches.warehouse import WarehouseSync


def snapshot_of(table: str, document: dict[str, Any]) -> TableSnapshot:
    """A TableSnapshot from its report entry (TableSnapshot.as_dict, under the table's name)."""
    return TableSnapshot(table, document["table_uuid"], document["snapshot_id"], document["sequence_number"])


def part_or_none(read: Callable[[Any], Any], value: Any) -> Any:
    """`read(value)`, or None for a part the report does not have (null, or the empty {} of a run that
    stopped before it)."""
    return read(value) if value else None


# --- the scan of one dataset's input (pipeline.stage_records) ---------------------------------------


def rule_metric(rule: str) -> str:
    """The name of the observed metric counting the records kept out by `rule`."""
    return f"rule:{rule}"


def warning_metric(rule: str) -> str:
    """The name of the observed metric counting the records kept that fail the warning rule `rule`."""
    return f"warning:{rule}"


@dataclass(frozen=True)
class Intake:
    """What the one scan of a dataset's input counted (Spark's observed metrics, read once)."""

    input_records: int
    unreadable_files: int
    unreadable_example: str | None  # `<file>: <why>` of one unreadable file
    quarantined: int
    duplicates_collapsed: int
    latest: int  # the records kept: the latest version of each key
    same_time_conflicts: int
    same_time_conflict_ids: str | None  # up to 20 ids, `; `-separated
    warned_records: str | None  # `<id>: <rules>` of records kept that fail a warning rule
    rule_failures: dict[str, int]
    rule_warnings: dict[str, int]
    slots: int = 0  # launches: the core slots of the launches kept
    unknown_core_slots: int = 0  # launches: the slots that name no core

    @classmethod
    def from_observed(
        cls, metrics: dict[str, Any], rules: tuple[str, ...], warnings: tuple[str, ...]
    ) -> Intake:
        """From the observed metrics (a count over no rows is null: 0 here)."""

        def count(name: str) -> int:
            return metrics.get(name) or 0

        return cls(
            input_records=count("input_records"),
            unreadable_files=count("unreadable_files"),
            unreadable_example=metrics.get("unreadable_example"),
            quarantined=count("quarantined"),
            duplicates_collapsed=count("duplicates_collapsed"),
            latest=count("latest"),
            same_time_conflicts=count("same_time_conflicts"),
            same_time_conflict_ids=metrics.get("same_time_conflict_ids"),
            warned_records=metrics.get("warned_records"),
            rule_failures={rule: count(rule_metric(rule)) for rule in rules},
            rule_warnings={rule: count(warning_metric(rule)) for rule in warnings},
            slots=count("slots"),
            unknown_core_slots=count("unknown_core_slots"),
        )


# --- the lake: what each table's merge decided and committed ----------------------------------------


@dataclass(frozen=True)
class KeyChanges:
    """What a merge decided per key (a launch; a core for `cores`): precedence.CHANGES, and, for a
    merge that compared with the table, the keys whose two records of one fetch time differed."""

    insert: int = 0
    update: int = 0
    unchanged: int = 0
    kept_newer: int = 0
    same_time_conflicts: int | None = None  # None: a first load, which writes without comparing

    @property
    def decided(self) -> int:
        """The keys decided on (each change but the conflict count)."""
        return self.insert + self.update + self.unchanged + self.kept_newer

    def as_dict(self) -> dict[str, int]:
        changes = {
            "insert": self.insert,
            "update": self.update,
            "unchanged": self.unchanged,
            "kept_newer": self.kept_newer,
        }
        if self.same_time_conflicts is not None:
            changes["same_time_conflicts"] = self.same_time_conflicts
        return changes

    @classmethod
    def from_dict(cls, changes: dict[str, int]) -> KeyChanges:
        """From a report entry, or precedence.change_summary's counts (the same names)."""
        return cls(**changes)


@dataclass(frozen=True)
class MergeOutcome:
    """One table's merge: its snapshot after the run (committed, or unchanged) and what it decided."""

    snapshot: TableSnapshot
    committed: bool
    changes: KeyChanges
    rows_added: int = 0  # rows in the files the commit added / removed
    rows_removed: int = 0
    attempts: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.snapshot.as_dict(),
            "committed": self.committed,
            # "launches": the report's name for the changes per key, from when it merged launches only
            "launches": self.changes.as_dict(),
            "rows_added": self.rows_added,
            "rows_removed": self.rows_removed,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, table: str, document: dict[str, Any]) -> MergeOutcome:
        return cls(
            snapshot_of(table, document),
            document["committed"],
            KeyChanges.from_dict(document["launches"]),
            document["rows_added"],
            document["rows_removed"],
            document["attempts"],
        )


@dataclass(frozen=True)
class QuarantineOutcome:
    """The run's quarantined rows, replaced in one commit: how many, per dataset."""

    rows: int
    by_dataset: dict[str, int]
    snapshot: TableSnapshot
    committed: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "by_dataset": dict(self.by_dataset),
            **self.snapshot.as_dict(),
            "committed": self.committed,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> QuarantineOutcome:
        return cls(
            document["rows"],
            document["by_dataset"],
            snapshot_of("quarantine", document),
            document["committed"],
        )


@dataclass
class LakeOutcome:
    """Per lake table the run committed to (or decided not to), in commit order."""

    quarantine: QuarantineOutcome | None = None
    launches: MergeOutcome | None = None
    launch_cores: MergeOutcome | None = None
    launch_sightings: MergeOutcome | None = None
    cores: MergeOutcome | None = None

    def tables(self) -> dict[str, QuarantineOutcome | MergeOutcome]:
        """The tables the run reached, by name, in commit order."""
        reached = {table.name: getattr(self, table.name) for table in fields(self)}
        return {table: outcome for table, outcome in reached.items() if outcome is not None}

    def changes(self, table: str) -> KeyChanges:
        """What `table`'s merge decided (nothing when the run did not merge it)."""
        outcome = getattr(self, table)
        return KeyChanges() if outcome is None else outcome.changes

    def quarantined(self, dataset: str) -> int:
        """The quarantined rows of `dataset` read back from the committed quarantine."""
        return 0 if self.quarantine is None else self.quarantine.by_dataset.get(dataset, 0)

    def as_dict(self) -> dict[str, Any]:
        return {table: outcome.as_dict() for table, outcome in self.tables().items()}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> LakeOutcome:
        def merge(table: str) -> MergeOutcome | None:
            entry = document.get(table)
            return None if entry is None else MergeOutcome.from_dict(table, entry)

        quarantine = document.get("quarantine")
        return cls(
            quarantine=None if quarantine is None else QuarantineOutcome.from_dict(quarantine),
            launches=merge("launches"),
            launch_cores=merge("launch_cores"),
            launch_sightings=merge("launch_sightings"),
            cores=merge("cores"),
        )


# --- the counts the report states -------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchCounts:
    """The /launches dataset's records, and where each went."""

    input_records: int
    launches: int  # the launches the merge decided on
    duplicates_collapsed: int
    quarantined: int
    launch_cores: int
    unknown_core_slots: int
    same_time_conflicts: int

    @property
    def kept(self) -> int:
        return self.launches

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, int]) -> LaunchCounts:
        return cls(**document)


@dataclass(frozen=True)
class CoreCounts:
    """The /cores dataset's records, and where each went."""

    input_records: int
    cores: int  # the cores the merge decided on
    duplicates_collapsed: int
    quarantined: int

    @property
    def kept(self) -> int:
        return self.cores

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, int]) -> CoreCounts:
        return cls(**document)


@dataclass(frozen=True)
class Conservation:
    """The rule every input record obeys (pipeline._check_conservation), and that it held."""

    rule: str
    holds: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Conservation:
        return cls(**document)


@dataclass
class CoresOutcome:
    """The /cores dataset's part of a run that read it."""

    counts: CoreCounts
    rule_failures: dict[str, int]
    conservation: Conservation | None = None  # None: the check did not run (the run failed first)

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "counts": self.counts.as_dict(),
            "rule_failures": dict(self.rule_failures),
        }
        if self.conservation is not None:
            document["conservation"] = self.conservation.as_dict()
        return document


@dataclass(frozen=True)
class CoresSkipped:
    """The /cores dataset's part of a run that found no /cores files where none were required."""

    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"skipped": self.reason}


def cores_from_dict(document: dict[str, Any]) -> CoresOutcome | CoresSkipped:
    if "skipped" in document:
        return CoresSkipped(document["skipped"])
    return CoresOutcome(
        CoreCounts.from_dict(document["counts"]),
        document["rule_failures"],
        part_or_none(Conservation.from_dict, document.get("conservation")),
    )


# --- inputs, the warehouse load, launches no longer listed ------------------------------------------


@dataclass(frozen=True)
class InputFileEntry:
    """One input file the run read."""

    path: str
    format: str
    bytes: int
    compressed: bool
    snapshot_time: str | None  # ISO 8601; None: unknown
    snapshot_time_from: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> InputFileEntry:
        return cls(**document)


@dataclass
class Inputs:
    paths: list[str]
    files: list[InputFileEntry] = field(default_factory=list)
    skipped: list[dict[str, str]] | None = None  # discovery's {"path", "reason"}; None: not looked yet
    cores_files: list[InputFileEntry] | None = None  # None: the run read no /cores

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"paths": list(self.paths), "files": [f.as_dict() for f in self.files]}
        if self.skipped is not None:
            document["skipped"] = [dict(entry) for entry in self.skipped]
        if self.cores_files is not None:
            document["cores_files"] = [f.as_dict() for f in self.cores_files]
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Inputs:
        cores_files = document.get("cores_files")
        return cls(
            document.get("paths", []),
            [InputFileEntry.from_dict(f) for f in document.get("files", [])],
            document.get("skipped"),
            None if cores_files is None else [InputFileEntry.from_dict(f) for f in cores_files],
        )


@dataclass
class WarehouseOutcome:
    """Where the warehouse load went, and what it did (None until it ended)."""

    target: str
    location: str
    sync: WarehouseSync | None = None

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"target": self.target, "location": self.location}
        if self.sync is not None:
            document.update(self.sync.as_dict())
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> WarehouseOutcome:
        sync = WarehouseSync.from_dict(document) if "tables" in document else None
        return cls(document["target"], document["location"], sync)


@dataclass(frozen=True)
class NotListed:
    """The launches the lake holds that the newest complete snapshot of the input did not list."""

    complete_snapshot: str  # ISO 8601 fetch time of that snapshot
    launches: int
    launch_ids: list[str]
    last_seen_at: dict[str, str]  # launch id -> ISO 8601

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> NotListed:
        return cls(**document)
