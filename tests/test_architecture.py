"""The layers and the engines' independence, as declared for import-linter in pyproject.toml.

``tox -e lint`` runs ``lint-imports`` on the tree; these tests show that the
contracts hold here and that they are not vacuous: an import planted against a
layer, or between two engines, breaks them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")

pytestmark = pytest.mark.skipif(
    not Path(LINT_IMPORTS).exists(), reason="import-linter is not installed (pip install '.[test]')"
)


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the bpcheck package found in ``root``, with ``root``'s contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


def copy_with(tmp_path: Path, module: str, planted: str) -> Path:
    """A copy of the package (engines included) with one import line appended to ``module``."""
    shutil.copytree(ROOT / "bpcheck", tmp_path / "bpcheck", symlinks=False)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "bpcheck" / module
    target.write_text(target.read_text() + f"\n{planted}  # planted\n")
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("model/problem.py", "import bpcheck.checking.check", "Layers"),
        ("io/loader.py", "import bpcheck.report.compare", "Layers"),
        ("engines/matrices/network.py", "import bpcheck.engines.loops", "independent"),
        ("engines/loops/engine.py", "import bpcheck.io.loader", "engine contract"),
        ("engines/loops/inline.py", "import numpy", "plain Python"),
        ("checking/check.py", "import pandas", "pandas"),
    ],
)
def test_a_planted_import_breaks_its_contract(
    tmp_path: Path, module: str, planted: str, broken: str
) -> None:
    result = lint_imports(copy_with(tmp_path, module, planted))
    assert result.returncode != 0, f"{planted!r} in {module} broke no contract"
    broken_section = result.stdout.split("Broken contracts", 1)[-1]
    assert broken in broken_section, result.stdout
    importer = "bpcheck." + module.removesuffix(".py").replace("/", ".")
    imported = planted.split()[-1]
    assert f"{importer} -> {imported}" in broken_section, result.stdout
