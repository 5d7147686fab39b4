"""``bpcheck explain``: print a fixture as the worked example it encodes."""

from __future__ import annotations

import argparse
from pathlib import Path

from bpcheck.authoring.explain import FORMATS, explain
from bpcheck.checking import registry
from bpcheck.cli.command import add_command
from bpcheck.errors import ExitCode
from bpcheck.io.escape import terminal_text
from bpcheck.io.loader import load
from bpcheck.io.progress import working

DESCRIPTION = """\
Print the forward pass, loss, deltas, gradients and updates of one step, each as
a formula, the formula with the numbers put in, and the result, in the order a
tutorial presents them; each printed claim is shown beside the computed value
with its verdict.  Every name is one `bpcheck claim` accepts: the fixture's alias
(with the canonical name in brackets) or the canonical name.  Markdown, or a
standalone HTML page."""


def cmd_explain(args: argparse.Namespace) -> ExitCode:
    fixture = load(Path(args.fixture))
    with working(f"computing {fixture.id}"):
        text = explain(fixture, args.step, registry.all_engines(), args.format)
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
    parser.add_argument("--format", choices=FORMATS, default="md", help="output format")
