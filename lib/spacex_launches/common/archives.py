"""Byte-reproducible zip archives (the EMR artifacts, the job's JVM jar): every entry with one fixed
time, a tree's files in sorted order, so the same files always give the same bytes."""

from __future__ import annotations

import zipfile
from pathlib import Path

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


def add_file(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Add `data` as the entry `name`, deflated, with ZIP_TIME."""
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def add_tree(
    archive: zipfile.ZipFile, root: Path, arcroot: str = "", suffixes: tuple[str, ...] | None = None
) -> None:
    """Add the files under `root` (those with `suffixes`, or all; never __pycache__) as
    <arcroot>/<relative path>, in sorted order."""
    for path in sorted(root.rglob("*")):
        wanted = suffixes is None or path.suffix in suffixes
        if path.is_file() and wanted and "__pycache__" not in path.parts:
            name = path.relative_to(root).as_posix()
            add_file(archive, f"{arcroot}/{name}" if arcroot else name, path.read_bytes())
