"""Where the repository's files are, found without loading or importing anything."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root folder."""

BUNDLED_FIXTURES = sorted(
    path for path in (ROOT / "fixtures").rglob("*.json") if "schema" not in path.parts
)
"""Every bundled fixture file, for parametrising tests by file (ids: the file's stem)."""
