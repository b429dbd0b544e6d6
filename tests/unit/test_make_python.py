"""A newcomer's first `make`: the Python that makes .venv is checked before anything is made, and a .venv
made by another Python is made again rather than reused for ever. Stand-in Pythons (shell scripts that
answer `-V` and `-m venv`) on a PATH that holds nothing else: no real venv, no pip."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIRES = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]

STAND_IN = """#!/bin/sh
# A Python that only says its version and makes a "venv" holding a copy of itself; pip does nothing.
case "$1 $2" in
  "-V "*) echo "Python {version}" ;;
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
  *) echo "$@" >> "$(dirname "$0")/../pip-calls" ;;
esac
"""


def stand_in(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STAND_IN.replace("{version}", version))
    path.chmod(0o755)
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    """The files `make install` reads, in a directory of their own."""
    for name in ("Makefile", "pyproject.toml", "constraints.txt", "infra/platform.mk"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def make_install(project: Path, bin_dir: Path, *variables: str) -> subprocess.CompletedProcess:
    """`make install` with only bin_dir (stand-in Pythons) and a few tools on PATH: no python3.11 there."""
    for tool in ("rm", "mkdir", "cp", "touch", "dirname"):
        if not (bin_dir / tool).exists():
            os.symlink(shutil.which(tool), bin_dir / tool)
    make = shutil.which("make")
    return subprocess.run(
        [make, "--no-print-directory", "install", *variables],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(bin_dir)},
    )


def test_the_makefile_asks_for_the_python_pyproject_requires():
    makefile = (REPO / "Makefile").read_text()
    assert REQUIRES == ">=3.11,<3.12"
    assert "PYTHON_VERSION := 3.11\n" in makefile and f"requires-python {REQUIRES}" in makefile


def test_a_wrong_python_on_path_stops_make_before_it_makes_the_venv(project, tmp_path):
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir / "python3", "3.13.1")  # the only Python on PATH

    result = make_install(project, bin_dir)

    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr
    assert f"make needs Python 3.11 to make .venv (pyproject.toml: requires-python {REQUIRES})" in message
    assert f"PYTHON={bin_dir / 'python3'} is Python 3.13.1" in message
    assert "apt-get install python3.11" in message and "make run PYTHON=/path/to/python3.11" in message
    assert not (project / ".venv").exists()


def test_a_venv_made_by_another_python_is_named_and_made_again(project, tmp_path):
    bin_dir = tmp_path / "bin"
    stand_in(project / ".venv" / "bin" / "python", "3.13.1")  # left by a `make run` with only 3.13
    right = stand_in(bin_dir / "python3.11", "3.11.9")  # then 3.11 was installed

    result = make_install(project, bin_dir)

    assert result.returncode == 0, result.stdout + result.stderr
    assert ".venv was made with Python 3.13.1, not Python 3.11: making it again" in result.stdout
    assert (project / ".venv" / "bin" / "python").read_text() == right.read_text()
    assert (project / ".venv" / ".installed").exists()
    assert "-m pip install --quiet -c constraints.txt -e ." in (project / ".venv" / "pip-calls").read_text()

    again = make_install(project, bin_dir, "-W", "pyproject.toml")  # a venv of the right Python is kept
    assert again.returncode == 0, again.stdout + again.stderr
    assert "making it again" not in again.stdout
