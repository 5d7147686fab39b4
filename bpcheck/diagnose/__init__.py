"""Diagnose: which reading, bug or slip reproduces a printed number that is wrong.

* :mod:`.variants`: the catalogue (readings, bugs, hand computation, printing
  slips) and the variant engine that computes them;
* :mod:`.planted`: the bugs and the hand computation, planted in the loops
  engine through its seams;
* :mod:`.diagnosis`: every variant tried on every erratum of a fixture, ranked;
* :mod:`.results`: the ``diagnose --json`` contract as types;
* :mod:`.zoo`: every bug against every check (the bug zoo table of docs/diagnose.md).

May import ``bpcheck.model``, ``bpcheck.io``, ``bpcheck.checking``,
``bpcheck.gradcheck``, ``bpcheck.testing`` and the loops engine; never argparse
or ``bpcheck.cli``.  The fixture loader knows the catalogue's names from
:mod:`bpcheck.model.diagnoses`, not from here.
"""
