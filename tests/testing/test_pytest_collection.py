"""Collection is opt-in: installing bpcheck leaves every other project's pytest run as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bpcheck.testing.plugin import HEAD_BYTES, names_fixture_schema, read_head
from tests.support.documents import VALID

QUIET = ("-W", "ignore::pytest.PytestAssertRewriteWarning")

OWN_TEST = """
import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_user_fixture_is_read():
    assert json.loads((FIXTURES / "user.json").read_text()) == {"user": "alice", "age": 3}
"""


def test_a_project_with_json_fixtures_of_its_own_is_left_alone(pytester: pytest.Pytester) -> None:
    """The issue's project: ``tests/fixtures/user.json`` failed as a bpcheck fixture."""
    fixtures = pytester.path / "tests" / "fixtures"
    fixtures.mkdir(parents=True)
    (fixtures / "user.json").write_text(json.dumps({"user": "alice", "age": 3}))
    (fixtures / "broken.json").write_text("{")
    (fixtures / "draft.json").write_text(
        '{"$schema": "https://json-schema.org/draft/2020-12/schema"}'
    )
    regressions = pytester.path / "tests" / "regressions"
    regressions.mkdir()
    (regressions / "case.json").write_text("[1, 2]")
    (pytester.path / "tests" / "test_user.py").write_text(OWN_TEST)

    result = pytester.runpytest(*QUIET)

    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    # pytest's own "plugins:" header names every installed plugin, bpcheck among them
    ours = [line for line in result.outlines + result.errlines if "bpcheck" in line.lower()]
    assert [line for line in ours if not line.startswith("plugins: ")] == []


def test_a_json_file_naming_the_fixture_schema_is_collected_anywhere(
    pytester: pytest.Pytester,
) -> None:
    folder = pytester.path / "notes" / "deep"
    folder.mkdir(parents=True)
    for version, reference in [
        ("v1", "../../bpcheck/fixture-v1.schema.json"),
        ("v2", "https://bpcheck.invalid/schema/fixture-v2.schema.json"),
    ]:
        document = dict(VALID, id=f"tiny-{version}")
        document["$schema"] = reference
        (folder / f"{version}.json").write_text(json.dumps(document))
    result = pytester.runpytest(*QUIET, "--bpcheck-engine", "loops", "-vv")
    result.assert_outcomes(passed=1, skipped=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "notes/deep/v1.json::tiny-v1::o[[]loops[]] PASSED*",
            "notes/deep/v1.json::tiny-v1::agreement SKIPPED*",
            "*",
            # a version this bpcheck does not read is reported, not passed over
            "notes/deep/v2.json::v2.json FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["*v2.json: $.$schema: *fixture-v2.schema.json* does not match *"])


def test_bpcheck_paths_collects_every_json_file_there_but_schemas(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nbpcheck_paths = ["data"]\n')
    data = pytester.path / "data"
    (data / "schema").mkdir(parents=True)
    (data / "schema" / "fixture-v1.schema.json").write_text("{}")
    without_schema = {key: value for key, value in VALID.items() if key != "$schema"}
    (data / "tiny.json").write_text(json.dumps(without_schema))
    (pytester.path / "elsewhere.json").write_text(json.dumps(without_schema))
    result = pytester.runpytest(*QUIET, "--bpcheck-engine", "loops", "-vv")
    result.assert_outcomes(failed=1)  # the loader wants "$schema"; the file is not passed over
    result.stdout.fnmatch_lines(["FAILED data/tiny.json::tiny.json - *tiny.json: $: *'$schema'"])


# --- reading the head of a file ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "collected"),
    [
        ('{"$schema": "../schema/fixture-v1.schema.json", "id": "x"}', True),
        ('{\n  "$schema" :\n  "fixture-v12.schema.json"}', True),
        ('{"$schema": "https://example.org/s/fixture-v3.schema.json#"}', True),
        ('{"$schema": "https://json-schema.org/draft/2020-12/schema"}', False),
        ('{"$schema": "../schema/run-result-v1.schema.json"}', False),
        ('{"$schema": "my-fixture-v1.schema.json"}', False),
        ('{"user": "alice"}', False),
        ("", False),
    ],
)
def test_the_schema_is_recognised_by_name(tmp_path: Path, text: str, collected: bool) -> None:
    path = tmp_path / "f.json"
    path.write_text(text)
    assert names_fixture_schema(path) is collected


def test_only_the_head_of_a_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "late.json"
    padding = " " * HEAD_BYTES
    path.write_text('{"a": 1,' + padding + '"$schema": "../schema/fixture-v1.schema.json"}')
    assert read_head(path) == path.read_bytes()[:HEAD_BYTES]
    assert not names_fixture_schema(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_fifo_or_a_folder_named_json_is_never_read(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes; the head is not read at all."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    assert read_head(fifo) is None
    assert read_head(folder) is None
    assert read_head(tmp_path / "missing.json") is None
