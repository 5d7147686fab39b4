"""``bpcheck report``: reports (Markdown, HTML, CSV, JSON) of fixtures or saved results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck.cli.command import add_command
from bpcheck.defaults import DEFAULT_REPORT_FORMATS, REPORT_FORMATS
from bpcheck.errors import BadInput, ExitCode
from bpcheck.io.escape import terminal_text

if TYPE_CHECKING:
    from bpcheck.report.write import Request


def parse_formats(text: str) -> list[str]:
    """``md,html`` to ``["md", "html"]``, in the order of ``REPORT_FORMATS``; unknown ones
    refused."""
    asked = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [f for f in asked if f not in REPORT_FORMATS]
    if unknown or not asked:
        found = unknown[0] if unknown else text
        raise BadInput(
            [
                f"--format: expected some of {', '.join(REPORT_FORMATS)} (comma-separated), "
                f"found {found!r}"
            ]
        )
    return [f for f in REPORT_FORMATS if f in asked]


def request_from(args: argparse.Namespace) -> Request:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.report.write import Request

    if bool(args.paths) == bool(args.saved):
        both = ", not both" if args.paths else ""
        raise BadInput(
            [f"report: $: expected fixture PATHs or --from FILE (a `run --json` result){both}"]
        )
    return Request(
        out=Path(args.out),
        paths=[Path(p) for p in args.paths],
        saved=[Path(p) for p in args.saved or ()],
        formats=parse_formats(args.format),
        engines=list(args.engine or ()),
        gradcheck=Path(args.gradcheck) if args.gradcheck else None,
        check_gradients=args.check_gradients,
        failures_only=args.failures_only,
    )


def cmd_report(args: argparse.Namespace) -> ExitCode:
    from bpcheck.report.write import make, missing_extras

    missing = missing_extras()
    if missing:
        raise BadInput(
            [f"bpcheck report needs {', '.join(missing)}: pip install 'bpcheck[report]'"]
        )
    made = make(request_from(args))
    print(f"{len(made.files)} file(s) written to {args.out}")
    if made.index_kept is not None:
        print(f"{made.index_kept}: kept (no report wrote it), so the folder's index is not written")
    if made.not_ok:
        names = terminal_text(", ".join(made.not_ok))
        print(f"{len(made.not_ok)} fixture(s) not ok: {names}")
    if made.gradients_failed:
        failed = terminal_text(", ".join(made.gradients_failed))
        print(f"{len(made.gradients_failed)} gradient check(s) failed or errored: {failed}")
    return ExitCode.FAILED if made.failed else ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "report",
        summary="write comparison reports (Markdown, HTML, CSV, JSON) of the results",
        description="Run the engines on fixtures (or read saved `bpcheck run --json` results)\n"
        "and write a report: one table per fixture with each engine's value beside the\n"
        "printed one, a fixture-by-engine summary, verdicts per document, the errata,\n"
        "gradient checks (--gradcheck), loss curves of multi-step fixtures and the run's\n"
        "metadata.  Needs the report extra: pip install 'bpcheck[report]'.",
        example="bpcheck report fixtures/ --out reports/ --format md,html,csv,json",
        handler=cmd_report,
        exit_codes={
            ExitCode.OK: "the report was written, and every fixture (and gradient check) is ok",
            ExitCode.FAILED: "the report was written, and a fixture is not ok (a claim missed "
            "its expected verdict or an engine failed, as for `bpcheck run`) or a gradient "
            "check failed",
        },
    )
    parser.add_argument("paths", nargs="*", help="fixture files or folders (searched recursively)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the report")
    parser.add_argument(
        "--from",
        dest="saved",
        action="append",
        metavar="FILE",
        help="report on saved `bpcheck run --json` results instead of running fixtures "
        "(repeatable: shards are merged)",
    )
    parser.add_argument(
        "--format",
        default=DEFAULT_REPORT_FORMATS,
        help=f"comma-separated, some of {', '.join(REPORT_FORMATS)}",
    )
    parser.add_argument(
        "--failures-only",
        action="store_true",
        help="per-fixture tables show only the claims that did not reach their expected verdict",
    )
    parser.add_argument("--engine", action="append", help="only this engine (repeatable)")
    parser.add_argument(
        "--gradcheck", metavar="FILE", help="include a `bpcheck gradcheck --json` results file"
    )
    parser.add_argument(
        "--check-gradients",
        action="store_true",
        help="run the gradient checks (as `bpcheck gradcheck` does) and include them",
    )
