"""``bpcheck regen``: rewrite pinned reference values from the engines' agreed result."""

from __future__ import annotations

import argparse
import sys

from bpcheck.authoring.regen import regenerate
from bpcheck.cli.command import add_command, add_engines, add_paths
from bpcheck.cli.inputs import engines_and_fixtures
from bpcheck.errors import ExitCode
from bpcheck.io.files import check_rewritable, write_atomically


def cmd_regen(args: argparse.Namespace) -> ExitCode:
    engines, fixtures = engines_and_fixtures(args.engine, args.paths)
    check_rewritable(fixture.path for fixture in fixtures)
    status = ExitCode.OK
    for fixture in fixtures:
        result = regenerate(fixture, engines)
        for problem in result.problems:
            print(f"{fixture.path}: $: cannot regenerate: {problem}", file=sys.stderr)
            status = ExitCode.FAILED
        if result.changed:
            write_atomically(fixture.path, result.new_text)
            print(result.diff(), end="")
    print(f"{len(fixtures)} fixture(s) regenerated")
    return status


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "regen",
        summary="rewrite pinned reference values from the engines' agreed result",
        description="Rewrite every pinned value of the fixtures from the engines' agreed "
        "result and show the diff; refuses where the engines disagree.",
        example="bpcheck regen fixtures/mazur/",
        handler=cmd_regen,
    )
    add_paths(parser)
    add_engines(parser)
