"""The bug zoo: every bug of the catalogue as a mutant engine, against every check.

A check that no broken engine can fail is not a check.  Each bug of
:mod:`bpcheck.diagnose.variants` is planted in the loops engine, and each check
of bpcheck is run against the mutant:

* ``fixtures``: the bundled fixtures, every claim at its expected verdict;
* ``agreement``: the mutant beside the loops engine on the bundled fixtures;
* ``conformance fixtures``: the pinned fixtures ``bpcheck conform`` runs;
* ``conformance``: the engine contract suite of :mod:`bpcheck.testing.conformance`;
* ``path equivalence``: the lean path of unrecorded steps against the recorded path;
* ``gradcheck``: finite differences of the loss against the mutant's gradients.

Beside the catalogue's bugs, the zoo holds the engine bugs the tutorials' fixtures
miss (:mod:`bpcheck.diagnose.engine_bugs`).

:func:`zoo_table` is the table of ``docs/diagnose.md``; ``bpcheck sync`` writes it
with the other generated files.  ``tests/diagnose/test_zoo.py`` adds the Hypothesis property
checks, which live in the tests, and fails when a mutant escapes every check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial

from bpcheck.checking import registry
from bpcheck.checking.check import OK, check_fixture
from bpcheck.diagnose.engine_bugs import ENGINE_BUGS
from bpcheck.diagnose.variants import BUGS, Variant, VariantEngine
from bpcheck.gradcheck import Outcome, gradcheck_fixture
from bpcheck.io.loader import load
from bpcheck.model.engine import CannotRun, Engine
from bpcheck.model.fixture import Fixture
from bpcheck.testing import conformance_fixtures
from bpcheck.testing.conformance import failing_checks
from bpcheck.testing.minimal_problems import covering_problems
from bpcheck.testing.paths import path_differences

ZooCheck = Callable[[Engine, list[Fixture]], bool]


def fails_a_claim(mutant: Engine, fixture: Fixture) -> bool:
    """Some claim of the fixture no longer reaches its expected verdict."""
    result = check_fixture(fixture, {mutant.name: mutant})
    return any(claim.outcome != OK for claim in result.claims)


def disagrees_with_loops(mutant: Engine, fixture: Fixture) -> bool:
    """The mutant and the loops engine disagree on some quantity of the fixture."""
    loops = registry.reference_engine()
    return bool(check_fixture(fixture, {"loops": loops, mutant.name: mutant}).disagreements)


def fails_gradcheck(mutant: Engine, fixture: Fixture) -> bool:
    """Finite differences disagree with the mutant's gradient on the fixture."""
    results = gradcheck_fixture(fixture, {mutant.name: mutant})
    return any(result.outcome != Outcome.OK for result in results)


def caught_by_fixtures(mutant: Engine, fixtures: list[Fixture]) -> bool:
    """Some claim of a bundled fixture no longer reaches its expected verdict."""
    return any(fails_a_claim(mutant, fixture) for fixture in fixtures)


def caught_by_agreement(mutant: Engine, fixtures: list[Fixture]) -> bool:
    """The mutant and the loops engine disagree on some quantity of a bundled fixture."""
    return any(disagrees_with_loops(mutant, fixture) for fixture in fixtures)


def caught_by_gradcheck(mutant: Engine, fixtures: list[Fixture]) -> bool:
    """Finite differences disagree with the mutant's gradient on some bundled fixture."""
    return any(fails_gradcheck(mutant, fixture) for fixture in fixtures)


def caught_by_conformance(mutant: Engine, fixtures: list[Fixture]) -> bool:
    return bool(failing_checks(mutant))


def caught_by_conformance_fixtures(mutant: Engine, fixtures: list[Fixture]) -> bool:
    """Some pinned value of the conformance fixtures (``bpcheck conform``) moves."""
    return any(fails_a_claim(mutant, load(path)) for path in conformance_fixtures.paths())


def caught_by_path_equivalence(mutant: Engine, fixtures: list[Fixture]) -> bool:
    """The mutant's lean path and recorded path differ (or it crashes, failing the property
    as it fails a test) on a problem of every capability; problems it declines are left out."""
    for problem in covering_problems():
        try:
            if path_differences(mutant, problem, limit=1):
                return True
        except CannotRun:
            continue
        except Exception:
            return True
    return False


