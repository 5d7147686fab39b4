"""Writing fixtures and reading them back: ``new``, ``claim``, ``explain``, ``regen``, ``docs``.

``new`` builds a fixture document from a short description (:mod:`.new`, with the
tutorial's names from :mod:`.aliases`), ``claim`` adds printed numbers with their
verdicts (:mod:`.claim`), ``explain`` renders the worked example a fixture encodes
(:mod:`.explain`, :mod:`.worked_example`, HTML from ``templates/``), ``regen`` and
``docs`` rewrite pinned values and generated tables.  No argparse here and no
exit codes: a user's mistake raises :class:`bpcheck.errors.BadInput`.

May import bpcheck.model, bpcheck.io and bpcheck.checking; never bpcheck.report,
bpcheck.diagnose or bpcheck.cli.
"""
