"""``bpcheck run``: every engine on every fixture, every claim judged."""

from __future__ import annotations

import argparse
import functools
import math
import os
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck.cli.caching import add_no_cache
from bpcheck.cli.command import add_command, add_engines, add_paths
from bpcheck.cli.output import BAD, GOOD, VERDICT_STYLES, say, show, styled_table
from bpcheck.defaults import DEFAULT_TIMEOUT, default_jobs
from bpcheck.errors import ExitCode

if TYPE_CHECKING:
    from bpcheck.checking.check import FixtureResult
    from bpcheck.checking.run_result import RunResult
    from bpcheck.model.engine import Engine

CERTIFIED_BUDGET = "BPCHECK_CERTIFIED_BUDGET"
"""The certified engine's time budget per fixture, in seconds (docs/engines.md)."""


def print_result(result: FixtureResult, engines: list[str]) -> None:
    """What went wrong in one fixture: engines that did not run, claims, disagreements."""
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.checking.check import OK
    from bpcheck.checking.results import disagreement_table, failing_claims_table

    for run in result.runs:
        if run.outcome != OK:
            say(f"\n{result.fixture.id}: {run.engine} {run.outcome}: {run.reason}")
    bad = [c for c in result.claims if c.outcome != OK]
    if bad:
        say(f"\n{result.fixture.id}: claims that differ from their expected verdict", BAD)
        print(failing_claims_table(bad, engines))
        for claim in bad:
            say(f"  {claim.claim.id}: {claim.message}")  # engine text, escaped
    if result.disagreements:
        say(f"\n{result.fixture.id}: engines disagree", BAD)
        print(disagreement_table(result.disagreements, engines))


def print_summary(run: RunResult) -> None:
    """One row per fixture, coloured at a terminal: verdicts by colour, what is off in red."""
    from bpcheck.checking.results import fixture_rows, text_table

    headers, rows = fixture_rows(run)
    styles = []
    for row in rows:
        cells = dict(zip(headers, row, strict=True))
        style = {h: VERDICT_STYLES.get(h, "") for h in headers if cells[h] != "0"}
        style["as expected"] = GOOD if cells["as expected"] == "all" else BAD
        style["engines"] = GOOD if cells["engines"] == "agree" else engines_style(cells["engines"])
        style["not computed"] = BAD
        styles.append([style.get(h, "") for h in headers])
    show(styled_table(text_table(headers, rows), styles))


def engines_style(cell: str) -> str:
    """Red when engines disagree, errored or skipped; plain when only one was asked for."""
    return BAD if any(word in cell for word in ("disagree", "errored", "skipped")) else ""


def engines_for_run(
    names: Collection[str] | None, timeout: float, cache: bool
) -> dict[str, Engine]:
    """The engines asked for, with their timeout, behind the trace cache unless it is off.

    Module-level, so that ``-j`` worker processes build the same engines (it pickles).
    """
    from bpcheck.checking import registry
    from bpcheck.checking.cache import cached, open_cache
    from bpcheck.cli.inputs import select_engines

    engines = registry.with_timeout(select_engines(names), timeout)
    return cached(engines, open_cache(cache))


def cmd_run(args: argparse.Namespace) -> ExitCode:
    from bpcheck.checking.check import OK
    from bpcheck.checking.isolation import stop_workers
    from bpcheck.checking.parallel import check_fixtures
    from bpcheck.checking.results import certified_lines, run_result, tally_line
    from bpcheck.checking.run_result import write_run_result
    from bpcheck.cli.inputs import engines_and_fixtures
    from bpcheck.io.files import check_output
    from bpcheck.io.progress import tracked

    budget = None if args.certified_budget is None else f"{args.certified_budget:g}"
    if budget is not None and os.environ.get(CERTIFIED_BUDGET) != budget:
        os.environ[CERTIFIED_BUDGET] = budget  # read by the certified engine as it starts:
        stop_workers()  # a worker started before this (in this process) has the old one
    _, fixtures = engines_and_fixtures(args.engine, args.paths)
    make = functools.partial(engines_for_run, args.engine, args.timeout, not args.no_cache)
    engines = make()
    if args.json:
        check_output(Path(args.json), "--json")
    shown = tracked(fixtures, "checking", lambda f: f.id)
    checked = check_fixtures(fixtures, engines, make, args.jobs)
    results = [result for _, result in zip(shown, checked, strict=True)]
    run = run_result(engines, results)
    print_summary(run)
    for result in results:
        print_result(result, list(engines))
    if args.json:
        write_run_result(Path(args.json), run)
    failed = any(r.outcome != OK for r in results)
    print()
    for line in certified_lines(run):
        say(line)
    say(tally_line(run), BAD if failed else GOOD)
    return ExitCode.FAILED if failed else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "run",
        summary="run the engines on fixtures and judge every claim",
        description="Run every engine on every fixture, judge each printed number against\n"
        "its expected verdict, and check that the engines agree.  One row per fixture\n"
        "counts its printed numbers by the verdict found (match, truncated, mismatch),\n"
        "its pinned values and relations, says whether all ended as the fixture expects\n"
        "and whether the engines agree; then what went wrong, and a closing tally.\n"
        "--json writes every claim and the same counts.",
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
        "stopped and reported errored (default: %(default)g)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=positive_whole,
        default=default_jobs(),
        metavar="N",
        help="check fixtures in N processes side by side (default: the cores, %(default)s here; "
        "fixtures the cache answers are not sent to a process)",
    )
    parser.add_argument(
        "--certified-budget",
        type=positive_seconds,
        metavar="SECONDS",
        help="seconds the certified engine may spend on one fixture before it is skipped "
        f"for time, said as its reason (default: {CERTIFIED_BUDGET} or 30; keep it under "
        "--timeout)",
    )
    add_no_cache(parser)


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return seconds


def positive_whole(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return number
