"""Diagnose: which reading, bug or slip reproduces a printed number that is wrong.

* :mod:`.variants`: the catalogue (readings, bugs, hand computation, printing
  slips) and the variant engine that computes them;
* :mod:`.planted`: the bugs and the hand computation, planted in the loops
  engine through its seams;
* :mod:`.graph`: the computation graph of a fixture's quantities (which feed
  which), with the diagnosis' own float and exact Decimal arithmetic;
* :mod:`.rounded_chain`: a claim recomputed from the document's printed operands;
* :mod:`.slips`: single formula slips (and pairs within one formula) over the graph;
* :mod:`.computed`: the reference values, the catalogue within a time budget and
  the slips, prepared once per fixture;
* :mod:`.evidence`: the chance that an explanation's family hits random noise;
* :mod:`.diagnosis`: every explanation of every erratum, with its evidence, ranked;
* :mod:`.errata`: the evidence of each diagnosis as the errata lists show it;
* :mod:`.results`: the ``diagnose --json`` contract as types;
* :mod:`.zoo`: every bug against every check (the bug zoo table of docs/diagnose.md).

May import ``bpcheck.model``, ``bpcheck.io``, ``bpcheck.checking``,
``bpcheck.gradcheck``, ``bpcheck.testing`` and the loops engine; never argparse
or ``bpcheck.cli``.  The fixture loader knows the catalogue's names from
:mod:`bpcheck.model.diagnoses`, not from here.
"""
