"""``bpcheck validate``: check fixture files without running any engine."""

from __future__ import annotations

import argparse

from bpcheck.cli.command import add_command, add_paths
from bpcheck.errors import ExitCode


def cmd_validate(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.cli.inputs import load_fixtures
    from bpcheck.io.progress import working

    with working("validating"):
        fixtures = load_fixtures(args.paths)
    print(f"{len(fixtures)} fixture(s) valid")
    return ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "validate",
        summary="check fixture files without running engines",
        description="Check each fixture's structure (the JSON Schema) and meaning (shapes, "
        "names, ids) without running any engine.",
        example="bpcheck validate fixtures/",
        handler=cmd_validate,
        exit_codes={ExitCode.OK: "every fixture is valid"},
    )
    add_paths(parser)
