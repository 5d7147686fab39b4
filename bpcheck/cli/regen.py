"""``bpcheck regen``: rewrite pinned reference values from the engines' agreed result."""

from __future__ import annotations

import argparse
import sys

from bpcheck.cli.command import add_command, add_engines, add_paths
from bpcheck.errors import ExitCode
from bpcheck.io.escape import terminal_text


def cmd_regen(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.authoring.regen import regenerate
    from bpcheck.cli.inputs import engines_and_fixtures
    from bpcheck.io.files import check_rewritable, write_atomically
    from bpcheck.io.progress import tracked

    engines, fixtures = engines_and_fixtures(args.engine, args.paths)
    check_rewritable(fixture.path for fixture in fixtures)
    status = ExitCode.OK
    changed = 0
    for fixture in tracked(fixtures, "regen", lambda f: f.id):
        result = regenerate(fixture, engines)
        for problem in result.problems:
            print(f"{fixture.path}: $: cannot regenerate: {problem}", file=sys.stderr)
            status = ExitCode.FAILED
        if result.changed:
            write_atomically(fixture.path, result.new_text)
            print(terminal_text(result.diff(), lines=True), end="")
            changed += 1
    print(f"{changed} of {len(fixtures)} fixture(s) changed")
    return status


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "regen",
        summary="rewrite pinned reference values from the engines' agreed result",
        description="Rewrite every pinned value of the fixtures from the engines' agreed "
        "result, show the diff of each fixture that changed, and say how many did; a "
        "fixture where the engines disagree, or none ran, is left as it was.",
        example="bpcheck regen fixtures/mazur/",
        handler=cmd_regen,
        exit_codes={
            ExitCode.OK: "every fixture was regenerated (or was already current)",
            ExitCode.FAILED: "a fixture was left as it was: the engines disagree, or none ran",
        },
    )
    add_paths(parser)
    add_engines(parser)
