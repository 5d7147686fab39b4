"""Running engines on fixtures and judging every claim.

``registry`` finds the engines (entry points of the ``bpcheck.engines`` group)
and names the reference engine; ``check`` runs them on a fixture, judges each
claim and checks that the engines agree; ``results`` turns that into tables and
the ``run --json`` document; ``bench`` times the engines.

May import ``bpcheck.io``, ``bpcheck.model`` and ``bpcheck.errors``; engines only
through the registry, by name.
"""
