"""``bpcheck gen-corpus``: N generated fixtures, to measure bpcheck at scale."""

from __future__ import annotations

import argparse
from pathlib import Path

from bpcheck.cli.command import add_command
from bpcheck.errors import BadInput, ExitCode

DESCRIPTION = """\
Write N valid fixtures into the new (or empty) folder OUT: problems drawn from a
fixed pool of architectures that between them use every feature of the problem
model, filled with numbers from the seed, each with a few claims pinned to the
values the engines agree on.  The same N and seed give the same files.  The
folder appears whole when every file is written.  tox -e scale runs bpcheck run
on 10,000 of them."""


def cmd_gen_corpus(args: argparse.Namespace) -> ExitCode:
    from bpcheck.authoring.corpus import write_corpus  # Hypothesis's strategies: only here

    # --help imports every command module; the work's modules load when the command runs
    from bpcheck.checking import registry
    from bpcheck.io.progress import tracked

    if args.count < 1:
        raise BadInput([f"N: expected a whole number of at least 1, got {args.count}"])
    names = args.engine or ["loops", "matrices"]
    try:
        engines = registry.in_process(names)
    except KeyError as unknown:
        raise BadInput([f"--engine: unknown engine {unknown.args[0]!r}"]) from None
    out = Path(args.out)
    claims = write_corpus(
        out,
        args.count,
        args.seed,
        engines,
        architectures=args.architectures,
        progress=lambda items: tracked(items, "generating"),
    )
    print(f"{out}: {args.count} fixtures, {claims} pinned claims (seed {args.seed})")
    return ExitCode.OK


def register(commands: object) -> None:
    parser = add_command(
        commands,
        "gen-corpus",
        summary="write N generated fixtures, to measure bpcheck at scale",
        description=DESCRIPTION,
        example="bpcheck gen-corpus 10000 --seed 1 /tmp/corpus/ && bpcheck run /tmp/corpus/",
        handler=cmd_gen_corpus,
    )
    parser.add_argument("count", type=int, metavar="N", help="how many fixtures")
    parser.add_argument("out", metavar="OUT", help="a new or empty folder")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same fixtures")
    parser.add_argument(
        "--architectures",
        type=int,
        default=12,
        metavar="K",
        help="architectures in the pool (each a shape JAX compiles once)",
    )
    parser.add_argument(
        "--engine",
        action="append",
        help="an engine whose values pin the claims (repeatable; default: loops and matrices, "
        "in this process)",
    )
