"""Limits: what is too big is one line from `validate` (and every command), never a hang or a crash.

Each test was written against a finding of issue 14 and fails on the code before
the limits: ``"steps": 1e12`` validated and then hung every command, a 500 MB
file ended in a MemoryError, ``/dev/zero`` and a FIFO named ``x.json`` hung or
exhausted ``validate``, spelling hints cost 1.2 s per unknown name.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import random
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bpcheck.cli.main import main
from bpcheck.io import hints
from bpcheck.io.limits import ENVIRONMENT_VARIABLE, Limits, from_environment
from bpcheck.io.loader import FixtureError, load
from bpcheck.model import quantities
from tests.support.documents import VALID


def document(change: Callable[[dict[str, Any]], object] | None = None) -> dict[str, Any]:
    found = copy.deepcopy(VALID)
    if change is not None:
        change(found)
    return found


def validate(paths: list[Path], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["validate", *map(str, paths)])
    return code, capsys.readouterr().err.splitlines()


def one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    """Validate ``text`` as a fixture; it must be refused with exactly one line."""
    path = tmp_path / "big.json"
    path.write_text(text)
    code, lines = validate([path], capsys)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: "), lines[0]
    return lines[0]


def test_training_steps_beyond_the_limit_are_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(document(lambda d: d["problem"].update(steps=10**12)))
    line = one_line(tmp_path, capsys, text)
    assert ": $.problem.steps: expected at most 1000000 training steps, found 1000000000000" in line
    assert f"{ENVIRONMENT_VARIABLE}=steps=N" in line


def test_a_step_count_with_300_digits_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line(
        tmp_path, capsys, json.dumps(document(lambda d: d["problem"].update(steps=10**300)))
    )
    assert ": $.problem.steps: expected a number of at most 100 characters" in line


def test_a_weight_written_with_401_digits_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It validated, then raised OverflowError in every command (and interrupted pytest)."""
    text = json.dumps(VALID).replace("[[0.1, 0.2]]", "[[" + "1" * 401 + ", 0.2]]")
    line = one_line(tmp_path, capsys, text)
    assert (
        ": $.problem.layers[0].weights[0][0]: expected a number of at most 100 characters" in line
    )


def test_too_many_layers_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A thousand one-neuron layers aborted the autodiff engine's process (std::bad_alloc)."""

    def deep(d: dict[str, Any]) -> None:
        d["problem"]["inputs"] = [[0.5]]
        d["problem"]["layers"] = [{"activation": "sigmoid", "weights": [[0.5]]}] * 1000
        d["aliases"] = {}
        d["claims"][0]["quantity"] = "out[1000,1]"

    line = one_line(tmp_path, capsys, json.dumps(document(deep)))
    assert ": $.problem.layers: expected at most 32 layers, found 1000" in line


def test_too_many_parameters_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "parameters=1")
    line = one_line(tmp_path, capsys, json.dumps(VALID))
    assert ": $.problem.layers: expected at most 1 weights and biases, found 2" in line


def test_the_environment_variable_raises_a_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps(document(lambda d: d["problem"].update(steps=2_000_000))))
    assert validate([path], capsys)[0] == 2
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "steps=2000000, layers=64")
    assert validate([path], capsys) == (0, [])
    assert load(path).problem.steps == 2_000_000


@pytest.mark.parametrize("setting", ["steps", "steps=", "steps=-1", "stepz=10", "steps=1e6"])
def test_a_malformed_setting_is_one_line(
    setting: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(VALID))
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, setting)
    code, lines = validate([path], capsys)
    assert code == 2
    assert lines == [
        f"{ENVIRONMENT_VARIABLE}: expected comma-separated bytes=N, parameters=N, layers=N, "
        f"steps=N (N a whole number), found {setting!r}"
    ]


def test_the_defaults_are_what_the_documentation_states() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "fixtures.md").read_text("utf-8")
    limits = from_environment({})
    assert limits == Limits()
    for name, value in vars(limits).items():
        assert f"| {name} | {value:,} |" in page, f"the Limits of docs/fixtures.md lack {name}"


# --- files ----------------------------------------------------------------------------------


