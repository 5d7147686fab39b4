"""What the engine protocol costs: one fixture (Mazur, one step) in-process and over a pipe.

Run ``python benchmarks/protocol_bench.py``.  Figures, not tests: nothing is asserted.

The same problem (Mazur's 2-2-2 network, steps 0 and 1 recorded: 48 names a step) is
run by

* the loops engine in this process (the floor: the maths alone);
* the loops engine in its worker process, as ``bpcheck run`` runs registered engines
  (pickled requests over a socket);
* the loops engine behind the engine protocol (``examples/engines/broken/broken.py
  correct``: a Python child answering JSON lines), so that the difference from the first
  is the protocol alone: encoding the request, the pipe, reading and schema-checking the
  reply, and checking the trace;
* the JavaScript engine (``node examples/engines/javascript/engine.js``), when node is
  installed: an engine in another language, with its own arithmetic.

Each figure is the median of REPEATS runs after a warm-up (the child already started),
and the reply's parse and schema check is timed on its own.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpcheck.checking import protocol, registry
from bpcheck.checking.check import run_problem
from bpcheck.checking.external import EngineCommand, external, stop_children
from bpcheck.checking.isolation import stop_workers
from bpcheck.checking.results import text_table
from bpcheck.io.loader import load
from bpcheck.model.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "mazur" / "mazur-2015.json"
REPEATS = 200
RECORD = {0, 1}


def median_seconds(run: Callable[[], object], repeats: int = REPEATS) -> float:
    run()  # warm-up: start the child, import, compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    problem = replace(load(FIXTURE).problem, steps=1)
    engines: list[tuple[str, Engine | None, str]] = [
        ("loops, in this process", registry.in_process(["loops"])["loops"], ""),
        ("loops, worker process", registry.select(["loops"])["loops"], ""),
    ]
    python_child = (sys.executable, str(ROOT / "examples/engines/broken/broken.py"), "correct")
    engines.append(
        ("loops, engine protocol", external(EngineCommand("protocol", python_child)), "")
    )
    node = shutil.which("node")
    js = (str(node), str(ROOT / "examples/engines/javascript/engine.js")) if node else ()
    engines.append(
        (
            "javascript, engine protocol",
            external(EngineCommand("javascript", js)) if node else None,
            "" if node else "skipped: node is not installed",
        )
    )
    rows = []
    floor = None
    for label, engine, why in engines:
        if engine is None:
            rows.append([label, "-", "-", why])
            continue
        outcome = run_problem(engine, problem, RECORD, label)
        if outcome.outcome != "ok":
            rows.append([label, "-", "-", f"{outcome.outcome}: {outcome.reason}"])
            continue
        seconds = median_seconds(lambda e=engine: run_problem(e, problem, RECORD, "x"))
        floor = seconds if floor is None else floor
        names = sum(len(values) for values in outcome.trace.values())
        rows.append(
            [label, f"{seconds * 1e3:.3f} ms", f"+{(seconds - floor) * 1e3:.3f} ms", f"{names}"]
        )
    print(f"Mazur 2015, one step (steps 0 and 1 recorded); median of {REPEATS} runs\n")
    print(text_table(["engine", "per fixture", "over in-process loops", "names"], rows))

    trace = registry.in_process(["loops"])["loops"].run(problem, RECORD)
    reply = protocol.encode(
        {
            "reply": "trace",
            "id": 1,
            "trace": {str(step): values for step, values in trace.items()},
        }
    )
    parse = median_seconds(lambda: protocol.parse_reply(reply), 1000)
    request = median_seconds(lambda: protocol.encode(protocol.run_request(1, problem, RECORD)))
    print(
        f"\nof which: reading and schema-checking the {len(reply):,}-byte reply "
        f"{parse * 1e3:.3f} ms, writing the request {request * 1e3:.3f} ms"
    )
    stop_children()
    stop_workers()


if __name__ == "__main__":
    main()
