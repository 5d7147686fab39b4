"""``bpcheck --help`` and ``bpcheck validate`` start without the heavy modules (issue 21).

``--help`` imports every command module to build its parser, so a command module that
imports its work at top level (NumPy, JAX, the engines, the checking code) makes every
``--help`` pay for it.  Each case runs in a fresh interpreter and lists what was imported.
Speed itself is measured (``bpcheck bench --everyday``), not tested here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

HEAVY = ("numpy", "jax", "pandas", "matplotlib", "rich", "hypothesis")
"""Libraries neither ``--help`` nor ``validate`` needs (each matched with its submodules)."""

HELP_HEAVY = (
    *HEAVY,
    "jsonschema",
    "bpcheck.checking.registry",
    "bpcheck.checking.check",
    "bpcheck.testing.conformance",
    "bpcheck.engines",
)
VALIDATE_HEAVY = (*HEAVY, "bpcheck.engines", "bpcheck.checking.registry")
"""``validate`` reads fixtures with the JSON Schema, so jsonschema is allowed there."""

LIST_IMPORTS = """\
import contextlib, io, json, sys
from bpcheck.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(argv: list[str]) -> list[str]:
    """Every module a fresh interpreter has imported after ``bpcheck ARGV`` (output discarded)."""
    done = subprocess.run(
        [sys.executable, "-c", LIST_IMPORTS.format(argv=argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def heavy_imported(modules: list[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(
        {h for h in heavy for m in modules if m == h or m.startswith(h + ".")}  # a prefix
    )


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["conform", "--help"]])
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    found = heavy_imported(imported_by(argv), HELP_HEAVY)
    assert not found, (
        f"bpcheck {' '.join(argv)} imported {', '.join(found)}: --help must not import it "
        "(import it inside the command's handler in bpcheck/cli/, not at the module's top)"
    )


def test_validate_imports_no_engine_nor_heavy_library() -> None:
    found = heavy_imported(
        imported_by(["validate", str(ROOT / "fixtures" / "hmkcode")]), VALIDATE_HEAVY
    )
    assert not found, (
        f"bpcheck validate imported {', '.join(found)}: validate must not import it "
        "(import it inside the command that needs it)"
    )


def test_the_check_sees_a_heavy_import() -> None:
    assert heavy_imported(["bpcheck.engines.loops", "numpy.linalg"], HELP_HEAVY) == [
        "bpcheck.engines",
        "numpy",
    ]
    assert heavy_imported(["bpcheck.engines_extra", "richer"], HELP_HEAVY) == []
