"""Every command's ``--help`` says what it does, its defaults, its exit status and one example;
``bpcheck --help`` lists user commands and maintainer commands apart."""

from __future__ import annotations

import argparse
import re

import pytest

from bpcheck.cli.command import add_command, has_default, summary_of
from bpcheck.cli.main import MAINTAINER_COMMANDS, USER_COMMANDS, build_parser, command_parsers
from bpcheck.cli.main import main as bpcheck
from bpcheck.errors import ExitCode

PARSERS = command_parsers(build_parser())
COMMANDS = {id(parser): name for name, parser in reversed(PARSERS.items())}
"""Each command's parser once, under its own name (an argparse alias shares its parser)."""


def option_help(text: str, action: argparse.Action) -> str:
    """The lines ``--help`` prints for one option: from its name to the next option."""
    lines = text.splitlines()
    first = action.option_strings[0]  # "-j N, --jobs N": the first name, then its metavar
    start = next(
        i for i, line in enumerate(lines) if line.strip().split(",")[0].split(" ")[0] == first
    )
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("      ") or line.strip().startswith("-"):
            break
        block.append(line)
    return " ".join(" ".join(block).split())


def help_problems(name: str, parser: argparse.ArgumentParser) -> list[str]:
    """What the command's ``--help`` lacks: description, defaults, exit status, example."""
    text = parser.format_help()
    problems = []
    if not (parser.description or "").strip() or parser.description not in text:
        problems.append("no description")
    codes = re.findall(r"^  ([0-9])  \S", text.split("exit status:")[-1], flags=re.MULTILINE)
    if "exit status:" not in text or codes[:3] != ["0", "1", "2"]:
        problems.append(f"exit status: expected 0, 1 and 2 explained, found {codes}")
    if not re.search(rf"^example:\n  bpcheck {re.escape(name)}( |$)", text, flags=re.MULTILINE):
        problems.append("no example")
    for action in parser._actions:
        if has_default(action) and "default" not in option_help(text, action):
            problems.append(f"{action.option_strings[0]}: its default is not shown")
    return problems


@pytest.mark.parametrize("name", sorted(COMMANDS.values()))
def test_every_command_help_has_a_description_defaults_exit_codes_and_an_example(
    name: str,
) -> None:
    assert help_problems(name, PARSERS[name]) == []


def test_the_walk_catches_a_help_that_lacks_them() -> None:
    commands = argparse.ArgumentParser().add_subparsers()
    parser = add_command(
        commands,
        "demo",
        summary="a demo",
        description="Demonstrates.",
        example="bpcheck other --x",
        handler=lambda args: ExitCode.OK,
    )
    parser.add_argument("--top", type=int, default=0, help="how many")
    parser.add_argument("--name", default="x", help="a name (given as %(default)s)")
    parser.add_argument("--flag", action="store_true", help="a flag")
    assert "(default: 0)" in parser.format_help(), "0 is a default to show, not an absent one"
    parser.description = ""
    assert help_problems("demo", parser) == [
        "no description",
        "no example",
        "--name: its default is not shown",
    ]


def test_bpcheck_help_lists_user_and_maintainer_commands_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as ended:
        bpcheck(["--help"])
    assert ended.value.code == 0
    text = capsys.readouterr().out
    user = text.split("user commands:\n")[1].split("\n\n")[0]
    maintainer = text.split("maintainer commands:\n")[1].split("\n\n")[0]
    assert [line.split()[0] for line in user.splitlines()] == list(USER_COMMANDS)
    assert [line.split()[0] for line in maintainer.splitlines()] == list(MAINTAINER_COMMANDS)
    assert all(len(line.split()) > 2 for line in (user + "\n" + maintainer).splitlines())
    listed = {PARSERS[name] for name in USER_COMMANDS + MAINTAINER_COMMANDS}
    old_names = {p for p in PARSERS.values() if summary_of(p).startswith("the old name of")}
    assert listed | old_names == set(PARSERS.values()), "every command is in one of the groups"
    assert not listed & old_names, "an old name kept for scripts is not advertised"
    assert text.startswith("usage: bpcheck [-h] [--version] COMMAND ...")
    assert "`bpcheck COMMAND --help`" in text
