"""External engines (the engine protocol): ours in JavaScript agrees, broken ones are caught.

The JavaScript engine (examples/engines/javascript) runs every bundled fixture beside
the built-in engines and must agree with them; each deliberately broken engine
(examples/engines/broken) must be reported errored, skipped or failed with its
reason, within the timeout, while the loops engine's results stay exactly its own.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking import protocol
from bpcheck.checking.check import (
    ERRORED,
    FAILED,
    OK,
    SKIPPED,
    check_fixture,
    disagreements,
    run_engine,
    run_problem,
)
from bpcheck.checking.external import EngineCommand, external, parse_engine_command
from bpcheck.errors import BadInput
from bpcheck.io.schemas import first_problem, load_schema
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture
from bpcheck.model.problem import Layer, Problem
from tests.support.paths import BUNDLED_FIXTURES, ROOT

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node (JavaScript) is not installed")
JAVASCRIPT = ROOT / "examples" / "engines" / "javascript" / "engine.js"
BROKEN = ROOT / "examples" / "engines" / "broken" / "broken.py"
MAZUR = ROOT / "fixtures" / "mazur" / "mazur-2015.json"
TIMEOUT = 3.0
BOUND = 60.0
"""Seconds after which a run counts as hung: far beyond the timeout and a restart."""


needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch is not installed (pip install -e '.[torch]'): the PyTorch engine is not tested",
)
PYTORCH = ROOT / "examples" / "engines" / "pytorch" / "engine.py"


def pytorch() -> Engine:
    return external(EngineCommand("pytorch", (sys.executable, str(PYTORCH))), timeout=60)


def javascript(source: Path = JAVASCRIPT, name: str = "javascript") -> Engine:
    return external(EngineCommand(name, (str(NODE), str(source))), timeout=30)


def broken(mode: str) -> Engine:
    spec = EngineCommand(f"broken-{mode}", (sys.executable, str(BROKEN), mode))
    return external(spec, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def mazur(bundled: dict[Path, Fixture]) -> Fixture:
    return bundled[MAZUR.resolve()]


# --- the JavaScript engine ------------------------------------------------------------------


@needs_node
@pytest.mark.parametrize("path", BUNDLED_FIXTURES, ids=lambda path: path.stem)
def test_the_javascript_engine_agrees_with_the_built_in_engines_on_every_bundled_fixture(
    path: Path, bundled: dict[Path, Fixture], available: dict[str, Engine]
) -> None:
    fixture = bundled[path.resolve()]
    engines = {name: available[name] for name in ("loops", "matrices") if name in available}
    result = check_fixture(fixture, {**engines, "javascript": javascript()})
    [run] = [r for r in result.runs if r.engine == "javascript"]
    if run.outcome == SKIPPED:
        assert run.reason, "a skip must say why"
        return
    assert run.outcome == OK, run.reason
    assert result.disagreements == []
    assert [c.claim.id for c in result.claims if c.outcome != OK] == []


@needs_torch
@pytest.mark.parametrize("path", BUNDLED_FIXTURES, ids=lambda path: path.stem)
def test_the_pytorch_engine_agrees_with_the_built_in_engines_on_every_bundled_fixture(
    path: Path, bundled: dict[Path, Fixture], available: dict[str, Engine]
) -> None:
    fixture = bundled[path.resolve()]
    engines = {name: available[name] for name in ("loops", "matrices") if name in available}
    result = check_fixture(fixture, {**engines, "pytorch": pytorch()})
    [run] = [r for r in result.runs if r.engine == "pytorch"]
    assert run.outcome == OK, run.reason  # it can do every problem the model has
    assert result.disagreements == []
    assert [c.claim.id for c in result.claims if c.outcome != OK] == []


def small_problem(activation: str, loss: str, batch: str, order: str, bias: str) -> Problem:
    """A 2-3-2 network on three samples, four steps: every name of the trace has a value."""
    output = {"bce": "sigmoid", "softmax_ce": "softmax"}.get(loss, activation)

    def biases(n: int) -> tuple[float, ...]:
        return {"none": (), "shared": (0.1,)}.get(bias, tuple(0.05 * (j + 1) for j in range(n)))

    hidden = Layer(((0.3, -0.4), (0.6, 0.8), (-0.2, 0.5)), activation, bias, biases(3))
    top = Layer(((0.1, -0.7, 0.4), (0.9, 0.2, -0.3)), output, bias, biases(2), False)
    return Problem(
        layers=(hidden, top),
        inputs=((0.5, -1.0), (1.5, 0.25), (-0.3, 0.7)),
        targets=((0.2, 0.8), (0.9, 0.1), (0.0, 1.0)),
        loss=loss,
        learning_rate=0.3,
        steps=4,
        batch=batch,
        update_order=order,
    )


SETTINGS = [
    *itertools.product(
        ["identity", "sigmoid", "tanh", "relu"],
        ["half_sse", "mse"],
        ["full", "per_sample"],
        ["simultaneous", "sequential"],
        ["per_neuron"],
    ),
    ("tanh", "sse", "full", "simultaneous", "shared"),
    ("relu", "half_sse", "per_sample", "sequential", "none"),
    ("sigmoid", "bce", "full", "sequential", "shared"),
    ("tanh", "softmax_ce", "per_sample", "simultaneous", "per_neuron"),
]


@pytest.mark.parametrize("setting", SETTINGS, ids="-".join)
def test_external_engines_agree_with_loops_on_every_name_of_every_step(
    setting: tuple[str, str, str, str, str], available: dict[str, Engine]
) -> None:
    """Beyond the bundled fixtures (all sigmoid): each activation, loss, batch and order."""
    problem = small_problem(*setting)
    record = {0, 1, 3, 4}
    runs = [run_problem(available["loops"], problem, record, "loops")]
    if NODE is not None:
        runs.append(run_problem(javascript(), problem, record, "javascript"))
    if importlib.util.find_spec("torch") is not None:
        runs.append(run_problem(pytorch(), problem, record, "pytorch"))
    if len(runs) == 1:
        pytest.skip("neither node nor torch is installed: no external engine to compare")
    for run in runs:
        assert run.outcome == OK, (run.engine, run.reason)
    assert disagreements(runs) == []


@needs_node
def test_a_killed_child_is_started_again_for_the_next_request(mazur: Fixture) -> None:
    engine = javascript(name="javascript-restarted")
    first = run_engine(engine, mazur)
    assert first.outcome == OK
    shared = engine._shared  # type: ignore[attr-defined]
    os.kill(shared.child.process.pid, signal.SIGKILL)
    shared.child.process.wait()
    again = run_engine(engine, mazur)
    assert again.outcome == OK, again.reason
    assert again.trace == first.trace


# --- broken engines -------------------------------------------------------------------------

CAUGHT = {
    "crash": (ERRORED, ["the engine's process ended (exit code 3)", "segmentation fault"]),
    "crash-at-start": (ERRORED, ["cannot start", "exit code 1", "ImportError"]),
    "hang": (ERRORED, [f"timed out after {TIMEOUT:g} s"]),
    "garbage": (ERRORED, ["not JSON", "DEBUG: weights after update"]),
    "wrong-names": (ERRORED, ["bad trace", "'output' is not a quantity of this problem"]),
    "old-protocol": (ERRORED, ["speaks protocol 0", "speaks protocol 1"]),
    "cannot-run": (SKIPPED, ["I only do XOR problems"]),
    "error": (ERRORED, ["ZeroDivisionError in step 0"]),
}


@pytest.mark.parametrize("mode", sorted(CAUGHT))
def test_a_broken_engine_is_reported_with_its_reason_and_the_others_stand(
    mode: str, mazur: Fixture, available: dict[str, Engine]
) -> None:
    loops = available["loops"]
    alone = run_engine(loops, mazur)
    began = time.monotonic()
    result = check_fixture(mazur, {"loops": loops, "broken": broken(mode)})
    assert time.monotonic() - began < BOUND
    runs = {run.engine: run for run in result.runs}
    outcome, reasons = CAUGHT[mode]
    assert runs["broken"].outcome == outcome, runs["broken"].reason
    for part in reasons:
        assert part in (runs["broken"].reason or ""), (part, runs["broken"].reason)
    assert runs["loops"].outcome == OK
    assert runs["loops"].trace == alone.trace
    assert all(claim.outcomes["loops"] == OK for claim in result.claims)
    assert all(claim.values["loops"] is not None for claim in result.claims if claim.claim.quantity)


def test_a_real_backprop_bug_fails_the_claims_and_the_agreement(
    mazur: Fixture, available: dict[str, Engine]
) -> None:
    loops = available["loops"]
    result = check_fixture(mazur, {"loops": loops, "buggy": broken("backprop-bug")})
    runs = {run.engine: run for run in result.runs}
    assert runs["buggy"].outcome == OK  # it answered; its numbers are what is wrong
    assert result.outcome == FAILED
    failing = {c.claim.id for c in result.claims if c.outcomes["buggy"] == FAILED}
    assert "E_total-after-1" in failing
    assert all(c.outcomes["loops"] == OK for c in result.claims)
    wrong = {d.quantity for d in result.disagreements if d.step == 0}
    assert "dE_dw[2,1,1]" in wrong  # the output layer's gradient lacks the sigmoid's slope
    assert "dout_dnet[2,1]@1" not in wrong  # the slope itself is right: only the delta is not
    assert "out[2,1]@1" not in wrong  # and the forward pass is right


def test_a_program_that_does_not_exist_is_errored_with_the_reason(mazur: Fixture) -> None:
    spec = EngineCommand("missing", ("/nonexistent/engine-binary",))
    run = run_engine(external(spec, timeout=TIMEOUT), mazur, "missing")
    assert run.outcome == ERRORED
    assert "cannot start /nonexistent/engine-binary" in (run.reason or "")
    assert "No such file or directory" in (run.reason or "")


# --- the messages ---------------------------------------------------------------------------


def test_every_request_sent_for_a_bundled_fixture_satisfies_the_published_schema(
    bundled: dict[Path, Fixture],
) -> None:
    schema = load_schema(protocol.REQUESTS_SCHEMA)
    assert first_problem(protocol.start_request(), schema) is None
    assert first_problem(protocol.stop_request(), schema) is None
    for fixture in bundled.values():
        request = protocol.run_request(1, fixture.problem, fixture.recorded_steps())
        assert first_problem(request, schema) is None, fixture.id
        sent = json.loads(protocol.encode(request))
        assert sent["problem"]["layers"][0]["weights"] == [
            list(row) for row in fixture.problem.layers[0].weights
        ]  # float64 exactly: the shortest repr reads back as the same number


def reply(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def test_a_trace_reply_reads_nan_and_infinities_from_their_strings() -> None:
    values = {"E": "NaN", "w[1,1,1]": "Infinity", "b[1]": "-Infinity", "out[1,1]@1": 1}
    parsed = protocol.parse_reply(reply({"reply": "trace", "id": 4, "trace": {"0": values}}))
    trace = protocol.ran(parsed, 4)
    assert isinstance(trace, dict)
    assert str(trace[0]["E"]) == "nan" and trace[0]["w[1,1,1]"] == float("inf")
    assert trace[0]["b[1]"] == float("-inf")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"hello\n", "not JSON"),
        (b"[1, 2]\n", "not a JSON object"),
        (reply({"reply": "trace!", "id": 1}), 'is not one of "started"'),
        (reply({"reply": "trace", "id": 1, "trace": {"zero": {}}}), "breaks the protocol at $"),
        (reply({"reply": "trace", "id": 1, "trace": {"0": {"E": "0.5"}}}), "$.trace"),
        (reply({"reply": "error", "id": 1}), "missing field: 'message'"),
        (b'{"reply": "error", "reply": "trace"}\n', "not JSON"),
        (b"\xff\xfe\n", "not UTF-8"),
    ],
)
def test_a_reply_that_breaks_the_protocol_is_garbage_saying_why(line: bytes, why: str) -> None:
    with pytest.raises(protocol.Garbage, match=None) as caught:
        protocol.parse_reply(line)
    assert why in str(caught.value), str(caught.value)


def test_a_reply_to_another_request_is_garbage() -> None:
    parsed = protocol.parse_reply(reply({"reply": "error", "id": 2, "message": "boom"}))
    with pytest.raises(protocol.Garbage, match="id 2 to run 3"):
        protocol.ran(parsed, 3)


# --- naming an engine: --engine-cmd and pyproject.toml -------------------------------------


def test_an_engine_command_is_a_name_and_a_command_split_as_a_shell_would() -> None:
    spec = parse_engine_command('mine=node "my engine.js" --fast')
    assert spec.name == "mine" and spec.argv == ("node", "my engine.js", "--fast")
    for bad, why in [
        ("node engine.js", 'expected NAME="COMMAND ARGS"'),
        ("mine=", "expected a command"),
        ("my engine=node e.js", "expected an engine name"),
        ('mine=node "e.js', "cannot split"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_engine_command(bad)


BPCHECK = str(Path(sys.executable).parent / "bpcheck")


def bpcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BPCHECK_NO_CACHE": "1"}
    return subprocess.run(
        [BPCHECK, *args], capture_output=True, text=True, cwd=cwd, timeout=BOUND * 2, env=env
    )


def test_a_malformed_engine_cmd_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = bpcheck("run", str(MAZUR), "--engine-cmd", "node engine.js", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "--engine-cmd: expected NAME=\"COMMAND ARGS\", found 'node engine.js'"
    ]
    done = bpcheck("run", str(MAZUR), "--engine-cmd", "loops=node e.js", cwd=tmp_path)
    assert done.returncode == 2
    assert "is a registered engine's" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_pyproject_entry_is_one_line_naming_file_and_entry(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.bpcheck.engines]\nmine = 3\n")
    done = bpcheck("run", str(MAZUR), "--engine", "loops", cwd=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"{tmp_path / 'pyproject.toml'}: tool.bpcheck.engines.mine: expected")


@needs_node
def test_an_engine_configured_in_pyproject_runs_in_bpcheck_run_and_in_pytest(
    tmp_path: Path,
) -> None:
    (tmp_path / "engine.js").write_text(JAVASCRIPT.read_text())
    (tmp_path / "pyproject.toml").write_text('[tool.bpcheck.engines]\njs = "node engine.js"\n')
    (tmp_path / "fixtures").mkdir()
    shutil.copy(MAZUR, tmp_path / "fixtures" / MAZUR.name)
    done = bpcheck(
        "run", "fixtures", "--engine", "loops", "--engine", "js", "--json", "r.json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    runs = json.loads((tmp_path / "r.json").read_text())["fixtures"][0]["runs"]
    assert runs == {
        "loops": {"outcome": "ok", "reason": None},
        "js": {"outcome": "ok", "reason": None},
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q"]
    command += ["--bpcheck-engine", "loops", "--bpcheck-engine", "js", "-o", "addopts=", "fixtures"]
    ran = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=BOUND * 2)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert " 83 passed" in ran.stdout or "passed" in ran.stdout.splitlines()[-1]
    listed = subprocess.run(
        [*command, "--collect-only"], capture_output=True, text=True, cwd=tmp_path, timeout=BOUND
    )
    assert "[js]" in listed.stdout


def test_bad_input_is_what_project_engines_raise(tmp_path: Path) -> None:
    from bpcheck.checking.project_engines import engines_in

    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.bpcheck.engines]\n"my engine" = "node e.js"\nok = ["node", "e.js"]\n')
    with pytest.raises(BadInput) as caught:
        engines_in(path)
    assert caught.value.lines == [
        f"{path}: tool.bpcheck.engines.my engine: expected an engine name of letters, digits, "
        "'-', '_' or '.', found 'my engine'"
    ]
    path.write_text('[tool.bpcheck.engines]\nok = ["node", "e.js"]\n')
    [spec] = engines_in(path)
    assert spec == EngineCommand("ok", ("node", "e.js"), tmp_path)


def test_without_torch_the_pytorch_engine_skips_every_fixture_saying_why(mazur: Fixture) -> None:
    hide_torch = (
        "import runpy, sys; sys.modules['torch'] = None; "
        f"runpy.run_path({str(PYTORCH)!r}, run_name='__main__')"
    )
    spec = EngineCommand("pytorch-without-torch", (sys.executable, "-c", hide_torch))
    run = run_engine(external(spec, timeout=30), mazur, "pytorch-without-torch")
    assert run.outcome == SKIPPED
    assert (run.reason or "").startswith("torch is not installed")


def test_an_external_engine_is_never_answered_from_the_trace_cache(tmp_path: Path) -> None:
    """Two programs under one name and version: the second's results are its own."""
    env = {**os.environ, "BPCHECK_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("BPCHECK_NO_CACHE", None)
    outcomes = []
    for mode in ("backprop-bug", "cannot-run"):
        command = f"b={sys.executable} {BROKEN} {mode}"
        done = subprocess.run(
            [BPCHECK, "run", str(MAZUR), "--engine", "loops", "--engine-cmd", command,
             "--json", str(tmp_path / f"{mode}.json")],
            capture_output=True, text=True, cwd=tmp_path, timeout=BOUND * 2, env=env,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        runs = json.loads((tmp_path / f"{mode}.json").read_text())["fixtures"][0]["runs"]
        outcomes.append(runs["b"]["outcome"])
    assert outcomes == ["ok", "skipped"]


@needs_node
def test_conform_passes_the_javascript_engine_and_names_the_check_a_planted_bug_fails(
    tmp_path: Path,
) -> None:
    """The student's command: ``bpcheck conform --engine-cmd mine="node engine.js"``."""
    done = bpcheck("conform", "--engine-cmd", f"js=node {JAVASCRIPT}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "every check and" in done.stdout and "fixtures: ok" in done.stdout
    buggy = tmp_path / "buggy.js"
    source = JAVASCRIPT.read_text()
    assert source.count("total[i] += d * w;") == 1
    buggy.write_text(source.replace("total[i] += d * w;", "total[i] += d * w * 0.5;"))
    done = bpcheck("conform", "--engine-cmd", f"buggy=node {buggy}", cwd=tmp_path)
    assert done.returncode == 1
    assert "buggy: check_gradients_match_finite_differences" in done.stdout
    assert "dE_dw[1,1,1] = 0.22449999999999998, expected 0.449" in done.stdout


@needs_torch
def test_conform_passes_the_pytorch_engine(tmp_path: Path) -> None:
    done = bpcheck("conform", "--engine-cmd", f"torch={sys.executable} {PYTORCH}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "every check and" in done.stdout and "fixtures: ok" in done.stdout


def test_a_child_that_stops_reading_times_out_even_on_a_request_bigger_than_a_pipe() -> None:
    """A write of 120 kB to a child that reads nothing would block bpcheck; the timeout holds."""
    answer_start_then_sleep = (
        "import json, sys, time; sys.stdin.readline(); "
        "print(json.dumps({'reply': 'started', 'protocol': 1, 'name': 'deaf', 'version': '0', "
        "'capabilities': ['activation:sigmoid', 'loss:half_sse', 'bias:none', 'batch:full', "
        "'order:simultaneous']}), flush=True); time.sleep(3600)"
    )
    spec = EngineCommand("deaf", (sys.executable, "-c", answer_start_then_sleep))
    wide = Layer(tuple(tuple(0.123456789 for _ in range(100)) for _ in range(100)), "sigmoid")
    problem = Problem(layers=(wide,), inputs=((0.5,) * 100,), targets=((0.1,) * 100,))
    assert len(protocol.encode(protocol.run_request(1, problem, {0}))) > 100_000
    began = time.monotonic()
    run = run_problem(external(spec, timeout=TIMEOUT), problem, {0}, "deaf")
    assert time.monotonic() - began < BOUND
    assert run.outcome == ERRORED
    assert run.reason == f"timed out after {TIMEOUT:g} s"
