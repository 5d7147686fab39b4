"""``bpcheck explain``: print a fixture as the worked example it encodes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bpcheck.cli.command import add_command
from bpcheck.defaults import EXPLAIN_FORMATS
from bpcheck.errors import BadInput, ExitCode, InputError
from bpcheck.io.escape import terminal_text

DEFAULT_CERTIFIED_DIGITS = 50
"""What the certified engine certifies unless BPCHECK_CERTIFIED_DIGITS asks for more."""

DESCRIPTION = """\
Print the settings of the problem (loss or objective, activations, batches and the
epoch of the step, learning rates, momentum, weight decay, precision), then the
forward pass, loss, deltas, gradients and updates of one step, each as
a formula, the formula with the numbers put in, and the result, in the order a
tutorial presents them; each printed claim is shown beside the computed value
with its verdict.  Every name is one `bpcheck claim` accepts: the fixture's alias
(with the canonical name in brackets) or the canonical name.  Markdown, or a
standalone HTML page."""


def cmd_explain(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.authoring.explain import explain
    from bpcheck.checking import registry
    from bpcheck.io.loader import load
    from bpcheck.io.progress import working

    if args.digits is not None and args.format != "md":
        raise BadInput([InputError("--digits", "$", "expected --format md: the table is Markdown")])
    if args.digits is not None and args.digits > DEFAULT_CERTIFIED_DIGITS:
        # read by the certified engine when its worker starts (docs/engines.md)
        os.environ.setdefault("BPCHECK_CERTIFIED_DIGITS", str(args.digits))
    fixture = load(Path(args.fixture))
    with working(f"computing {fixture.id}"):
        text = explain(fixture, args.step, registry.all_engines(), args.format, args.digits)
    print(terminal_text(text, lines=True))  # no control character reaches the terminal
    return ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "explain",
        summary="render a fixture as the worked example it encodes",
        description=DESCRIPTION,
        example="bpcheck explain fixtures/mazur/mazur-2015.json --format html > mazur.html",
        handler=cmd_explain,
        exit_codes={
            ExitCode.OK: "the worked example was printed",
            ExitCode.FAILED: "not returned by this command",
        },
    )
    parser.add_argument("fixture", help="the fixture file")
    parser.add_argument("--step", type=int, default=0, help="which step to explain")
    parser.add_argument("--format", choices=EXPLAIN_FORMATS, default="md", help="output format")
    parser.add_argument(
        "--digits",
        type=digit_count,
        metavar="N",
        help="add a table of every value of the step certified to N significant digits "
        "(the certified engine), beside each engine's value and its error in ULPs, and the "
        "nearest float32",
    )


def digit_count(text: str) -> int:
    from bpcheck.authoring.digits import MAX_DIGITS  # only when --digits is given

    try:
        digits = int(text)
    except ValueError:
        digits = 0
    if not 1 <= digits <= MAX_DIGITS:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {MAX_DIGITS}, got {text!r}"
        )
    return digits
