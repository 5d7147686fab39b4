"""The ``bpcheck`` command: validate fixtures, run engines on them.

Exit status: 0 all is well, 1 a claim or an engine let us down, 2 bad input
(a fixture or an argument), each reported on one line without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bpcheck.authoring.docs import updated_documents
from bpcheck.authoring.regen import regenerate
from bpcheck.checking import registry
from bpcheck.checking.check import OK, FixtureResult, check_fixture
from bpcheck.checking.results import (
    SUMMARY_HEADERS,
    disagreement_table,
    failing_claims_table,
    results_json,
    summary_rows,
    text_table,
)
from bpcheck.cli.inputs import engines_and_fixtures, load_fixtures, select_engines
from bpcheck.io.loader import load_all

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

EXTRA_COMMANDS = (
    "bpcheck.authoring.create",
    "bpcheck.authoring.explain",
    "bpcheck.diagnose.diagnosis",
    "bpcheck.gradcheck.core",
    "bpcheck.report.write",
    "bpcheck.report.compare",
)
"""Modules that add their own sub-commands through ``register(commands)``."""


def cmd_validate(args: argparse.Namespace) -> int:
    fixtures = load_fixtures(args.paths)
    if isinstance(fixtures, int):
        return fixtures
    print(f"{len(fixtures)} fixture(s) valid")
    return EXIT_OK


def print_result(result: FixtureResult, engines: list[str]) -> None:
    bad = [c for c in result.claims if c.outcome != OK]
    if bad:
        print(f"\n{result.fixture.id}: claims that differ from their expected verdict")
        print(failing_claims_table(bad, engines))
        for claim in bad:
            print(f"  {claim.claim.id}: {claim.message}")
    if result.disagreements:
        print(f"\n{result.fixture.id}: engines disagree")
        print(disagreement_table(result.disagreements, engines))


def cmd_run(args: argparse.Namespace) -> int:
    loaded = engines_and_fixtures(args.engine, args.paths)
    if isinstance(loaded, int):
        return loaded
    engines, fixtures = loaded
    results = [check_fixture(fixture, engines) for fixture in fixtures]
    print(text_table(SUMMARY_HEADERS, summary_rows(results)))
    for result in results:
        print_result(result, list(engines))
    if args.json:
        Path(args.json).write_text(json.dumps(results_json(engines, results), indent=1) + "\n")
    failed = [r for r in results if r.outcome != OK]
    claims = sum(len(r.claims) for r in results)
    print(f"\n{len(fixtures)} fixture(s), {claims} claim(s), {len(failed)} fixture(s) not ok")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_regen(args: argparse.Namespace) -> int:
    loaded = engines_and_fixtures(args.engine, args.paths)
    if isinstance(loaded, int):
        return loaded
    engines, fixtures = loaded
    status = EXIT_OK
    for fixture in fixtures:
        result = regenerate(fixture, engines)
        for problem in result.problems:
            print(f"{fixture.path}: $: cannot regenerate: {problem}", file=sys.stderr)
            status = EXIT_FAILED
        if result.changed:
            fixture.path.write_text(result.new_text, "utf-8")
            print(result.diff(), end="")
    print(f"{len(fixtures)} fixture(s) regenerated")
    return status


def cmd_docs(args: argparse.Namespace) -> int:
    fixtures, errors = load_all([Path(args.root) / "fixtures"])
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        return EXIT_BAD_INPUT
    reference = registry.select(["loops"])["loops"]
    stale = []
    for path, (old, new) in updated_documents(Path(args.root), fixtures, reference).items():
        if old != new:
            stale.append(path)
            if not args.check:
                path.write_text(new, "utf-8")
    verb = "out of date" if args.check else "rewritten"
    for path in stale:
        print(f"{path}: {verb}")
    return EXIT_FAILED if args.check and stale else EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from bpcheck.checking.bench import figures_table, run_benchmarks

    engines = select_engines(args.engine)
    if isinstance(engines, int):
        return engines
    for name, engine in engines.items():
        status = engine.available()
        if not status.available:
            print(f"{name}: skipped: {status.reason}")
    print(figures_table(run_benchmarks(engines, args.repeats)))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bpcheck", description="Check the numbers backpropagation tutorials print."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check fixture files without running engines")
    validate.add_argument(
        "paths", nargs="+", help="fixture files or folders (searched recursively)"
    )
    validate.set_defaults(handler=cmd_validate)
    run = commands.add_parser("run", help="run the engines on fixtures and judge every claim")
    run.add_argument("paths", nargs="+", help="fixture files or folders (searched recursively)")
    run.add_argument("--engine", action="append", help="only this engine (repeatable)")
    run.add_argument("--json", metavar="FILE", help="write the results as JSON")
    run.set_defaults(handler=cmd_run)
    regen = commands.add_parser(
        "regen", help="rewrite pinned reference values from the engines' agreed result"
    )
    regen.add_argument("paths", nargs="+", help="fixture files or folders (searched recursively)")
    regen.add_argument("--engine", action="append", help="only this engine (repeatable)")
    regen.set_defaults(handler=cmd_regen)
    docs = commands.add_parser(
        "docs", help="regenerate the coverage table and the errata list from the fixtures"
    )
    docs.add_argument("--root", default=".", help="the project folder (default: here)")
    docs.add_argument("--check", action="store_true", help="only report what is out of date")
    docs.set_defaults(handler=cmd_docs)
    bench = commands.add_parser("bench", help="time the engines (figures, not tests)")
    bench.add_argument("--engine", action="append", help="only this engine (repeatable)")
    bench.add_argument("--repeats", type=int, default=7, help="runs per figure (median)")
    bench.set_defaults(handler=cmd_bench)
    for module_name in EXTRA_COMMANDS:
        importlib.import_module(module_name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
