"""``bpcheck compare``: what changed between two ``run --json`` results, and what regressed."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from bpcheck.checking.results import text_table
from bpcheck.checking.run_result import read_run_result
from bpcheck.cli.command import add_command
from bpcheck.errors import BadInput, ExitCode
from bpcheck.io.escape import terminal_text
from bpcheck.report.compare import CHANGE_HEADERS, DEFAULT_TOLERANCE, change_rows, compare


def cmd_compare(args: argparse.Namespace) -> ExitCode:
    old = read_run_result(Path(args.old))
    new = read_run_result(Path(args.new))
    if not (args.tolerance >= 0 and math.isfinite(args.tolerance)):
        raise BadInput([f"--tolerance: expected a finite number >= 0, found {args.tolerance}"])
    changes = compare(old, new, args.tolerance)
    regressions = sum(c.regression for c in changes)
    if changes:
        print(text_table(CHANGE_HEADERS, change_rows(changes)))
        print()
    summary = f"{len(changes)} change(s), {regressions} regression(s) from {args.old} to {args.new}"
    print(terminal_text(summary))
    return ExitCode.FAILED if regressions else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "compare",
        summary="list what changed between two `run --json` results (drift)",
        description="List every change from OLD to NEW, two `bpcheck run --json` results:\n"
        "verdicts and outcomes that changed, values that moved beyond the tolerance,\n"
        "claims, fixtures and engines that came or went.  A regression is a change that\n"
        "loses something: a verdict change, a moved value, a removed claim or fixture,\n"
        "a vanished engine, an outcome that was ok and is not.",
        example="bpcheck compare main.json branch.json --tolerance 1e-9",
        handler=cmd_compare,
        exit_codes={
            ExitCode.OK: "no regression (changes that lose nothing may be listed)",
            ExitCode.FAILED: "at least one regression",
        },
    )
    parser.add_argument("old", metavar="OLD.json", help="the earlier results")
    parser.add_argument("new", metavar="NEW.json", help="the later results")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="relative change of a value that counts as drift",
    )
