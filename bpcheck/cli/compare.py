"""``bpcheck compare``: what changed between two ``run --json`` results, and what regressed."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck.cli.command import add_command
from bpcheck.cli.output import BAD, GOOD, NOTE, say
from bpcheck.defaults import DEFAULT_TOLERANCE
from bpcheck.errors import BadInput, ExitCode

if TYPE_CHECKING:
    from bpcheck.report.compare import Section


def section_styles() -> dict[Section, str]:
    from bpcheck.report.compare import Section

    return {Section.REGRESSION: BAD, Section.FIX: GOOD, Section.DOCUMENT: NOTE}


def one() -> dict[Section, str]:
    """Each section's name for one change."""
    from bpcheck.report.compare import Section

    return {
        Section.REGRESSION: "regression",
        Section.FIX: "fix",
        Section.DOCUMENT: "document change",
        Section.OTHER: "other change",
    }


def counted(section: Section, count: int) -> str:
    return f"{count} {one()[section] if count == 1 else section}"


def cmd_compare(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.checking.results import text_table
    from bpcheck.checking.run_result import read_run_result
    from bpcheck.report.compare import CHANGE_HEADERS, REGRESSION, by_section, change_rows, compare

    old = read_run_result(Path(args.old))
    new = read_run_result(Path(args.new))
    if not (args.tolerance >= 0 and math.isfinite(args.tolerance)):
        raise BadInput([f"--tolerance: expected a finite number >= 0, found {args.tolerance}"])
    sections = by_section(compare(old, new, args.tolerance))
    for section, changes in sections.items():
        if changes:
            say(f"{section} ({len(changes)})", section_styles().get(section, ""))
            print(text_table(CHANGE_HEADERS, change_rows(changes)))
            print()
    total = sum(len(changes) for changes in sections.values())
    counts = ", ".join(counted(section, len(changes)) for section, changes in sections.items())
    regressions = len(sections[REGRESSION])
    say(
        f"{total} {'change' if total == 1 else 'changes'} from {args.old} to {args.new}: {counts}",
        BAD if regressions else GOOD,
    )
    return ExitCode.FAILED if regressions else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "compare",
        summary="list what changed between two `run --json` results (drift)",
        description="List every change from OLD to NEW, two `bpcheck run --json` results,\n"
        "in sections:\n"
        "  regressions       a claim leaves its expected verdict, a value drifts past the\n"
        "                    tolerance, a claim or fixture is removed, an engine vanishes;\n"
        "  fixes             a claim reaches its expected verdict, or its verdict moves\n"
        "                    toward match with the expectation following (a typo corrected);\n"
        "  document changes  a printed number or expected verdict edited, a claim or\n"
        "                    fixture added;\n"
        "  other changes     the rest (an engine appeared).",
        example="bpcheck compare main.json branch.json --tolerance 1e-9",
        handler=cmd_compare,
        exit_codes={
            ExitCode.OK: "no regression (fixes and document changes may be listed)",
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
