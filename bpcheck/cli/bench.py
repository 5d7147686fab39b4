"""``bpcheck bench``: time the engines (figures, not tests)."""

from __future__ import annotations

import argparse

from bpcheck.checking import registry
from bpcheck.cli.command import add_command, add_engines
from bpcheck.cli.inputs import select_engines
from bpcheck.errors import BadInput, ExitCode
from bpcheck.io.progress import tracked


def cmd_bench(args: argparse.Namespace) -> ExitCode:
    from bpcheck.checking.bench import figures_table, run_benchmarks

    if args.repeats < 1:
        raise BadInput([f"--repeats: expected a whole number of at least 1, got {args.repeats}"])
    # Timed in this process: the figures are the engines', not those of the pipes to them.
    engines = registry.in_process(list(select_engines(args.engine)))
    for name, engine in engines.items():
        status = engine.available()
        if not status.available:
            print(f"{name}: skipped: {status.reason}")
    figures = [
        figure
        for name, engine in tracked(list(engines.items()), "bench", lambda item: item[0])
        for figure in run_benchmarks({name: engine}, args.repeats)
    ]
    print(figures_table(figures))
    return ExitCode.OK


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
