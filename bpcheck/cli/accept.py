"""``bpcheck accept``: the engines' agreed result becomes the expected verdicts and pins."""

from __future__ import annotations

import argparse
import sys

from bpcheck.cli.command import add_command, add_engines, add_paths
from bpcheck.errors import ExitCode
from bpcheck.io.escape import terminal_text


def cmd_accept(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.authoring.accept import accept
    from bpcheck.cli.inputs import engines_and_fixtures
    from bpcheck.io.files import check_rewritable, write_atomically

    engines, fixtures = engines_and_fixtures(args.engine, args.paths)
    check_rewritable(fixture.path for fixture in fixtures)
    status = ExitCode.OK
    rewritten = refused = 0
    for fixture in fixtures:
        result = accept(fixture, engines)
        for problem in result.problems:
            print(terminal_text(f"{fixture.path}: {problem}"), file=sys.stderr)
        if result.problems:
            refused += 1
            status = ExitCode.FAILED
        elif result.changed:
            write_atomically(fixture.path, result.new_text)
            print(terminal_text(result.diff(), lines=True), end="")
            rewritten += 1
    print(f"{len(fixtures)} fixture(s): {rewritten} rewritten, {refused} refused")
    return status


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "accept",
        summary="take the engines' agreed result as the expected verdicts and pinned values",
        description="Rewrite each claim's expected verdict and pinned value from what the "
        "engines now compute, and show the diff (as pytest-regressions' --force-regen). "
        "A fixture is left as it was where the engines disagree, where one errored, or where "
        "a new verdict needs a note written first; each such reason is one line on stderr.",
        example="bpcheck accept fixtures/mazur/mazur-2015.json",
        handler=cmd_accept,
        exit_codes={ExitCode.FAILED: "a fixture was refused (the reasons are printed)"},
    )
    add_paths(parser)
    add_engines(parser)
