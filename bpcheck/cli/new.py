"""``bpcheck new``: write a fixture from a short description of the network."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bpcheck.authoring.questions import QUESTIONS, option
from bpcheck.cli.command import add_command
from bpcheck.errors import ExitCode
from bpcheck.io.escape import terminal_text
from bpcheck.io.placeholders import is_placeholder

DESCRIPTION = """\
Write a new fixture file from the network as a tutorial states it: layer sizes,
activations (with leaky_relu's slope, elu's alpha), biases, loss or an objective
(output K: no loss, no targets), training settings (batches and their sample order,
steps or epochs, learning rates per layer, momentum, Nesterov, weight decay,
float32), inputs, targets and the weights w1, w2, ... in the tutorial's order.  The
file gets the aliases a tutorial would use (w1, b1, out_h1, E_total, dw5, dE_di1,
...) and no claims: add them with `bpcheck claim`.  What is not given is asked for
at a terminal, only where it applies (each prompt says how many values it needs,
and a bad answer is asked again); elsewhere the defaults apply.  An
unnamed document or place is a placeholder that validate refuses until you
replace it.  An existing file is never overwritten."""

NOT_GIVEN = argparse.SUPPRESS
"""The default of an option whose absence matters: the attribute is missing unless given,
so a prompt can tell what to ask (and ``--help`` shows no ``(default: None)``)."""


def tell(message: str) -> None:
    print(terminal_text(message), file=sys.stderr)


def cmd_new(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.authoring.fixture_file import write_fixture
    from bpcheck.authoring.new import new_fixture

    path = Path(args.path)
    ask = getattr(args, "ask", None)
    prompt = ask or (ask is None and sys.stdin.isatty())
    document = new_fixture(
        path,
        {question.key: getattr(args, question.key, None) for question in QUESTIONS},
        fixture_id=getattr(args, "id", None),
        title=getattr(args, "title", None),
        ask=input if prompt else None,
        say=tell,
    )
    write_fixture(path, document, new=True)
    names = ", ".join(k for k in document["aliases"] if re.fullmatch("[wb][0-9]+", k))
    print(f"{path}: written with aliases {names} (and i/h/o, net_/out_/delta_, dE_d, E_o, ...)")
    left = [f"source.{key}" for key, text in document["source"].items() if is_placeholder(text)]
    if left:
        are = "is a placeholder" if len(left) == 1 else "are placeholders"
        tell(f"{path}: {' and '.join(left)} {are}: write them in the file (validate refuses them)")
    return ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "new",
        summary="create a fixture from a short description",
        description=DESCRIPTION,
        example="bpcheck new fixtures/my-notes/tanh-121.json --sizes 1,2,1 --activations tanh "
        "--inputs 0.5 --targets 0.2 --weights 0.3,-0.4,0.6,0.8 --document notes.md",
        handler=cmd_new,
        exit_codes={
            ExitCode.OK: "the fixture was written",
            ExitCode.FAILED: "not returned by this command",
        },
    )
    parser.add_argument("path", help="the fixture file to create (refuses to overwrite)")
    parser.add_argument("--id", default=NOT_GIVEN, help="slug id (default: the file name)")
    parser.add_argument("--title", default=NOT_GIVEN, help="title (default: the id)")
    for question in QUESTIONS:
        default = question.default
        shown = "" if default is None or is_placeholder(default) else default
        parser.add_argument(
            option(question.key),
            dest=question.key,
            default=NOT_GIVEN,
            help=question.help + (f" (default: {shown})" if shown else ""),
        )
    parser.add_argument(
        "--ask",
        action=argparse.BooleanOptionalAction,
        default=NOT_GIVEN,
        help="prompt for missing answers (default: when standard input is a terminal)",
    )
