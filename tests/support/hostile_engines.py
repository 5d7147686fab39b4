"""Plug-in engines that misbehave on purpose, installed as real plug-ins in a temporary folder.

:func:`install` writes a module of hostile engines and two distributions
(``*.dist-info`` folders with ``METADATA`` and ``entry_points.txt``) whose entry
points register them in the ``bpcheck.engines`` group; putting the folder on
``PYTHONPATH`` makes a ``bpcheck`` or ``pytest`` subprocess find them exactly as
it would find an installed plug-in.  :data:`EXPECTED` says, for each, the reason
bpcheck must give when it reports the engine ``errored``.

Most are the loops engine with one method made hostile, so that whatever they
do not break, they do right.
"""

from __future__ import annotations

import os
from pathlib import Path

ENGINES = '''
import os
import sys
import time

from bpcheck.engines.loops import LoopsEngine


class Exits(LoopsEngine):
    def run(self, problem, record):
        print("exiting now")
        sys.exit(0)


class HardExits(LoopsEngine):
    def run(self, problem, record):
        print("leaving without a word")
        os._exit(0)


class Aborts(LoopsEngine):
    def run(self, problem, record):
        print("terminate called after throwing an instance of 'std::bad_alloc'", flush=True)
        os.abort()


class Interrupts(LoopsEngine):
    def run(self, problem, record):
        raise KeyboardInterrupt


class ReturnsList(LoopsEngine):
    def run(self, problem, record):
        return [1.0, 2.0]


class ReturnsNone(LoopsEngine):
    def run(self, problem, record):
        return None


class ReturnsStrings(LoopsEngine):
    def run(self, problem, record):
        trace = super().run(problem, record)
        return {s: {name: str(v) for name, v in values.items()} for s, values in trace.items()}


class ExtraStep(LoopsEngine):
    def run(self, problem, record):
        trace = super().run(problem, record)
        trace[99] = trace[min(trace)]
        return trace


class UnknownName(LoopsEngine):
    def run(self, problem, record):
        trace = super().run(problem, record)
        trace[min(trace)]["w[9,9,9]"] = 1.0
        return trace


class AvailableRaises(LoopsEngine):
    def available(self):
        raise RuntimeError("cannot tell")


class Impostor(LoopsEngine):
    """Calls itself loops and is wrong everywhere."""

    name = "loops"

    def run(self, problem, record):
        trace = super().run(problem, record)
        return {s: {n: v + 1.0 for n, v in values.items()} for s, values in trace.items()}


class Noisy(LoopsEngine):
    """Prints megabytes, to stdout and stderr, then does its job."""

    def run(self, problem, record):
        for i in range(20_000):
            print("noise " * 40, i)
            print("more noise " * 20, i, file=sys.stderr)
        return super().run(problem, record)


class NoisyFails(LoopsEngine):
    def run(self, problem, record):
        for i in range(50_000):
            print("chatter", i)
        print("the last words")
        raise ValueError("broke after talking")


class Hangs(LoopsEngine):
    def run(self, problem, record):
        with open(os.environ["HOSTILE_PID_FILE"], "w") as pid:
            pid.write(str(os.getpid()))
        time.sleep(3600)


class HangsInConstructor(LoopsEngine):
    def __init__(self):
        time.sleep(3600)
'''

EXIT_AT_IMPORT = """
import sys

sys.exit(0)


class Engine:
    pass
"""

FAST: dict[str, tuple[str, list[str]]] = {
    "exit": ("hostile_engines:Exits", ["SystemExit: sys.exit(0) was called", "exiting now"]),
    "hard-exit": (
        "hostile_engines:HardExits",
        ["the engine's process ended (exit code 0)", "its last output: leaving without a word"],
    ),
    "exit-at-import": (
        "hostile_exit_at_import:Engine",
        ["SystemExit: sys.exit(0) was called while loading hostile_exit_at_import:Engine"],
    ),
    "abort": (
        "hostile_engines:Aborts",
        ["the engine's process ended (exit code -6, SIGABRT)", "std::bad_alloc"],
    ),
    "interrupt": ("hostile_engines:Interrupts", ["KeyboardInterrupt"]),
    "returns-list": ("hostile_engines:ReturnsList", ["bad trace: run() returned a list"]),
    "returns-none": ("hostile_engines:ReturnsNone", ["bad trace: run() returned None"]),
    "returns-strings": ("hostile_engines:ReturnsStrings", ["is a str ('", "expected a float"]),
    "extra-step": ("hostile_engines:ExtraStep", ["bad trace: step 99 was not asked for"]),
    "unknown-name": (
        "hostile_engines:UnknownName",
        ["bad trace: step 0: 'w[9,9,9]' is not a quantity of this problem"],
    ),
    "available-raises": (
        "hostile_engines:AvailableRaises",
        ["available() raised RuntimeError: cannot tell"],
    ),
    "noisy-fails": (
        "hostile_engines:NoisyFails",
        [
            "ValueError: broke after talking; its last output: "
            "chatter 49998 | chatter 49999 | the last words"
        ],
    ),
    "twin": (
        "hostile_engines:Noisy",
        [
            "the engine name 'twin' is registered by ",
            "hostile-engines 1.0 (hostile_engines:Noisy)",
            "hostile-twin 1.0 (hostile_engines:Exits)",
        ],
    ),
}
"""Engines that fail at once: name -> (entry point, what the errored reason contains)."""

HANGING: dict[str, tuple[str, list[str]]] = {
    "hang": ("hostile_engines:Hangs", ["timed out after 2 s"]),
    "hang-in-constructor": (
        "hostile_engines:HangsInConstructor",
        ["while loading hostile_engines:HangsInConstructor: timed out after 2 s"],
    ),
}
"""Engines that hang: bpcheck must stop them after the timeout (2 s in the tests)."""

WELL_BEHAVED = {
    "impostor": "hostile_engines:Impostor",
    "noisy": "hostile_engines:Noisy",
}
"""Engines that run, but must not disturb the others: one names itself loops, one is loud."""

TWIN = {"twin": "hostile_engines:Exits"}
"""The second distribution's entry point, whose name clashes with the first's ``twin``."""


def install(folder: Path, names: list[str]) -> dict[str, str]:
    """Write the hostile engines ``names`` (keys of FAST, HANGING, WELL_BEHAVED) as plug-ins.

    Returns the environment for a subprocess that must see them.
    """
    targets = {**FAST, **HANGING}
    points = {name: targets[name][0] if name in targets else WELL_BEHAVED[name] for name in names}
    (folder / "hostile_engines.py").write_text(ENGINES)
    (folder / "hostile_exit_at_import.py").write_text(EXIT_AT_IMPORT)
    _distribution(folder, "hostile-engines", points)
    if "twin" in names:
        _distribution(folder, "hostile-twin", TWIN)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    env["HOSTILE_PID_FILE"] = str(folder / "hang.pid")
    return env


def _distribution(folder: Path, name: str, points: dict[str, str]) -> None:
    info = folder / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = [f"{engine} = {target}" for engine, target in points.items()]
    (info / "entry_points.txt").write_text("[bpcheck.engines]\n" + "\n".join(lines) + "\n")
