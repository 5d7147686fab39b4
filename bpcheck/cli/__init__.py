"""The ``bpcheck`` command line: one module per sub-command, and ``main`` that runs them.

This is the top layer: it may import every other part of bpcheck, and nothing
imports it.  Each command module has ``register(commands)``, which adds its
parser and sets ``handler`` to a function ``Namespace -> ExitCode``.  Domain code
never sees argparse and never prints usage errors: it raises
:class:`bpcheck.errors.BadInput`, which ``main`` turns into one line per problem
and exit status 2.
"""

from bpcheck.cli.main import main

__all__ = ["main"]
