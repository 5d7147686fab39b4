"""``bpcheck gradcheck``: every engine's gradient against finite differences of the loss."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck.cli.command import add_command, add_engines, add_paths
from bpcheck.cli.output import BAD, GOOD, NOTE, say, show, styled_table
from bpcheck.errors import ExitCode
from bpcheck.gradcheck.methods import ALL_METHODS, AUTO_DIRECTIONAL_ABOVE
from bpcheck.io.escape import terminal_text

if TYPE_CHECKING:
    from bpcheck.gradcheck.result import GradcheckResult, Row, Status
    from bpcheck.model.fixture import Fixture

ROW_HEADERS = [
    "parameter",
    "engine dE/dθ",
    "reference dE/dθ",
    "abs error",
    "abs tolerance",
    "outcome",
]
"""The error and its tolerance side by side, both absolute (in the units of dE/dθ): a row
is ok when the one is at most the other.  (The relative error is in ``--json``.)"""


def row_words() -> dict[Status, str]:
    """A row's outcome in the words of the summary and of ``bpcheck run``: ok, failed (and kink)."""
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.checking.check import Outcome
    from bpcheck.gradcheck.result import Status

    return {Status.PASS: str(Outcome.OK), Status.FAIL: str(Outcome.FAILED), Status.KINK: "kink"}


STYLES = {"ok": GOOD, "failed": BAD, "errored": BAD, "kink": NOTE, "skipped": NOTE}


def row_cells(row: Row) -> list[str]:
    outcome = row_words()[row.status]
    if row.one_sided is not None:
        outcome += f" (left {row.one_sided[0]:.10g}, right {row.one_sided[1]:.10g})"
    return [
        row.parameter,
        f"{row.engine_value:.15g}",
        f"{row.reference:.15g}",
        f"{row.abs_error:.2e}",
        f"{row.tolerance:.2e}",
        outcome,
    ]


def closest(rows: list[Row]) -> Row | None:
    """The row nearest its tolerance (largest error over tolerance), kinks aside."""
    from bpcheck.gradcheck.result import Status

    checked = [r for r in rows if r.status != Status.KINK]

    def ratio(row: Row) -> float:
        if row.tolerance > 0:
            return row.abs_error / row.tolerance
        return 0.0 if row.abs_error == 0 else math.inf

    return max(checked, key=lambda r: (math.isnan(ratio(r)), ratio(r)), default=None)


def summary_line(fixture: Fixture, result: GradcheckResult) -> str:
    """``mazur-2015  loops  step 0  richardson  ok  8 checked; nearest its tolerance: w[1,2,1],
    abs error 1.4e-15 against abs tolerance 7.1e-14``."""
    from bpcheck.gradcheck.result import Status

    head = f"{fixture.id}  {result.engine}  step {result.step}  {result.method}  {result.outcome}"
    if result.reason:  # an engine's own words: no control character reaches the terminal
        return terminal_text(f"{head}  {result.reason}")
    detail = f"{len(result.rows)} checked"
    nearest = closest(result.rows)
    if nearest is not None:
        detail += (
            f"; nearest its tolerance: {nearest.parameter}, abs error {nearest.abs_error:.1e}"
            f" against abs tolerance {nearest.tolerance:.1e}"
        )
    counts = {s: sum(r.status == s for r in result.rows) for s in Status}
    words = row_words()
    extra = ", ".join(f"{n} {words[s]}" for s, n in counts.items() if n and s != Status.PASS)
    return terminal_text(f"{head}  {detail}" + (f" ({extra})" if extra else ""))


def print_result(fixture: Fixture, result: GradcheckResult, quiet: bool) -> None:
    say(summary_line(fixture, result), STYLES.get(str(result.outcome), ""))
    if quiet or not result.rows:
        return
    rows = [row_cells(r) for r in result.rows]
    styles = [["", "", "", "", "", STYLES.get(cells[-1].split()[0], "")] for cells in rows]
    from bpcheck.checking.results import text_table

    show(styled_table(text_table(ROW_HEADERS, rows), styles))
    print()


def cmd_gradcheck(args: argparse.Namespace) -> ExitCode:
    from bpcheck.checking.check import Outcome
    from bpcheck.cli.inputs import engines_and_fixtures
    from bpcheck.gradcheck.fixture_check import gradcheck_fixture  # NumPy, mpmath: only here
    from bpcheck.gradcheck.result_file import GradcheckRun, write_gradcheck_results
    from bpcheck.io.files import check_output
    from bpcheck.io.progress import tracked

    engines, fixtures = engines_and_fixtures(args.engine, args.paths)
    if args.json:
        check_output(Path(args.json), "--json")
    entries: list[tuple[Fixture, GradcheckResult]] = []
    for fixture in tracked(fixtures, "gradcheck", lambda f: f.id):
        for result in gradcheck_fixture(fixture, engines, method=args.method):
            entries.append((fixture, result))
            print_result(fixture, result, args.quiet)
    if args.json:
        write_gradcheck_results(Path(args.json), GradcheckRun.of(entries))
    outcomes = [result.outcome for _, result in entries]
    counts = ", ".join(f"{outcomes.count(o)} {o}" for o in Outcome)
    failed = Outcome.FAILED in outcomes or Outcome.ERRORED in outcomes
    print()
    say(
        f"{len(fixtures)} fixture(s), {len(entries)} gradient check(s): {counts}",
        BAD if failed else GOOD,
    )
    return ExitCode.FAILED if failed else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "gradcheck",
        summary="check every engine's gradients against finite differences of the loss",
        description="Differentiate each fixture's loss numerically, with a forward pass of\n"
        "bpcheck's own, and compare every engine's dE/dθ with it: at step 0 and, for\n"
        "multi-step fixtures, at the parameters each engine trained.  Each row shows\n"
        "the absolute error |engine - reference| beside its absolute tolerance (both in\n"
        "the units of dE/dθ), from an error model of the method and of float64 rounding,\n"
        "and its outcome: ok, failed, or kink (a relu unit at 0, shown with its one-sided\n"
        "derivatives, neither ok nor failed).",
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
        choices=("auto", *ALL_METHODS),
        default="auto",
        help="auto: each float engine against the certified gradient when the certified "
        "engine runs (itself then by mpmath), else richardson, or directional above "
        f"{AUTO_DIRECTIONAL_ABOVE} parameters",
    )
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--quiet", action="store_true", help="one summary line per fixture, engine and step"
    )
