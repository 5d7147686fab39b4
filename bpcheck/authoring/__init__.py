"""Writing fixtures and reading them back: ``new``, ``claim``, ``explain``, ``regen``, ``sync``.

``new`` builds a fixture document from a short description (:mod:`.new`, answers
read by :mod:`.answers`, the tutorial's names from :mod:`.aliases`), ``claim`` adds
printed numbers with their verdicts (:mod:`.claim`), ``explain`` renders the worked
example a fixture encodes (:mod:`.explain`, :mod:`.worked_example`, HTML from
``templates/``), ``regen`` rewrites pinned values, and ``sync`` checks or rewrites
the generated tables (:mod:`.sync`, :mod:`.docs`; the CLI adds the committed
reports).  No argparse here and no exit codes: a user's mistake raises
:class:`bpcheck.errors.BadInput`.

May import bpcheck.model, bpcheck.io, bpcheck.checking and bpcheck.diagnose (the bug
zoo's table); never bpcheck.report or bpcheck.cli.
"""
