"""The JAX engine keeps what XLA compiles on disk: a second process compiles nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax", reason="the autodiff engine's compilation cache needs JAX")
pytestmark = pytest.mark.slow  # each test starts processes that import JAX

PROBE = """
import json, sys
from collections import Counter
import jax.monitoring
from bpcheck.engines.autodiff import AutodiffEngine
from bpcheck.model.examples import mazur

events = Counter()
jax.monitoring.register_event_listener(lambda name, **kwargs: events.update([name]))
trace = AutodiffEngine().run(mazur(3), {0, 3})
print(json.dumps({"events": events, "trace": {str(k): v for k, v in trace.items()}}))
"""
HITS = "/jax/compilation_cache/cache_hits"
ASKED = "/jax/compilation_cache/compile_requests_use_cache"


def probe(folder: str | None, shared: Path | None = None) -> dict[str, dict[str, object]]:
    env = dict(os.environ)
    env.pop("BPCHECK_JAX_CACHE_DIR", None)
    if folder is not None:
        env["BPCHECK_JAX_CACHE_DIR"] = folder
    if shared is not None:
        env["BPCHECK_CACHE_DIR"] = str(shared)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    found: dict[str, dict[str, object]] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_a_second_process_loads_every_compiled_function_instead_of_compiling(
    tmp_path: Path,
) -> None:
    folder = str(tmp_path / "jax")
    first, second = probe(folder), probe(folder)
    assert first["events"].get(ASKED, 0) >= 2 and first["events"].get(HITS, 0) == 0
    assert second["events"].get(HITS, 0) == second["events"][ASKED] == first["events"][ASKED]
    assert any(Path(folder).iterdir())
    assert second["trace"] == first["trace"]


def test_the_folder_is_in_bpcheck_s_cache_folder_unless_turned_off(tmp_path: Path) -> None:
    probe("off", shared=tmp_path)
    assert probe("off", shared=tmp_path)["events"].get(HITS, 0) == 0
    assert not (tmp_path / "jax").exists()
    probe(None, shared=tmp_path)
    assert any((tmp_path / "jax").iterdir())
