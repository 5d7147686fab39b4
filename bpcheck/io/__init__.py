"""Files in and out: fixtures (JSON in, a checked Fixture out) and the JSON Schemas of every file.

``loader`` turns fixture files into :class:`bpcheck.model.fixture.Fixture` objects
or into one clear line per problem; ``schema/`` holds the published JSON Schemas
(the fixture format and the ``--json`` results of run, gradcheck and diagnose).
Every JSON file is read by ``strict_json`` within the ``limits`` (docs/fixtures.md, "Limits")
and checked by ``validator``; ``escape`` makes text from outside inert in CSV,
Markdown and on the terminal, for every layer that writes output.

May import ``bpcheck.model`` and ``bpcheck.errors``; runs no engine.
"""
