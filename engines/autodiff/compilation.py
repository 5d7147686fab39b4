"""Compiling once per machine, not once per process: JAX's persistent compilation cache.

A compile costs 0.3-0.7 s per shape and function, more than running most fixtures.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

with contextlib.suppress(ImportError):  # without JAX the engine is unavailable: no call here
    import jax


def compilation_cache_folder() -> Path | None:
    """Where compiled functions are kept between runs, or None when that is turned off.

    ``BPCHECK_JAX_CACHE_DIR`` (``off`` turns it off), else ``jax`` in ``BPCHECK_CACHE_DIR``,
    else in the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``, ``bpcheck/jax``).
    Written here and not taken from bpcheck: an engine knows only the problem model.
    """
    chosen = os.environ.get("BPCHECK_JAX_CACHE_DIR")
    if chosen is not None:
        return None if chosen in ("", "off", "0") else Path(chosen)
    shared = os.environ.get("BPCHECK_CACHE_DIR")
    if shared:
        return Path(shared) / "jax"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bpcheck" / "jax"


@functools.cache
def use_compilation_cache() -> Path | None:
    """Keep what XLA compiles on disk, so that the next process loads it instead (once).

    A compile costs 0.3-0.7 s per shape and function, more than running most
    fixtures; JAX's persistent cache keys each entry by the program, the JAX and
    XLA versions and the flags, so an entry is never used for anything else, and
    the folder may be deleted at any time.  Every entry is kept, however quick
    its compile (JAX's default keeps only those over a second).
    """
    folder = compilation_cache_folder()
    if folder is None:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))  # type: ignore[no-untyped-call]
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # type: ignore[no-untyped-call]
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)  # type: ignore[no-untyped-call]
    return folder
