"""``pytest --bpcheck-accept``: at the end of the run, ``bpcheck accept`` every fixture that ran.

The items fail or pass as they would without the option (the run shows what
changed); then each fixture file with an item that ran (``-k`` narrows the files,
not the claims) is accepted as :mod:`bpcheck.authoring.accept` does it: expected
verdicts and pins rewritten from the engines' agreed result, the diff printed, a
file left as it was where the engines disagree (and the run's exit status then
says failed).  The engine runs of the items are reused; under xdist the main
process runs the engines again, once per fixture.

A pytest plugin of its own (an entry point beside :mod:`bpcheck.testing.plugin`),
because rewriting fixtures is authoring, a layer above the plugin that collects
them.  Without the option, or when no bpcheck item ran, it does nothing; and as
pytest imports it in every project, it imports what accepting needs only when used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bpcheck.testing.plugin import fixtures_that_ran


@dataclass
class Acceptance:
    """What ``--bpcheck-accept`` did: the diffs, the refusals, and how many of each."""

    diffs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fixtures: int = 0
    rewritten: int = 0
    refused: int = 0


_DONE = pytest.StashKey[Acceptance]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("bpcheck").addoption(
        "--bpcheck-accept",
        action="store_true",
        help="after the run, rewrite the expected verdicts and pinned values of every fixture "
        "that ran from the engines' agreed result, and print the diff (as bpcheck accept)",
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if not config.getoption("--bpcheck-accept") or hasattr(config, "workerinput"):
        return
    paths = fixtures_that_ran(config)
    if not paths:
        return
    done = Acceptance()
    for path in paths:
        accept_file(config, path, done)
    config.stash[_DONE] = done
    if done.refused:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def accept_file(config: pytest.Config, path: Path, done: Acceptance) -> None:
    """Accept one fixture file with the session's engine runs; what happened goes in ``done``."""
    from bpcheck.authoring.accept import accepted
    from bpcheck.checking.check import FixtureResult, disagreements, judge
    from bpcheck.errors import BadInput
    from bpcheck.io.files import write_atomically
    from bpcheck.io.loader import load
    from bpcheck.testing.plugin_items import session_runs

    done.fixtures += 1
    try:
        fixture = load(path)
        runs = session_runs(config).runs(fixture)
        claims = [judge(claim, runs) for claim in fixture.claims]
        result = accepted(fixture, FixtureResult(fixture, runs, claims, disagreements(runs)))
        if result.changed and not result.problems:
            write_atomically(path, result.new_text)
    except BadInput as error:
        done.problems.extend(error.lines)
        done.refused += 1
        return
    done.problems.extend(f"{path}: {problem}" for problem in result.problems)
    if result.problems:
        done.refused += 1
    elif result.changed:
        done.diffs.append(result.diff())
        done.rewritten += 1


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    done = config.stash.get(_DONE, None)
    if done is None:
        return
    from bpcheck.io.escape import terminal_text

    terminalreporter.section("bpcheck accept", sep="-")
    for diff in done.diffs:
        terminalreporter.write(
            terminal_text(diff if diff.endswith("\n") else diff + "\n", lines=True)
        )
    for line in done.problems:
        terminalreporter.write_line(terminal_text(line), red=True)
    terminalreporter.write_line(
        f"{done.fixtures} fixture(s): {done.rewritten} rewritten, {done.refused} refused"
    )
