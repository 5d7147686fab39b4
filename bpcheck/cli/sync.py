"""``bpcheck sync``: regenerate (or with ``--check``, check) every generated file.

The sections between marker comments (coverage table, errata list, bug zoo) and,
when the project commits them, the reports in ``reports/``: one command, so no
generated file is forgotten.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck.cli.command import add_command
from bpcheck.defaults import SYNC
from bpcheck.errors import ExitCode

if TYPE_CHECKING:
    from bpcheck.authoring.sync import Stale

DESCRIPTION = """\
Regenerate every generated file of the project at --root from its fixtures and
bpcheck's code: the coverage table (fixtures/README.md), the errata list and the
bug zoo table (their sections between marker comments), and, when there is a
reports/ folder, the committed reports (as `bpcheck report fixtures/ --out
reports/ --format md,html,csv,json` makes them).  A file is rewritten only when
it would say something else: a report made on another day or machine with the
same results is current.  --check rewrites nothing and fails when anything is
out of date."""


def cmd_sync(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.authoring.sync import (
        check_section_files,
        regenerate_hint,
        section_files,
        stale_sections,
    )
    from bpcheck.checking import registry
    from bpcheck.cli.inputs import load_fixtures
    from bpcheck.report import committed  # pandas and matplotlib: only when sync runs
    from bpcheck.report.folder import check_folder

    root = Path(args.root)
    fixtures = load_fixtures([str(root / "fixtures")])
    reference = registry.reference_engine()
    check_section_files(section_files(root, fixtures, reference), rewrite=not args.check)
    reports = (root / committed.REPORTS).is_dir()
    if reports:
        committed.check_can_regenerate(root)
        if not args.check:
            check_folder(root / committed.REPORTS, committed.ALL_FORMATS)
    stale = stale_sections(root, fixtures, reference)
    if reports:
        stale += stale_reports(root)
    for item in stale:
        if not args.check:
            item.rewrite()
        print(f"{item.path}: {'out of date' if args.check else 'rewritten'} ({item.what})")
    if args.check and stale:
        print(regenerate_hint(stale))
        return ExitCode.FAILED
    return ExitCode.OK


def stale_reports(root: Path) -> list[Stale]:
    from bpcheck.authoring.sync import Stale
    from bpcheck.report import committed

    names = committed.stale_files(root)
    if not names:
        return []
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return [Stale(root / committed.REPORTS, shown, lambda: _regenerate(root))]


def _regenerate(root: Path) -> None:
    from bpcheck.report import committed

    committed.regenerate(root)


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "sync",
        summary="regenerate every generated file: tables in the docs, committed reports",
        description=DESCRIPTION,
        example=f"{SYNC} --check",
        handler=cmd_sync,
        exit_codes={ExitCode.FAILED: "with --check: a generated file is out of date"},
    )
    parser.add_argument("--root", default=".", help="the project folder")
    parser.add_argument(
        "--check", action="store_true", help="rewrite nothing; fail when anything is stale"
    )
