"""Every bundled fixture runs with the certified engine, and keeps every expected verdict.

The verdicts are decided on the certified intervals here; the fixtures' ``expect`` fields
were written from float64 values.  Were a printed number so close to a boundary that
float64's rounding decided it, this is where it would show (docs/verdicts.md, "Certified
values": on the bundled fixtures none is).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bpcheck.checking.check import OK, check_fixture
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.verdicts import UNDECIDED
from tests.support.paths import BUNDLED_FIXTURES


@pytest.mark.parametrize("path", BUNDLED_FIXTURES, ids=lambda p: p.stem)
def test_the_certified_engine_runs_and_keeps_every_verdict(path: Path) -> None:
    fixture = load(path)
    result = check_fixture(fixture, {"loops": LoopsEngine(), "certified": CertifiedEngine()})
    certified = next(r for r in result.runs if r.engine == "certified")
    assert certified.outcome == OK, certified.reason
    assert certified.enclosures is not None and certified.enclosures.digits >= 50
    off = [(c.claim.id, c.verdict, c.message) for c in result.claims if c.outcome != OK]
    assert off == []
    assert not [c.claim.id for c in result.claims if c.verdict == UNDECIDED]
    assert result.disagreements == []
