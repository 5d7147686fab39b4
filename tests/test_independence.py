"""The engines share no math: agreement between them only means something if this holds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINES = Path(__file__).resolve().parent.parent / "engines"
ENGINE_MODULES = sorted(p.stem for p in ENGINES.glob("*.py") if p.stem != "__init__")
SHARED_DATA_MODULES = {"bpcheck.model.problem", "bpcheck.model.quantities", "bpcheck.model.engine"}
"""What engines may import from bpcheck: the plain problem data, names and the contract."""


def imported_modules(module: str) -> set[str]:
    tree = ast.parse((ENGINES / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add("engines." + (node.module or ""))
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_three_engines_are_there() -> None:
    assert {"loops", "matrices", "autodiff"} <= set(ENGINE_MODULES)


def test_loops_imports_neither_numpy_nor_jax() -> None:
    roots = {name.split(".")[0] for name in imported_modules("loops")}
    assert not roots & {"numpy", "jax", "jaxlib", "scipy", "torch"}, roots


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_no_engine_imports_another(module: str) -> None:
    others = {f"engines.{m}" for m in ENGINE_MODULES if m != module} | {"engines"}
    imported = imported_modules(module)
    assert not imported & others, f"{module} imports {sorted(imported & others)}"


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_engines_take_only_data_and_names_from_bpcheck(module: str) -> None:
    harness = ENGINES.parent / "bpcheck"
    from_bpcheck = {
        name
        for name in imported_modules(module)
        if name.count(".") == 1
        and name.startswith("bpcheck.")
        and (harness / f"{name.split('.')[1]}.py").exists()
    }
    assert from_bpcheck <= SHARED_DATA_MODULES, (
        f"{module} imports {sorted(from_bpcheck - SHARED_DATA_MODULES)} from bpcheck"
    )
