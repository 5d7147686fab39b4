"""The option every command that runs engines through the trace cache has."""

from __future__ import annotations

import argparse


def add_no_cache(parser: argparse.ArgumentParser) -> None:
    """``--no-cache``: compute everything again (see :mod:`bpcheck.checking.cache`)."""
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="compute every engine's trace again and keep nothing (the cache folder is "
        "BPCHECK_CACHE_DIR, else the user's cache folder; docs/caches.md)",
    )
