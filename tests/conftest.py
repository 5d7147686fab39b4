"""Shared test set-up: engines and fixtures loaded once per session, pytester, Hypothesis profiles.

Engines and the bundled fixtures are session fixtures, loaded on first use rather
than at import, so collecting the suite (or a part of it) loads nothing it does not
run.  Tests parametrise over fixture *files* (:data:`tests.support.paths.BUNDLED_FIXTURES`)
or engine *names* (:func:`bpcheck.checking.registry.names`) and look the loaded object up.

Hypothesis profiles (``tests/testing/test_properties.py`` scales each property's examples
from ``max_examples``):

* ``default``: quick, for every local run;
* ``ci``: more examples, derandomized so that CI is reproducible (tox's py311, which
  runs everything, sets ``HYPOTHESIS_PROFILE=ci``);
* ``quick``: the default's examples, derandomized: tox's other Pythons, nojax and the
  contributor's ``fast`` run, which test the interpreter and the install, not the logic;
* ``thorough``: long hunts, with free architectures for the JAX engine too.

The profile comes from ``HYPOTHESIS_PROFILE`` (``default`` when unset);
``pytest --hypothesis-profile NAME`` overrides it.  JAX compiles on first use,
so no profile has a deadline.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from bpcheck.checking import registry
from bpcheck.io.loader import load_all
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture
from tests.support.paths import ROOT

pytest_plugins = ["pytester"]

# Commands run by tests compute everything in this process: no trace cache shared between
# tests (tests/checking/test_cache.py and test_parallel.py use their own) and no ``-j``
# processes, which would build the registry's engines instead of a test's.
os.environ.setdefault("BPCHECK_NO_CACHE", "1")
os.environ.setdefault("BPCHECK_JOBS", "1")

settings.register_profile("default", max_examples=20, deadline=None)
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True)
settings.register_profile("quick", max_examples=20, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def engines() -> dict[str, Engine]:
    """Every registered engine, built in this process (tests inspect them), available or not."""
    return registry.in_process()


@pytest.fixture(scope="session")
def available(engines: dict[str, Engine]) -> dict[str, Engine]:
    """The engines that can run here (without JAX, autodiff is not among them)."""
    return {name: engine for name, engine in engines.items() if engine.available().available}


@pytest.fixture(scope="session")
def bundled() -> dict[Path, Fixture]:
    """Every bundled fixture, by its file's path."""
    fixtures, errors = load_all([ROOT / "fixtures"])
    assert not errors, errors
    return {fixture.path.resolve(): fixture for fixture in fixtures}
