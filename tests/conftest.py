"""Shared test set-up: pytester for the plugin tests, Hypothesis profiles.

Profiles (``tests/test_properties.py`` scales each property's examples from
``max_examples``):

* ``default``: quick, for every local run;
* ``ci``: more examples, derandomized so that CI is reproducible (tox sets
  ``HYPOTHESIS_PROFILE=ci``);
* ``thorough``: long hunts, with free architectures for the JAX engine too.

The profile comes from ``HYPOTHESIS_PROFILE`` (``default`` when unset);
``pytest --hypothesis-profile NAME`` overrides it.  JAX compiles on first use,
so no profile has a deadline.
"""

from __future__ import annotations

import os

from hypothesis import settings

pytest_plugins = ["pytester"]

settings.register_profile("default", max_examples=20, deadline=None)
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
