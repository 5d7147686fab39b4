"""Shared test set-up: pytester for the plugin tests, Hypothesis profiles."""

from __future__ import annotations

pytest_plugins = ["pytester"]
