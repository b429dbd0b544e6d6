"""Paths to the repo and its data, and to the real API snapshot beside it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO / "sample" / "launches"
SAMPLE_CORES = REPO / "sample" / "cores"
SNAPSHOT_DIR = REPO.parent / "shared" / "data" / "spacex"
SNAPSHOT_FILE = SNAPSHOT_DIR / "launches-v5-snapshot-2025-06-27.json"
