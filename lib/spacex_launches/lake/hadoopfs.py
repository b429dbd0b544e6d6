"""The few file-system operations the job needs, through Hadoop's FileSystem API, so the same code
serves local paths and `s3a://` with the session's own settings and credentials."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from pyspark.sql import SparkSession

GLOB_CHARACTERS = "*?[]{}\\"


class LakeFS:
    """Thin wrapper over Hadoop FileSystem."""

    def __init__(self, spark: SparkSession):
        self._jvm: Any = spark.sparkContext._jvm  # py4j's view of the JVM: classes by attribute
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _resolve(self, path: str):
        jpath = self._jvm.org.apache.hadoop.fs.Path(path)
        return jpath.getFileSystem(self._conf), jpath

    def exists(self, path: str) -> bool:
        fs, jpath = self._resolve(path)
        return fs.exists(jpath)

    def delete(self, path: str) -> None:
        fs, jpath = self._resolve(path)
        if fs.exists(jpath):
            fs.delete(jpath, True)

    def list_files(self, path: str) -> list[tuple[str, int]] | None:
        """(uri, size) of every file under `path` (a file, a directory, or a glob when nothing exists
        under its literal name), sorted by uri; None when nothing matches."""
        fs, jpath = self._resolve(path)
        if fs.exists(jpath):
            statuses = [fs.getFileStatus(jpath)]
        elif any(character in path for character in GLOB_CHARACTERS):
            statuses = list(fs.globStatus(jpath) or [])
        else:
            statuses = []
        if not statuses:
            return None
        found = []
        for status in statuses:
            if status.isFile():
                found.append((status.getPath().toString(), status.getLen()))
                continue
            files = fs.listFiles(status.getPath(), True)
            while files.hasNext():
                child = files.next()
                found.append((child.getPath().toString(), child.getLen()))
        return sorted(found)

    def broken_links(self, path: str) -> list[str]:
        """Symbolic links under a local `path` whose target is gone: Hadoop's local listing leaves them
        out without a word, so they are looked for here (a file system without links has none)."""
        parts = urlsplit(path)
        if parts.scheme not in ("", "file"):
            return []
        root = parts.path if parts.scheme else path
        if os.path.islink(root) and not os.path.exists(root):
            return [f"file:{root}"]
        found = []
        for folder, _, names in os.walk(root):
            found += [
                f"file:{os.path.join(folder, name)}"
                for name in names
                if os.path.islink(os.path.join(folder, name))
                and not os.path.exists(os.path.join(folder, name))
            ]
        return sorted(found)

    def children(self, path: str) -> list[tuple[str, float]]:
        """(uri, modification time in epoch seconds) of each entry directly under `path`, if it exists."""
        fs, jpath = self._resolve(path)
        if not fs.exists(jpath):
            return []
        return [
            (status.getPath().toString(), status.getModificationTime() / 1000)
            for status in fs.listStatus(jpath)
        ]

    def read_head(self, path: str, size: int) -> bytes:
        """Up to `size` bytes from the start of the file, as stored (compressed or not)."""
        fs, jpath = self._resolve(path)
        stream = fs.open(jpath)
        try:
            bounded = self._jvm.org.apache.commons.io.input.BoundedInputStream(stream, size)
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(bounded))
        finally:
            stream.close()

    def write_text(self, path: str, text: str) -> None:
        """Write a small text file atomically: to a temporary name, then renamed into place."""
        fs, jpath = self._resolve(path)
        temporary = self._jvm.org.apache.hadoop.fs.Path(path + ".inprogress")
        stream = fs.create(temporary, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
        if fs.exists(jpath):
            fs.delete(jpath, False)
        if not fs.rename(temporary, jpath):
            raise OSError(f"could not write {path}")

    def read_text(self, path: str) -> str:
        fs, jpath = self._resolve(path)
        stream = fs.open(jpath)
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)).decode("utf-8")
        finally:
            stream.close()
