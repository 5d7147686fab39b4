"""``bpcheck gradcheck``: every engine's gradient against finite differences of the loss."""

from __future__ import annotations

import argparse
from pathlib import Path

from bpcheck.checking.check import Outcome
from bpcheck.checking.results import text_table
from bpcheck.cli.command import add_command, add_engines, add_paths
from bpcheck.cli.inputs import engines_and_fixtures
from bpcheck.errors import ExitCode
from bpcheck.gradcheck import (
    AUTO_DIRECTIONAL_ABOVE,
    METHODS,
    GradcheckResult,
    GradcheckRun,
    Row,
    Status,
    gradcheck_fixture,
    write_gradcheck_results,
)
from bpcheck.io.escape import terminal_text
from bpcheck.io.files import check_output
from bpcheck.model.fixture import Fixture

ROW_HEADERS = ["parameter", "engine", "reference", "abs error", "rel error", "tolerance", "status"]


def row_cells(row: Row) -> list[str]:
    status = str(row.status)
    if row.one_sided is not None:
        status += f" (left {row.one_sided[0]:.10g}, right {row.one_sided[1]:.10g})"
    return [
        row.parameter,
        f"{row.engine_value:.15g}",
        f"{row.reference:.15g}",
        f"{row.abs_error:.2e}",
        f"{row.rel_error:.2e}",
        f"{row.tolerance:.2e}",
        status,
    ]


def summary_line(fixture: Fixture, result: GradcheckResult) -> str:
    """``mazur-2015  loops  step 0  richardson  ok  8 checked, worst rel error 1.2e-13``."""
    head = f"{fixture.id}  {result.engine}  step {result.step}  {result.method}  {result.outcome}"
    if result.reason:  # an engine's own words: no control character reaches the terminal
        return terminal_text(f"{head}  {result.reason}")
    counts = {s: sum(r.status == s for r in result.rows) for s in Status}
    detail = f"{len(result.rows)} checked, worst rel error {result.worst_relative_error:.1e}"
    extra = ", ".join(f"{n} {s}" for s, n in counts.items() if n and s != Status.PASS)
    return f"{head}  {detail}" + (f" ({extra})" if extra else "")


def cmd_gradcheck(args: argparse.Namespace) -> ExitCode:
    engines, fixtures = engines_and_fixtures(args.engine, args.paths)
    if args.json:
        check_output(Path(args.json), "--json")
    entries: list[tuple[Fixture, GradcheckResult]] = []
    for fixture in fixtures:
        for result in gradcheck_fixture(fixture, engines, method=args.method):
            entries.append((fixture, result))
            print(summary_line(fixture, result))
            if not args.quiet and result.rows:
                print(text_table(ROW_HEADERS, [row_cells(r) for r in result.rows]) + "\n")
    if args.json:
        write_gradcheck_results(Path(args.json), GradcheckRun.of(entries))
    outcomes = [result.outcome for _, result in entries]
    counts = ", ".join(f"{outcomes.count(o)} {o}" for o in Outcome)
    print(f"\n{len(fixtures)} fixture(s), {len(entries)} gradient check(s): {counts}")
    failed = Outcome.FAILED in outcomes or Outcome.ERRORED in outcomes
    return ExitCode.FAILED if failed else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "gradcheck",
        summary="check every engine's gradients against finite differences of the loss",
        description="Differentiate each fixture's loss numerically, with a forward pass of\n"
        "bpcheck's own, and compare every engine's dE/dθ with it: at step 0 and, for\n"
        "multi-step fixtures, at the parameters each engine trained.  Tolerances come\n"
        "from an error model of the method and of float64 rounding; a relu unit at 0 is\n"
        "a kink, shown with its one-sided derivatives and neither passed nor failed.",
        example="bpcheck gradcheck fixtures/ --engine loops --method mpmath --json out/gc.json",
        handler=cmd_gradcheck,
        exit_codes={
            ExitCode.OK: "every gradient agreed (or its check was skipped)",
            ExitCode.FAILED: "a gradient differed beyond its tolerance, or an engine errored",
            ExitCode.BAD_INPUT: "bad input (one line per problem: FILE: LOCATION: what was "
            "expected), or the --json file cannot be written",
        },
    )
    add_paths(parser)
    add_engines(parser)
    parser.add_argument(
        "--method",
        choices=("auto", *METHODS),
        default="auto",
        help=f"auto: richardson, or directional above {AUTO_DIRECTIONAL_ABOVE} parameters",
    )
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--quiet", action="store_true", help="one summary line per fixture, engine and step"
    )