CHECKS: dict[str, ZooCheck] = {
    "fixtures": caught_by_fixtures,
    "agreement": caught_by_agreement,
    "conformance fixtures": caught_by_conformance_fixtures,
    "conformance": caught_by_conformance,
    "path equivalence": caught_by_path_equivalence,
    "gradcheck": caught_by_gradcheck,
}
"""The checks that live in bpcheck, the columns of the bug zoo table (docs/diagnose.md), in
the order a user meets them: the first that catches a bug is named in the last column."""

ZOO_BUGS: tuple[Variant, ...] = BUGS + ENGINE_BUGS
"""The catalogue's bugs and the engine bugs the tutorials' fixtures miss (issue 15)."""


PER_FIXTURE: dict[ZooCheck, Callable[[Engine, Fixture], bool]] = {
    caught_by_fixtures: fails_a_claim,
    caught_by_agreement: disagrees_with_loops,
    caught_by_gradcheck: fails_gradcheck,
}
"""The checks that catch a bug when they catch it on some fixture: remembered per fixture."""

WITHOUT_FIXTURES: frozenset[ZooCheck] = frozenset(
    {caught_by_conformance, caught_by_conformance_fixtures, caught_by_path_equivalence}
)
"""The checks that read none of the fixtures they are given: remembered per bug."""

_CAUGHT: dict[tuple[Variant, object, str], bool] = {}
"""Cells already computed in this process: (bug, check, what it read) -> caught.

``bpcheck sync`` and several tests each make the table, which takes a minute; within one
process the code cannot change, so a cell is computed again only for other fixtures (a
fixture's digest covers its problem and its claims)."""


def fixtures_key(fixtures: list[Fixture]) -> str:
    """A digest of everything a zoo check reads from the fixtures: paths, problems, claims."""
    digest = hashlib.sha256()
    for fixture in fixtures:
        digest.update(repr(fixture).encode())
    return digest.hexdigest()


def _remembered(bug: Variant, check: object, key: str, compute: Callable[[], bool]) -> bool:
    cell = (bug, check, key)
    if cell not in _CAUGHT:
        _CAUGHT[cell] = compute()
    return _CAUGHT[cell]


def caught(bug: Variant, check: ZooCheck, fixtures: list[Fixture]) -> bool:
    """Whether ``check`` catches ``bug`` planted in an engine, each part computed once per
    process: what :func:`zoo` would compute with ``check(VariantEngine((bug,)), fixtures)``."""
    mutant = VariantEngine((bug,))
    if check in WITHOUT_FIXTURES:
        return _remembered(bug, check, "", lambda: check(mutant, fixtures))
    on_fixture = PER_FIXTURE.get(check)
    if on_fixture is None:
        key = fixtures_key(fixtures)
        return _remembered(bug, check, key, lambda: check(mutant, fixtures))
    return any(
        _remembered(bug, on_fixture, fixtures_key([f]), partial(on_fixture, mutant, f))
        for f in fixtures
    )


def zoo(
    fixtures: list[Fixture],
    checks: dict[str, ZooCheck] | None = None,
    bugs: tuple[Variant, ...] = ZOO_BUGS,
) -> dict[str, dict[str, bool]]:
    """bug name -> check name -> caught."""
    checks = CHECKS if checks is None else checks
    return {
        bug.name: {name: caught(bug, check, fixtures) for name, check in checks.items()}
        for bug in bugs
    }


def zoo_markdown(results: dict[str, dict[str, bool]]) -> str:
    """The bug zoo table (docs/diagnose.md): bug x check, caught or escaped."""
    docs = {bug.name: bug.doc for bug in ZOO_BUGS}
    checks = list(next(iter(results.values())))
    headers = ["bug", "what it does", *checks, "first caught by"]
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for name, row in results.items():
        cells = ["caught" if row[check] else "escaped" for check in checks]
        cells.append(next((check for check in checks if row[check]), "nothing"))
        lines.append(f"| `{name}` | {docs[name]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def zoo_table(fixtures: list[Fixture]) -> str:
    """The bug zoo table of docs/diagnose.md: every bug against the checks that live in bpcheck."""
    return zoo_markdown(zoo(fixtures))
