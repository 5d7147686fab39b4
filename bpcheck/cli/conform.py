"""``bpcheck conform``: the conformance checks and the conformance fixtures, on any engine.

What an engine author runs before trusting their engine's numbers: every check of
:mod:`bpcheck.testing.conformance` (with the coverage it reached: which declared
capability each check exercised), then every fixture of
:mod:`bpcheck.testing.conformance_fixtures` (tanh, relu at exactly 0, softmax at large
net inputs, the cross-entropies over many steps, trainable biases of each kind over
several samples, per-sample batches, long unrecorded trainings), each pinned value
judged as ``bpcheck run`` judges it.  A failure names the check, or the fixture and
the claim.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING

from bpcheck.cli.command import add_command, add_engines
from bpcheck.cli.output import BAD, GOOD, say
from bpcheck.errors import ExitCode

if TYPE_CHECKING:
    from bpcheck.model.engine import Engine
    from bpcheck.testing import conformance


def check_engine(engine: Engine) -> conformance.SuiteResult:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.io.progress import working
    from bpcheck.testing import conformance

    with working(f"conformance checks: {engine.name}"):
        return conformance.run_suite(engine)


def print_suite(name: str, suite: conformance.SuiteResult) -> None:
    """One row per check (its outcome and why), then the coverage of each capability."""
    from bpcheck.checking.results import text_table
    from bpcheck.model.engine import ALL_CAPABILITIES

    say(f"\n{name}: conformance checks")
    rows = [
        [r.check, r.outcome, r.message.splitlines()[0] if r.message else ""] for r in suite.results
    ]
    print(text_table(["check", "outcome", "why"], rows))
    coverage = suite.coverage()
    checks = [r.check for r in suite.results]
    undeclared = sorted(ALL_CAPABILITIES - suite.declared)
    say(f"\n{name}: coverage, the checks (of {len(checks)}) that exercised each capability")
    cov_rows = [
        [
            capability,
            str(len(by)),
            ", ".join(c.removeprefix("check_") for c in checks if c not in by),
        ]
        for capability, by in coverage.items()
    ]
    print(text_table(["capability", "checks", "not exercised by"], cov_rows))
    if undeclared:
        say(f"not declared, so not checked: {', '.join(undeclared)}")


def cmd_conform(args: argparse.Namespace) -> ExitCode:
    from bpcheck.checking.check import OK, SKIPPED, check_fixture
    from bpcheck.checking.results import text_table
    from bpcheck.cli.inputs import engines_and_fixtures
    from bpcheck.cli.run import print_result
    from bpcheck.io.progress import working
    from bpcheck.testing import conformance_fixtures

    paths = [str(path) for path in conformance_fixtures.paths()]
    engines, fixtures = engines_and_fixtures(args.engine, paths)
    failed: list[str] = []
    for name, engine in engines.items():
        status = engine.available()
        if not status.available:
            say(f"\n{name}: skipped: {status.reason}")
            continue
        suite = check_engine(engine)
        print_suite(name, suite)
        failed += [f"{name}: {r.check}" for r in suite.failed]
    say("\nconformance fixtures")
    names = list(engines)
    bad_claims = 0
    rows = []
    for fixture in fixtures:
        with working(f"conformance fixture {fixture.id}"):
            result = check_fixture(fixture, engines)
        # an engine without a fixture's capabilities is skipped for it, saying why: not a failure
        wrong = [c for c in result.claims if c.outcome not in (OK, SKIPPED)]
        not_run = [r for r in result.runs if r.outcome not in (OK, SKIPPED)]
        bad_claims += len(wrong)
        state = "ok" if not wrong and not not_run and not result.disagreements else "FAILED"
        skipped = state == "ok" and all(r.outcome == SKIPPED for r in result.runs)
        shown = "skipped: " + "; ".join(f"{r.engine} {r.reason}" for r in result.runs)
        rows.append(
            [fixture.id, str(len(result.claims)), str(len(wrong)), shown if skipped else state]
        )
        if state != "ok":
            print_result(result, names)
            if wrong:
                ids = ", ".join(c.claim.id for c in wrong)
                failed.append(f"{fixture.id}: {len(wrong)} claim(s) off their pins: {ids}")
            failed += [f"{fixture.id}: {r.engine} {r.outcome}" for r in not_run]
            failed += [f"{fixture.id}: engines disagree"] * bool(result.disagreements)
    print(text_table(["fixture", "claims", "failed", "outcome"], rows))
    if failed:
        say(f"\n{len(failed)} failure(s), {bad_claims} claim(s) off their pins:", BAD)
        for line in failed:
            wrapped = textwrap.fill(
                line,
                width=100,
                initial_indent="  ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
            say(wrapped)
        return ExitCode.FAILED
    total = sum(len(f.claims) for f in fixtures)
    say(f"\nevery check and {total} pinned values in {len(fixtures)} fixtures: ok", GOOD)
    return ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "conform",
        summary="the conformance checks and fixtures that any engine must pass",
        description="Run every conformance check on each engine (finite differences, the "
        "update rule, the lean path against the recorded path, relu'(0), large net inputs, "
        "...), print which capabilities each check exercised, then run the conformance "
        "fixtures (what the tutorials' fixtures leave out: tanh, relu at 0, softmax at "
        "large net inputs, the cross-entropies, trainable biases over several samples, "
        "per-sample batches, long unrecorded trainings). A failure names the check, or "
        "the fixture and the claim.",
        example="bpcheck conform --engine loops",
        handler=cmd_conform,
        exit_codes={
            ExitCode.OK: "every check passed or was skipped with a reason, every pinned value held"
        },
    )
    add_engines(parser)
