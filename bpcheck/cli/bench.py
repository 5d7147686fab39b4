"""``bpcheck bench``: time the engines (figures, not tests)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck.cli.command import add_command, add_engines
from bpcheck.errors import BadInput, ExitCode

if TYPE_CHECKING:
    from bpcheck.model.engine import Engine


def cmd_bench(args: argparse.Namespace) -> ExitCode:
    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.checking import registry
    from bpcheck.checking.bench import figures_table, run_benchmarks
    from bpcheck.checking.external import ExternalEngine
    from bpcheck.cli.inputs import select_engines
    from bpcheck.io.progress import tracked

    if args.repeats < 1:
        raise BadInput([f"--repeats: expected a whole number of at least 1, got {args.repeats}"])
    # Timed in this process: the figures are the engines', not those of the pipes to them
    # (an external engine, --engine-cmd, can only be timed through its pipe).
    selected = select_engines(args.engine)
    ours = registry.in_process(
        [n for n, e in selected.items() if not isinstance(e, ExternalEngine)]
    )
    engines = {name: ours.get(name, engine) for name, engine in selected.items()}
    for name, engine in engines.items():
        status = engine.available()
        if not status.available:
            print(f"{name}: skipped: {status.reason}")
    if args.everyday or args.everyday_only or args.tests:
        print_everyday(engines, args)
        if args.everyday_only:
            return ExitCode.OK
    figures = [
        figure
        for name, engine in tracked(list(engines.items()), "bench", lambda item: item[0])
        for figure in run_benchmarks({name: engine}, args.repeats)
    ]
    print(figures_table(figures))
    return ExitCode.OK


def print_everyday(engines: dict[str, Engine], args: argparse.Namespace) -> None:
    """The everyday loop's table: commands and engines beside goals and references."""
    from bpcheck.checking.everyday import command_rows, engine_rows, rows_table

    rows = command_rows(Path(args.root), args.repeats, tests=args.tests)
    rows += engine_rows(engines, args.repeats)
    print(rows_table(rows))
    print()


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "bench",
        summary="time the engines (figures, not tests)",
        description="Time each engine on the benchmark problems and print the medians "
        "beside their targets.",
        example="bpcheck bench --engine matrices --repeats 3",
        handler=cmd_bench,
    )
    add_engines(parser)
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (median)")
    parser.add_argument(
        "--everyday",
        action="store_true",
        help="first the everyday loop (docs/caches.md): run, claim, diagnose, validate and the "
        "engines, each beside its goal and a reference timed in the same run",
    )
    parser.add_argument(
        "--everyday-only", action="store_true", help="only that table (implies --everyday)"
    )
    parser.add_argument(
        "--tests",
        action="store_true",
        help="in that table, time the test suite too (the fast run and all of it: minutes)",
    )
    parser.add_argument(
        "--root", default=".", help="the project whose fixtures/ the commands run on"
    )
