"""Running the pytest plugin in a throwaway project (``pytester``), with engines chosen here."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from bpcheck.model.engine import Engine
from bpcheck.testing import plugin_items

QUIET = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
"""The inner run cannot re-import our already-imported plugin for assertion rewriting."""


def write_fixture(pytester: pytest.Pytester, document: dict[str, Any], name: str) -> Path:
    """``fixtures/NAME`` in the throwaway project, indented as a person writes it."""
    folder = pytester.path / "fixtures"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def use_engines(monkeypatch: pytest.MonkeyPatch, engines: dict[str, Engine]) -> None:
    """The plugin's items run these engines (in this process) instead of the registry's.

    Filed under registered names, so that ``--bpcheck-engine`` accepts them.
    """

    def select(names: Collection[str], timeout: float) -> dict[str, Engine]:
        return {name: engines[name] for name in names}

    monkeypatch.setattr(plugin_items, "select_engines", select)
