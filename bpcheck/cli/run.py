"""``bpcheck run``: every engine on every fixture, every claim judged."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from bpcheck.checking import registry
from bpcheck.checking.check import OK, FixtureResult, check_fixture
from bpcheck.checking.isolation import DEFAULT_TIMEOUT
from bpcheck.checking.results import (
    SUMMARY_HEADERS,
    disagreement_table,
    failing_claims_table,
    run_result,
    summary_rows,
    text_table,
)
from bpcheck.checking.run_result import write_run_result
from bpcheck.cli.command import add_command, add_engines, add_paths
from bpcheck.cli.inputs import engines_and_fixtures
from bpcheck.errors import ExitCode
from bpcheck.io.escape import terminal_text
from bpcheck.io.files import check_output


def print_result(result: FixtureResult, engines: list[str]) -> None:
    bad = [c for c in result.claims if c.outcome != OK]
    if bad:
        print(f"\n{result.fixture.id}: claims that differ from their expected verdict")
        print(failing_claims_table(bad, engines))
        for claim in bad:
            print(terminal_text(f"  {claim.claim.id}: {claim.message}"))  # engine text
    if result.disagreements:
        print(f"\n{result.fixture.id}: engines disagree")
        print(disagreement_table(result.disagreements, engines))


def cmd_run(args: argparse.Namespace) -> ExitCode:
    engines, fixtures = engines_and_fixtures(args.engine, args.paths)
    engines = registry.with_timeout(engines, args.timeout)
    if args.json:
        check_output(Path(args.json), "--json")
    results = [check_fixture(fixture, engines) for fixture in fixtures]
    print(text_table(SUMMARY_HEADERS, summary_rows(results)))
    for result in results:
        print_result(result, list(engines))
    if args.json:
        write_run_result(Path(args.json), run_result(engines, results))
    failed = [r for r in results if r.outcome != OK]
    claims = sum(len(r.claims) for r in results)
    print(f"\n{len(fixtures)} fixture(s), {claims} claim(s), {len(failed)} fixture(s) not ok")
    return ExitCode.FAILED if failed else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "run",
        summary="run the engines on fixtures and judge every claim",
        description="Run every engine on every fixture, judge each printed number against "
        "its expected verdict, and check that the engines agree.",
        example="bpcheck run fixtures/ --engine loops --json out/run.json",
        handler=cmd_run,
    )
    add_paths(parser)
    add_engines(parser)
    parser.add_argument(
        "--json",
        metavar="FILE",
        help="write the results as JSON (schema: bpcheck/io/schema/run-result-v1.schema.json)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="seconds each engine may take to load, and to run one fixture, before it is "
        f"stopped and reported errored (default {DEFAULT_TIMEOUT:g})",
    )


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return seconds
