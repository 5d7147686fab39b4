"""A deliberately broken external engine: one way an engine in any language can go wrong.

    python broken.py MODE

speaks the engine protocol (docs/protocol.md) and fails as MODE says, so that the test
suite (tests/checking/test_external_engines.py) can show each failure caught cleanly:

=============  =====================================================  =====================
MODE           what the engine does                                   bpcheck reports
=============  =====================================================  =====================
crash          dies (exit 3) on its first ``run``, after a word on    errored: the process
               stderr                                                 ended (exit code 3)
crash-at-start dies before answering ``start``                        errored, every fixture
hang           never answers ``run``                                  errored: timed out
garbage        prints a debugging line on stdout instead of a reply   errored: not JSON
wrong-names    answers with names no problem has                      errored: bad trace
old-protocol   answers ``start`` with protocol 0                      errored, every fixture
cannot-run     answers ``cannot run`` to every ``run``                skipped, with reason
error          answers ``error`` to every ``run``                     errored, with message
backprop-bug   a real bug: forgets the activation's slope in the      failed: claims and
               output layer's delta (a classic of from-scratch code)  agreement
correct        nothing wrong: the control (and the protocol's cost,   ok
               benchmarks/protocol_bench.py)
=============  =====================================================  =====================

Its correct maths is bpcheck's own loops engine (the point here is the failures, not an
independent implementation: see examples/engines/javascript for that).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

from bpcheck.engines.loops import LoopsEngine
from bpcheck.model.engine import ALL_CAPABILITIES, FLOAT32, OPTIMIZER_CAPABILITIES
from bpcheck.model.problem import Layer, Problem
from bpcheck.model.quantities import EXTENDED, names_at_step

CAPABILITIES = sorted(
    ALL_CAPABILITIES
    - {*OPTIMIZER_CAPABILITIES, FLOAT32, EXTENDED, "batch:mini", "loss:output"}
    - {"activation:leaky_relu", "activation:softplus", "activation:elu"}
)
"""What it read before issue 17: problems with the new features skip it (problem_of reads the
old fields only), and its traces hold the names of engines without ``quantity:extended``."""

MODES = (
    "crash",
    "crash-at-start",
    "hang",
    "garbage",
    "wrong-names",
    "old-protocol",
    "cannot-run",
    "error",
    "backprop-bug",
    "correct",
)


class ForgetsTheOutputSlope(LoopsEngine):
    """The output layer's delta is dE/dout itself: the activation's slope is left out."""

    def back_through_activation(
        self,
        activation: str,
        nets: list[float],
        outs: list[float],
        d_out: list[float],
        output_layer: bool,
    ) -> list[float]:
        if output_layer:
            return list(d_out)
        return super().back_through_activation(activation, nets, outs, d_out, output_layer)


def problem_of(data: dict) -> Problem:
    layers = tuple(
        Layer(
            weights=tuple(tuple(row) for row in layer["weights"]),
            activation=layer["activation"],
            bias_kind=layer["bias"]["kind"],
            bias=tuple(layer["bias"]["values"]),
            bias_trainable=layer["bias"]["trainable"],
        )
        for layer in data["layers"]
    )
    return Problem(
        layers=layers,
        inputs=tuple(tuple(row) for row in data["inputs"]),
        targets=tuple(tuple(row) for row in data["targets"]),
        loss=data["loss"],
        learning_rate=data["learning_rate"],
        steps=data["steps"],
        batch=data["batch"],
        update_order=data["update_order"],
    )


def plain_names(trace: dict, problem: Problem) -> dict:
    """The trace without the extended names (which this engine does not declare)."""
    return {
        step: {name: values[name] for name in names_at_step(problem, step, extended=False)}
        for step, values in trace.items()
    }


def plain(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def reply(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def answer_run(mode: str, request: dict) -> None:
    identifier = request["id"]
    if mode == "crash":
        sys.stderr.write("segmentation fault (pretend) in backward()\n")
        sys.stderr.flush()
        os._exit(3)
    if mode == "hang":
        time.sleep(3600)
    if mode == "garbage":
        print("DEBUG: weights after update:", request["problem"]["layers"][0]["weights"])
        sys.stdout.flush()
        return
    if mode == "cannot-run":
        reply({"reply": "cannot run", "id": identifier, "reason": "I only do XOR problems"})
        return
    if mode == "error":
        reply({"reply": "error", "id": identifier, "message": "ZeroDivisionError in step 0"})
        return
    engine = ForgetsTheOutputSlope() if mode == "backprop-bug" else LoopsEngine()
    problem = problem_of(request["problem"])
    trace = plain_names(engine.run(problem, request["record"]), problem)
    if mode == "wrong-names":
        trace = {step: {"output": 0.5, "loss": 0.1} for step in trace}
    reply(
        {
            "reply": "trace",
            "id": identifier,
            "trace": {
                str(step): {name: plain(value) for name, value in values.items()}
                for step, values in trace.items()
            },
        }
    )


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in MODES:
        sys.exit(f"usage: broken.py MODE, one of {', '.join(MODES)}")
    for line in sys.stdin:
        request = json.loads(line)
        if request["request"] == "start":
            if mode == "crash-at-start":
                sys.stderr.write("ImportError: no module named 'mylinalg'\n")
                sys.exit(1)
            reply(
                {
                    "reply": "started",
                    "protocol": 0 if mode == "old-protocol" else 1,
                    "name": f"broken-{mode}",
                    "version": "0",
                    "capabilities": CAPABILITIES,
                }
            )
        elif request["request"] == "run":
            answer_run(mode, request)
        else:
            return


if __name__ == "__main__":
    main()
