"""``bpcheck docs``: regenerate the coverage table, the errata list and the bug zoo table."""

from __future__ import annotations

import argparse
from pathlib import Path

from bpcheck.authoring.docs import generated_sections, updated_documents
from bpcheck.checking import registry
from bpcheck.cli.command import add_command
from bpcheck.cli.inputs import load_fixtures
from bpcheck.errors import BadInput, ExitCode
from bpcheck.io.files import check_rewritable, write_atomically


def check_documents(paths: list[Path], *, rewrite: bool) -> None:
    """Before anything is computed: every generated document exists (and can be rewritten)."""
    missing = sorted({str(p) for p in paths if not p.is_file()})
    if missing:
        raise BadInput([f"{p}: --root: expected a file with generated sections" for p in missing])
    if rewrite:
        check_rewritable(dict.fromkeys(paths), "--root")


def cmd_docs(args: argparse.Namespace) -> ExitCode:
    fixtures = load_fixtures([str(Path(args.root) / "fixtures")])
    reference = registry.reference_engine()
    documents = [s.path for s in generated_sections(Path(args.root), fixtures, reference)]
    check_documents(documents, rewrite=not args.check)
    stale = []
    for path, (old, new) in updated_documents(Path(args.root), fixtures, reference).items():
        if old != new:
            stale.append(path)
            if not args.check:
                write_atomically(path, new, "--root")
    verb = "out of date" if args.check else "rewritten"
    for path in stale:
        print(f"{path}: {verb}")
    return ExitCode.FAILED if args.check and stale else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "docs",
        summary="regenerate the coverage table, the errata list and the bug zoo table",
        description="Rewrite the generated sections of README.md and fixtures/README.md "
        "(coverage table, errata list, bug zoo) from the fixtures, the reference engine and "
        "the bugs of the diagnose catalogue.",
        example="bpcheck docs --check",
        handler=cmd_docs,
        exit_codes={ExitCode.FAILED: "with --check: a generated section is out of date"},
    )
    parser.add_argument("--root", default=".", help="the project folder")
    parser.add_argument("--check", action="store_true", help="only report what is out of date")
