"""``bpcheck``: build the parser from the command modules, run one, turn errors into exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from bpcheck import __version__
from bpcheck.cli.command import summary_of
from bpcheck.errors import BadInput, ExitCode
from bpcheck.io.escape import terminal_text

USER_COMMANDS = (
    "run",
    "validate",
    "new",
    "claim",
    "explain",
    "gradcheck",
    "diagnose",
    "conform",
    "report",
)
"""What a user checking or writing fixtures runs, in the order ``--help`` lists them."""

MAINTAINER_COMMANDS = ("compare", "accept", "regen", "sync", "bench", "gen-corpus")
"""What keeps a repository of fixtures and its generated files current."""

EPILOG = """\
exit status: 0 all is well, 1 a claim, an engine or a check failed, 2 bad input
(one line per problem: FILE: LOCATION: what was expected).

example: bpcheck run fixtures/
`bpcheck COMMAND --help` says what COMMAND does, its defaults, exit status and an example."""

DESCRIPTION = "Check the numbers backpropagation tutorials print."


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, ``--help`` listing user and maintainer commands apart.

    ``only``: the command about to run, so that only its module is imported (a command's
    module may import NumPy or pandas; ``bpcheck validate`` should not pay for them).
    """
    parser = argparse.ArgumentParser(
        prog="bpcheck",
        usage="%(prog)s [-h] [--version] COMMAND ...",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bpcheck {__version__}")
    # Listed by hand below, in two groups: argparse would list them all in one.
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS, prog="bpcheck"
    )
    for name in (only,) if only else USER_COMMANDS + MAINTAINER_COMMANDS:
        importlib.import_module(f"bpcheck.cli.{name.replace('-', '_')}").register(commands)
    if only:
        return parser
    parsers = command_parsers(parser)
    groups = {"user commands": USER_COMMANDS, "maintainer commands": MAINTAINER_COMMANDS}
    width = max(len(name) for name in parsers) + 2
    listing = [
        f"{title}:\n" + "\n".join(f"  {n:<{width}}{summary_of(parsers[n])}" for n in names)
        for title, names in groups.items()
    ]
    parser.description = "\n\n".join([DESCRIPTION, *listing])
    return parser


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's own parser, by name (for ``--help`` and the test that reads them all)."""
    for action in parser._actions:  # argparse names no public way to the sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _quiet_stdout() -> None:
    """Send what is left of standard output nowhere: the reader (e.g. ``head``) has gone."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a user's mistake, a closed pipe or Ctrl-C ends it without a traceback."""
    given = list(sys.argv[1:] if argv is None else argv)
    named = given[0] if given and given[0] in USER_COMMANDS + MAINTAINER_COMMANDS else None
    args = build_parser(named).parse_args(given)
    try:
        code = args.handler(args)
        sys.stdout.flush()
    except BadInput as error:
        for line in error.lines:  # a line quotes paths and fixture text: no control characters
            print(terminal_text(line), file=sys.stderr)
        return ExitCode.BAD_INPUT
    except BrokenPipeError:
        _quiet_stdout()
        return ExitCode.FAILED
    except KeyboardInterrupt:
        print("bpcheck: interrupted", file=sys.stderr)
        return 130
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
