"""``bpcheck diagnose``: which reading or bug reproduces each printed number that is wrong."""

from __future__ import annotations

import argparse
from pathlib import Path

from bpcheck.cli.command import add_command, add_paths
from bpcheck.defaults import DEFAULT_BUDGET
from bpcheck.errors import BadInput, ExitCode
from bpcheck.io.escape import terminal_text


def cmd_diagnose(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.cli.inputs import load_fixtures
    from bpcheck.diagnose.diagnosis import describe, diagnose
    from bpcheck.diagnose.results import (
        DiagnoseResult,
        ErratumRecord,
        FixtureDiagnosis,
        write_diagnose_result,
    )
    from bpcheck.io.files import check_output
    from bpcheck.io.progress import tracked

    if args.top < 0:
        raise BadInput([f"--top: expected a whole number of 0 or more, found {args.top}"])
    if not args.budget >= 0:  # NaN too
        raise BadInput([f"--budget: expected seconds, 0 or more, found {args.budget}"])
    fixtures = load_fixtures(args.paths, drafts=True)
    if args.json:
        check_output(Path(args.json), "--json")
    diagnoses = []
    unreproduced = 0
    for fixture in tracked(fixtures, "diagnose", lambda f: f.id):
        found = diagnose(fixture, args.budget)
        if not found.errata:
            continue
        print(terminal_text("\n".join(describe(fixture, found, args.top)), lines=True))
        unreproduced += sum(1 for e in found.errata if e.accepted_reproduced is False)
        records = tuple(ErratumRecord.of(e) for e in found.errata)
        diagnoses.append(FixtureDiagnosis(fixture.id, records, tuple(found.notes)))
    if args.json:
        write_diagnose_result(Path(args.json), DiagnoseResult(tuple(diagnoses)))
    return ExitCode.FAILED if unreproduced else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "diagnose",
        summary="find the readings, slips or bugs that reproduce each wrong printed number",
        description="For every printed number that is not a match, try each variant of the "
        "catalogue (other readings of the algorithm, classic bugs, hand rounding), the number "
        "recomputed from the document's own printed operands, single formula slips (a "
        "neighbour's value, a sign, a factor 2 or 1/2, a factor dropped) and printing slips, and "
        "list those that reproduce it, best first, with the other printed numbers each "
        "reproduces and contradicts ('weak' when none), and its chance of hitting random digit "
        "noise. Explanations no better than chance are not offered.",
        example="bpcheck diagnose fixtures/babin/ --top 5 --json out/diagnose.json",
        handler=cmd_diagnose,
        exit_codes={ExitCode.FAILED: "a fixture's accepted diagnosis is not reproduced"},
    )
    add_paths(parser)
    parser.add_argument(
        "--json", metavar="FILE", help="write the diagnoses as JSON (diagnose-result-v1)"
    )
    parser.add_argument("--top", type=int, default=3, help="explanations shown per number")
    parser.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET,
        metavar="SECONDS",
        help=f"time per fixture for the variants' long runs (default {DEFAULT_BUDGET:g}); "
        "the output says when it was reached and what was left out",
    )
