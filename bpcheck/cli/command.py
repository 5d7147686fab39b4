"""What every sub-command's parser has: a description, its defaults, its exit codes, an example."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bpcheck.errors import ExitCode

Handler = Callable[[argparse.Namespace], ExitCode]

EXIT_CODES = {
    ExitCode.OK: "all is well",
    ExitCode.FAILED: "a claim, an engine or a check failed",
    ExitCode.BAD_INPUT: "bad input (one line per problem: FILE: LOCATION: what was expected)",
}


def has_default(action: argparse.Action) -> bool:
    """Whether ``--help`` should show the option's default: it has one that is not "absent".

    ``None``, ``False`` (a flag) and ``SUPPRESS`` say the option is simply not given;
    ``0`` and ``""`` are defaults a user needs to know (``0 == False``, so compare by identity).
    """
    absent = action.default is None or action.default is False
    return bool(action.option_strings) and not absent and action.default is not argparse.SUPPRESS


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Each option's default shown after its help (when it has one); description and epilog
    kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "%(default)" in text or "default:" in text or not has_default(action):
            return text
        return text + " (default: %(default)s)"


def add_command(
    commands: Any,
    name: str,
    *,
    summary: str,
    description: str,
    example: str,
    handler: Handler,
    exit_codes: dict[ExitCode, str] | None = None,
) -> argparse.ArgumentParser:
    """A sub-command parser whose ``--help`` says what it does, how it ends and how to call it."""
    codes = {**EXIT_CODES, **(exit_codes or {})}
    epilog = "exit status:\n" + "\n".join(f"  {int(code)}  {text}" for code, text in codes.items())
    epilog += "\n\nexample:\n  " + example
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=_Formatter,
    )
    parser.set_defaults(handler=handler, command_summary=summary)
    return parser


def summary_of(parser: argparse.ArgumentParser) -> str:
    """The one line a command is listed with in ``bpcheck --help``."""
    return str(parser.get_default("command_summary") or "")


def add_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="fixture files or folders (searched recursively)")


class EngineCommandArgument(str):
    """An ``--engine-cmd NAME="COMMAND ARGS"`` in the ``--engine`` list: equal to NAME, text kept.

    Kept in the same list as ``--engine`` so that every command that takes engines
    takes external ones too (``cli.inputs.select_engines`` tells them apart).
    """

    text: str

    def __new__(cls, text: str) -> EngineCommandArgument:
        made = super().__new__(cls, text.partition("=")[0].strip())
        made.text = text
        return made


class _EngineCommandAction(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        asked = list(getattr(namespace, self.dest, None) or [])
        setattr(namespace, self.dest, [*asked, EngineCommandArgument(str(values))])


def add_engines(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine", action="append", help="only this engine (repeatable; default: all)"
    )
    parser.add_argument(
        "--engine-cmd",
        action=_EngineCommandAction,
        dest="engine",
        metavar='NAME="COMMAND ARGS"',
        help="run an engine in any language that speaks the engine protocol "
        "(docs/protocol.md), under NAME (repeatable; with --engine, beside those)",
    )
