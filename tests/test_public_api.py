"""The public API: every name in ``bpcheck.__all__`` resolves; ``import bpcheck`` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import bpcheck


@pytest.mark.parametrize("name", bpcheck.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(bpcheck, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        _ = bpcheck.nonesuch  # type: ignore[attr-defined]


def test_import_bpcheck_imports_no_numerics() -> None:
    code = "import sys, bpcheck; print(sorted({'numpy', 'jax', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_select_engines_and_check_fixture_work_together() -> None:
    from pathlib import Path

    fixture = bpcheck.load(
        Path(__file__).resolve().parent.parent / "fixtures/hmkcode/hmkcode-2018.json"
    )
    result = bpcheck.check_fixture(fixture, bpcheck.select_engines(["loops"]))
    assert result.outcome == "ok", result