def test_a_file_beyond_the_size_limit_is_refused_without_reading_it_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 500 MB file ended in a MemoryError traceback; at most limit + 1 bytes are read now."""
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(500 * 1024 * 1024)  # sparse: no disk used
    tracemalloc.start()
    try:
        code, lines = validate([path], capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    assert lines == [
        f"{path}: $: expected a file of at most 33554432 bytes, found a larger one "
        f"(a limit: {ENVIRONMENT_VARIABLE}=bytes=N raises it)"
    ]
    assert peak < 100 * 1024 * 1024, f"reading took {peak / 2**20:.0f} MiB"


def test_a_file_of_exactly_the_limit_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(VALID)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, f"bytes={len(text)}")
    path = tmp_path / "exact.json"
    path.write_text(text)
    assert validate([path], capsys) == (0, [])
    path.write_text(text + " ")
    assert validate([path], capsys)[0] == 2


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_dev_zero_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate([Path("/dev/zero")], capsys) == (
        2,
        ["/dev/zero: $: expected a regular file, found a character device"],
    )


def _finishes(action: Callable[[], object], seconds: float) -> bool:
    """Whether ``action`` returns within ``seconds`` (run in a daemon thread, so a hang fails)."""
    worker = threading.Thread(target=action, daemon=True)
    worker.start()
    worker.join(seconds)
    return not worker.is_alive()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_in_a_fixtures_folder_is_refused_not_waited_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ok.json").write_text(json.dumps(VALID))
    os.mkfifo(tmp_path / "x.json")
    found: list[tuple[int, list[str]]] = []
    assert _finishes(lambda: found.append(validate([tmp_path], capsys)), 20), "validate hung"
    assert found == [
        (2, [f"{tmp_path / 'x.json'}: $: expected a regular file, found a named pipe (FIFO)"])
    ]


def test_a_folder_given_as_a_fixture_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FixtureError) as raised:
        load(tmp_path)
    assert [str(e) for e in raised.value.errors] == [
        f"{tmp_path}: $: expected a regular file, found a folder"
    ]


# --- spelling hints -------------------------------------------------------------------------


def _wide_network() -> dict[str, Any]:
    """A 200-200-2 network (40,400 weights): 1.2 s per unknown name before hints were bounded."""
    rng = random.Random(0)

    def matrix(rows: int, cols: int) -> list[list[float]]:
        return [[round(rng.uniform(-1, 1), 3) for _ in range(cols)] for _ in range(rows)]

    def change(d: dict[str, Any]) -> None:
        d["problem"].update(
            inputs=matrix(1, 200),
            targets=[[0.1, 0.9]],
            layers=[
                {"activation": "sigmoid", "weights": matrix(200, 200)},
                {"activation": "sigmoid", "weights": matrix(2, 200)},
            ],
        )
        d["aliases"] = {}
        d["claims"] = [
            {
                "id": "a",
                "quantity": "w[1,300,1]",
                "printed": "0.5",
                "where": "-",
                "expect": "match",
            },
            {"id": "b", "quantity": "ouy[1,2]", "printed": "0.5", "where": "-", "expect": "match"},
        ]

    return document(change)


def test_spelling_hints_compare_a_bounded_number_of_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[int] = []
    real = difflib.get_close_matches

    def counting(word: str, possibilities: Any, *args: Any, **kwargs: Any) -> list[str]:
        possibilities = list(possibilities)
        compared.append(len(possibilities))
        return real(word, possibilities, *args, **kwargs)

    def never(*args: Any) -> list[str]:
        raise AssertionError("the loader listed every name of a step")

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    monkeypatch.setattr(quantities, "names_at_step", never)
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(_wide_network()))
    with pytest.raises(FixtureError) as raised:
        load(path)
    lines = [str(e) for e in raised.value.errors]
    assert len(lines) == 2, lines
    assert "unknown quantity 'w[1,300,1]' (did you mean 'w[1," in lines[0]
    assert "unknown quantity 'ouy[1,2]' (did you mean 'out[1,2]@1'?)" in lines[1]
    assert compared and max(compared) <= hints.MAX_CANDIDATES


def test_hints_read_a_bounded_part_of_each_group() -> None:
    def endless() -> Any:
        number = 0
        while True:
            number += 1
            yield f"w[1,{number},1]"

    found: list[str | None] = []
    assert _finishes(
        lambda: found.append(hints.close_match("w[1,1,1]x", endless(), ["w[1,1,1]"])), 20
    )
    assert found == ["w[1,1,1]"]
