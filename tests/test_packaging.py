"""What installing bpcheck puts on a machine: the bpcheck package only, engines inside it.

The engines live in the top-level ``engines/`` folder and install as
``bpcheck.engines`` (``package-dir`` in pyproject.toml).  The packages are listed
there by hand, because an sdist carries no link from ``bpcheck/engines``; these
tests keep that list honest and show that a wheel built from the sdist, as tox and
pip build it, holds the engines and no top-level ``engines`` module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import ROOT


def listed_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def package_folders() -> set[str]:
    found = set()
    for folder, _, files in os.walk(ROOT / "bpcheck", followlinks=True):
        if "__init__.py" in files:
            found.add(".".join(Path(folder).relative_to(ROOT).parts))
    return found


def test_every_package_folder_is_listed_in_pyproject() -> None:
    assert listed_packages() == package_folders()


def build(backend_call: str, source: Path, out: Path) -> Path:
    """Run one PEP 517 hook of setuptools in ``source``; return the file it wrote."""
    code = f"import setuptools.build_meta as b; print(b.{backend_call}({str(out)!r}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=source, capture_output=True, text=True, check=True
    )
    return out / result.stdout.strip().splitlines()[-1]


def test_a_wheel_built_from_the_sdist_has_the_engines_under_bpcheck(tmp_path: Path) -> None:
    pytest.importorskip("setuptools", reason="setuptools builds the sdist and the wheel")
    sdist = build("build_sdist", ROOT, tmp_path)
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (source,) = (tmp_path / "unpacked").iterdir()
    wheel = build("build_wheel", source, tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "bpcheck/engines/loops/engine.py" in names
    assert "bpcheck/engines/matrices/network.py" in names
    assert "bpcheck/io/schema/fixture-v1.schema.json" in names
    assert not [name for name in names if name.startswith("engines/")], names
