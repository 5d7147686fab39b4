"""Placeholder: `bpcheck gradcheck` is being written."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the `gradcheck` sub-command to the CLI's sub-parsers (none yet)."""
