"""``bpcheck diagnose``: which reading or bug reproduces each printed number that is wrong."""

from __future__ import annotations

import argparse
from pathlib import Path

from bpcheck.cli.command import add_command, add_paths
from bpcheck.cli.inputs import load_fixtures
from bpcheck.diagnose.diagnosis import describe, diagnose_fixture
from bpcheck.diagnose.results import (
    DiagnoseResult,
    ErratumRecord,
    FixtureDiagnosis,
    write_diagnose_result,
)
from bpcheck.errors import BadInput, ExitCode
from bpcheck.io.escape import terminal_text
from bpcheck.io.files import check_output
from bpcheck.io.progress import tracked


def cmd_diagnose(args: argparse.Namespace) -> ExitCode:
    if args.top < 0:
        raise BadInput([f"--top: expected a whole number of 0 or more, found {args.top}"])
    fixtures = load_fixtures(args.paths, drafts=True)
    if args.json:
        check_output(Path(args.json), "--json")
    diagnoses = []
    unreproduced = 0
    for fixture in tracked(fixtures, "diagnose", lambda f: f.id):
        errata = diagnose_fixture(fixture)
        if not errata:
            continue
        print(terminal_text("\n".join(describe(fixture, errata, args.top)), lines=True))
        unreproduced += sum(1 for e in errata if e.accepted_reproduced is False)
        records = tuple(ErratumRecord.of(e) for e in errata)
        diagnoses.append(FixtureDiagnosis(fixture.id, records))
    if args.json:
        write_diagnose_result(Path(args.json), DiagnoseResult(tuple(diagnoses)))
    return ExitCode.FAILED if unreproduced else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "diagnose",
        summary="find the readings or bugs that reproduce each wrong printed number",
        description="For every printed number that is not a match, compute each variant of "
        "the catalogue (other readings of the algorithm, classic bugs, hand rounding, printing "
        "slips) and list those that reproduce it, best first, with how many of the fixture's "
        "other numbers each also explains or breaks.",
        example="bpcheck diagnose fixtures/babin/ --top 5 --json out/diagnose.json",
        handler=cmd_diagnose,
        exit_codes={ExitCode.FAILED: "a fixture's accepted diagnosis is not reproduced"},
    )
    add_paths(parser)
    parser.add_argument(
        "--json", metavar="FILE", help="write the diagnoses as JSON (diagnose-result-v1)"
    )
    parser.add_argument("--top", type=int, default=3, help="explanations shown per number")
