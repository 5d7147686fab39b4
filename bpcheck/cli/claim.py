"""``bpcheck claim``: add printed numbers to a fixture as claims, with the verdicts found."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck.cli.caching import add_no_cache
from bpcheck.cli.command import add_command
from bpcheck.errors import BadInput, ExitCode, InputError
from bpcheck.io.escape import terminal_text

if TYPE_CHECKING:
    from bpcheck.authoring.claim import NewClaim

DESCRIPTION = """\
Add each NAME=PRINTED to the fixture as a claim (the number kept as printed: a
Unicode minus, "2.406 * 10^-3" or thin spaces are read as the decimal they mean),
run every engine and store the verdict found: match, truncated or mismatch.  A
number that is not a match is said in one loud line: it may be a typo of yours
as well as a slip of the document.  Its claim gets a placeholder note that
validate, run and the tests refuse until you replace it with the cause (or give
the cause with --note).  A quantity already claimed at the step is refused
unless --again.  The file is left as it was when a claim is wrong or cannot be
computed."""


def cmd_claim(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.authoring.claim import add_claims
    from bpcheck.authoring.fixture_file import write_fixture
    from bpcheck.checking import registry
    from bpcheck.checking.cache import cached, open_cache
    from bpcheck.io.files import check_rewritable

    path = Path(args.fixture)
    check_rewritable([path])
    if args.unsupported is not None:
        return record_unsupported(path, args)
    claimed = add_claims(
        path,
        args.assignments,
        cached(registry.all_engines(), open_cache(not args.no_cache)),
        where=args.where,
        step=args.step,
        note=args.note,
        again=args.again,
    )
    for new in claimed.claims:
        result = new.result
        if not new.computed:
            print(
                f"{path}: {new.stored['id']}: no engine could compute it ({result.message})",
                file=sys.stderr,
            )
            return ExitCode.FAILED
        value = f"{result.reference:.17g}"
        print(
            f"{new.stored['quantity']} = {value}, printed {new.stored['printed']}: {result.verdict}"
        )
    write_fixture(path, claimed.document)
    for new in claimed.claims:
        if new.result.verdict != "match":
            print(terminal_text(loud_line(path, new)), file=sys.stderr)
    if claimed.disagreements:
        print(f"{path}: engines disagree on {claimed.disagreements} quantities", file=sys.stderr)
        return ExitCode.FAILED
    return ExitCode.FAILED if any(new.needs_a_note for new in claimed.claims) else ExitCode.OK


def record_unsupported(path: Path, args: argparse.Namespace) -> ExitCode:
    """Each LABEL=PRINTED kept as printed with the reason bpcheck cannot compute it."""
    from bpcheck.authoring.claim import add_unsupported
    from bpcheck.authoring.fixture_file import write_fixture

    if args.note or args.again or args.step:
        where = "--note" if args.note else "--again" if args.again else "--step"
        message = f"expected no {where} with --unsupported (the number has no quantity)"
        raise BadInput([InputError(str(path), where, message)])
    document = add_unsupported(path, args.assignments, args.unsupported, where=args.where)
    write_fixture(path, document)
    for claim in document["claims"][len(document["claims"]) - len(args.assignments) :]:
        print(terminal_text(f"{claim['id']}: printed {claim['printed']}: unsupported"))
    return ExitCode.OK


def loud_line(path: Path, new: NewClaim) -> str:
    """One line no one reads past: the number is not a match, and what the engines compute."""
    stored, result = new.stored, new.result
    head = f"{path}: {stored['quantity']}={stored['printed']}: {str(result.verdict).upper()}"
    said = f"the engines compute {result.reference:.17g}"
    if new.needs_a_note:
        return (
            f"{head}: {said}; typed right? its note is a placeholder, refused until you write why"
        )
    return f"{head}: {said}; noted: {stored['note']}"


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "claim",
        summary="add printed numbers as claims, with the verdicts found",
        description=DESCRIPTION,
        example="bpcheck claim fixtures/my-notes/tanh-121.json out_o1=-0.0361 E_total=0.0278 "
        '--where "forward pass"',
        handler=cmd_claim,
        exit_codes={
            ExitCode.FAILED: "a new claim could not be computed (nothing is written), the "
            "engines disagree, or a number is not a match and its note is still a placeholder "
            "(the claims are written)"
        },
    )
    parser.add_argument("fixture", help="the fixture file")
    parser.add_argument("assignments", nargs="+", metavar="NAME=PRINTED", help="e.g. w5=0.35891648")
    parser.add_argument(
        "--where", default="", help="where the numbers are printed (default: %(default)r)"
    )
    parser.add_argument("--step", type=int, default=0, help="after this many updates")
    parser.add_argument(
        "--note",
        default="",
        help="the note of each new claim: why a number differs, when you know it does "
        "(without it, a number that is not a match gets a placeholder note)",
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help="claim a quantity already claimed at this step (a document printing it twice)",
    )
    parser.add_argument(
        "--unsupported",
        metavar="REASON",
        help="record each LABEL=PRINTED as a number the document prints that bpcheck cannot "
        "compute, with this reason (no quantity, no verdict; counted as printed, not encoded)",
    )
    add_no_cache(parser)
