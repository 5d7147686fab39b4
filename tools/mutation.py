"""Mutation testing of the engines: how many planted changes do bpcheck's fast checks kill?

``tox -e mutation`` runs this script.  It copies the files of the repository (tracked, or new
and not ignored)
into a scratch folder (mutmut writes its ``mutants/`` tree in the folder it runs in,
and nothing of it belongs in the repository), makes the engines a real folder of
``bpcheck`` there (mutmut does not follow the ``bpcheck/engines`` link), writes
mutmut's configuration, and runs ``mutmut run`` on the engines with parallel
workers until the time budget is spent.  Then it prints, per engine, the mutants
killed, survived and untried, the kill rate, and every survivor with its diff.

Survivors that are equivalent to the original (no input can tell them apart) are
listed with a one-line reason in ``docs/mutation.md``; :data:`EQUIVALENT_FILE` is
read so that the kill rate is given over the non-equivalent mutants too.

The tests run against each mutant are the fast ones that matter (``TESTS``): the
conformance suite, the path-equivalence property and the conformance fixtures.
mutmut runs only the tests that call the mutated function, each mutant in a
forked process.  The autodiff engine is checked with ``--engines autodiff``: its
compiled code is cached per process, so its tests clear JAX's caches first
(``BPCHECK_MUTATION=1``), and each mutant costs a compile.

Usage: ``python tools/mutation.py [--budget SECONDS] [--workers N] [--scratch DIR]
[--engines loops matrices ...] [MUTANT ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT_FILE = ROOT / "docs" / "mutation.md"
ENGINE_FILES = {
    "loops": ["loops.py", "loops/*.py"],
    "matrices": ["matrices/*.py"],
    "autodiff": ["autodiff/*.py"],
}
"""Each engine's files under bpcheck/engines/, as mutmut's only_mutate patterns (a module
or a package, whichever the engine is)."""
NOT_MUTATED = ["autodiff/compilation.py"]
"""Engine files with no arithmetic: where JAX keeps its compiled code (a result never
depends on it, so every mutant there would survive, equivalent)."""
TESTS = {
    "loops": [
        "tests/engines/test_conformance.py::test_engine_conforms",
        "tests/properties/test_path_equivalence.py::test_lean_path_equals_recorded_path_on_every_capability",
        "tests/properties/test_path_equivalence.py::test_lean_path_equals_recorded_path_at_the_edges",
        "tests/conformance/test_conformance_fixtures.py::test_every_engine_passes_every_conformance_fixture",
        "tests/conformance/test_conformance_fixtures.py::test_the_lean_engines_pass_every_bundled_fixture_in_process",
        "tests/properties/test_agreement_covering.py",
        "tests/checking/test_nan_semantics.py",
    ],
    "autodiff": [
        "tests/engines/test_mutation_autodiff.py",
        "tests/engines/test_autodiff_batches.py",
    ],
}
"""The fast tests that matter for each engine: the conformance checks, path equivalence, the
conformance fixtures and the bundled ones, in process (tests of the tests, such as the
broken engines each check must catch, are left out: they say nothing about an engine)."""
TESTS["matrices"] = TESTS["loops"]
KILLED = {1, 3, -24, 24, 36, 152, 255, -9, -11}
"""mutmut exit codes that end a mutant: a failing test, a timeout, a crash."""
SURVIVED = 0


def tracked_files() -> list[str]:
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in done.stdout.split("\0") if name]


def prepare(scratch: Path, engines: list[str], workers: int) -> None:
    """A copy of the repository in ``scratch`` with mutmut's configuration written."""
    if scratch.exists():
        shutil.rmtree(scratch)
    for name in tracked_files():
        source, target = ROOT / name, scratch / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            continue  # bpcheck/engines: made a real folder below
        shutil.copy2(source, target)
    shutil.copytree(scratch / "engines", scratch / "bpcheck" / "engines")
    shutil.rmtree(scratch / "engines")
    only = [f"bpcheck/engines/{path}" for engine in engines for path in ENGINE_FILES[engine]]
    skipped = [f"bpcheck/engines/{path}" for path in NOT_MUTATED]
    tests = sorted({test for engine in engines for test in TESTS[engine]})
    tests = [test for test in tests if (scratch / test.split("::")[0]).exists()]
    marks = "" if "autodiff" in engines else "not slow"
    config = [
        "[mutmut]",
        "source_paths = bpcheck",
        "only_mutate =",
        *[f"    {path}" for path in only],
        "do_not_mutate =",
        *[f"    {path}" for path in skipped],
        "pytest_add_cli_args_test_selection =",
        *[f"    {test}" for test in tests],
        "pytest_add_cli_args =",
        *[f"    {arg}" for arg in ["-p", "no:xdist", "-o", "addopts=--strict-markers"]],
        "    --hypothesis-seed=0",
        *([f"    {arg}" for arg in ["-m", marks]] if marks else []),
        "also_copy =",
        "    fixtures",
        "timeout_multiplier = 4.0",
        # Workers fork from a server that has run no test: no engine cache (loops' seam check,
        # JAX's compiled code) carries the unmutated code's result into a mutant, and JAX
        # has started no thread yet.
        "process_isolation = forkserver",
        "",
    ]
    (scratch / "setup.cfg").write_text("\n".join(config))
    pyproject = (scratch / "pyproject.toml").read_text()
    # mutmut reads [tool.mutmut] first; there is none, but pytest must not turn mutmut's own
    # warnings into errors, and must collect only what it is given.
    pyproject = pyproject.replace('filterwarnings = ["error"]', "filterwarnings = []")
    (scratch / "pyproject.toml").write_text(pyproject)


def refresh(scratch: Path) -> None:
    """Copy the tests and bpcheck's other code (never the engines) over an earlier run's
    copy, so that its survivors can be run again against tests written since."""
    for name in tracked_files():
        if not name.startswith(("tests/", "bpcheck/")) or name.startswith("bpcheck/engines"):
            continue
        source = ROOT / name
        if source.is_symlink() or not source.is_file():
            continue
        for target in (scratch / name, scratch / "mutants" / name):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def survivors(scratch: Path) -> list[str]:
    return sorted(n for codes in results(scratch).values() for n, c in codes.items() if c == 0)


def run_mutmut(scratch: Path, workers: int, budget: float, names: list[str]) -> float:
    """``mutmut run`` in ``scratch`` until done or ``budget`` seconds; the seconds it took."""
    env = dict(os.environ, BPCHECK_MUTATION="1", PYTHONHASHSEED="0")
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers), *names]
    start = time.monotonic()
    with subprocess.Popen(command, cwd=scratch, env=env, start_new_session=True) as process:
        try:
            process.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            print(f"\ntime budget of {budget:.0f} s spent: stopping mutmut", flush=True)
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return time.monotonic() - start


def engine_of(path: str) -> str:
    """The engine a mutmut ``.meta`` file belongs to, by its folder or module name."""
    for engine in ENGINE_FILES:
        if f"/engines/{engine}/" in path or f"/engines/{engine}.py" in path:
            return engine
    return "?"


def results(scratch: Path) -> dict[str, dict[str, int | None]]:
    """engine -> mutant name -> mutmut exit code (None: not tried)."""
    found: dict[str, dict[str, int | None]] = {}
    for meta in sorted((scratch / "mutants").rglob("*.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found.setdefault(engine_of(str(meta)), {}).update(codes)
    return found


def equivalent_mutants() -> dict[str, str]:
    """Mutant name -> why it is equivalent, from the table of docs/mutation.md."""
    if not EQUIVALENT_FILE.exists():
        return {}
    rows = re.findall(r"^\| `([^`]+__mutmut_\d+)` \| (.+?) \|$", EQUIVALENT_FILE.read_text(), re.M)
    return dict(rows)


def show(scratch: Path, name: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", name],
        cwd=scratch,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def report(scratch: Path, seconds: float, diffs: bool) -> int:
    """Print kill rates and survivors; 1 if an engine is below 95% of non-equivalent mutants."""
    equivalent = equivalent_mutants()
    below = False
    print(f"\nmutation testing of the engines: {seconds:.0f} s")
    print(
        f"{'engine':9} {'mutants':>7} {'tried':>6} {'killed':>6} {'survived':>8} "
        f"{'equivalent':>10} {'kill rate':>9}"
    )
    survivors: list[tuple[str, str]] = []
    for engine, codes in sorted(results(scratch).items()):
        counts = Counter(
            "killed"
            if code in KILLED
            else "survived"
            if code == SURVIVED
            else "untried"
            if code is None
            else "other"
            for code in codes.values()
        )
        alive = [name for name, code in codes.items() if code == SURVIVED]
        same = [name for name in alive if name in equivalent]
        tried = counts["killed"] + counts["survived"]
        rate = counts["killed"] / max(1, tried - len(same))
        below = below or (tried > 0 and rate < 0.95)
        print(
            f"{engine:9} {len(codes):7} {tried:6} {counts['killed']:6} {counts['survived']:8} "
            f"{len(same):10} {rate:9.1%}"
        )
        if counts["other"]:
            print(f"{'':9} ({counts['other']} with no covering test or skipped)")
        survivors += [(engine, name) for name in sorted(alive) if name not in equivalent]
    print(f"\nsurvivors not listed as equivalent in {EQUIVALENT_FILE.name}: {len(survivors)}")
    for engine, name in survivors:
        print(f"  {engine}: {name}")
        if diffs:
            print("    " + show(scratch, name).replace("\n", "\n    "))
    return 1 if below else 0


EQUIVALENT_PATTERNS: tuple[tuple[str, str, str], ...] = (
    (r"strict=", "", "zip's strict flag only raises on unequal lengths; they are equal here"),
    (
        r'== "(XX)?(sigmoid|half_sse|SIGMOID|HALF_SSE)(XX)?"',
        "",
        "turns off a case spelt out for speed; the general code does the same arithmetic "
        "in the same order (the path properties compare them to the last bit)",
    ),
    (
        r'== "(XX)?(softmax|SOFTMAX)(XX)?"',
        "train_step",
        "train_step's softmax case only skips computing a slope; _to_delta treats softmax "
        "the same way",
    ),
    (
        r"output_layer|nets\[index [+-] 1\]|fwd\.nets\[number\]|nets\.append\(None\)"
        r"|index [!=]= top|number [!=]= len|^\+\s+None,$",
        "",
        "the standard rule reads neither the net inputs nor the output-layer flag "
        "(they are there for planted variants)",
    ),
    (
        r"_to_delta\(layer\.activation, grad_out, None",
        "",
        "_to_delta reads the outputs only for softmax, which train_step handles before",
    ),
    (r"copysign\(2\.0|copysign\(math\.inf, t\) / ", "", "inf x 2 is inf; /(+-1) is x(+-1)"),
    (
        r"ValueError\(None\)|ValueError\(\)",
        "",
        "the message of an error no valid problem reaches (the loader refuses unknown names)",
    ),
    (
        r"dtype=None|np\.array\(problem\.(inputs|targets), \)|np\.array\(layer\.weights, \)"
        r"|else \(\), \)",
        "",
        "NumPy makes float64 of Python floats anyway",
    ),
    (
        r'"(XX)?(none|NONE)(XX)?"|\(layer\.bias_kind != "none"\) or True',
        "",
        "a layer of bias kind none has no bias values: what it lets through works on empty lists",
    ),
    (r"reshape\(.*-2\)", "", "NumPy takes a negative size as the rest of the array"),
    (r"axis=\+1", "_softmax", "the arrays are 2-D: axis 1 is axis -1"),
    (
        r"where\(t != 0\.0, o, 2\.0\)",
        "",
        "used only where t is 0: t log 2 and t / 2 are 0 as t log 1 and t / 1 are",
    ),
    (
        r"x < 0\.0 else x|net < 0\.0, 0\.0, net",
        "relu",
        "differs only at a net input of -0.0 (-0.0 for 0.0): equal as numbers, so is "
        "everything after",
    ),
    (
        r"x <= -700\.0|x < -701\.0|v <= -700\.0|v < -701\.0",
        "",
        "both formulas are sigmoid: on [-701, -700] they agree to an ulp, and no test lands "
        "exactly there",
    ),
    (r"errstate\(all=None\)", "", "NumPy only warns where it was silent: same numbers"),
    (
        r"out=None\)|outs\[index\], \)",
        "train_step",
        "a fresh array for the gradient instead of the reused scratch: the same values",
    ),
    (
        r"bias_trainable\) or True",
        "train_step",
        "a frozen bias's gradient computed too, then left unused by DenseLayer.update",
    ),
    (
        r"fast = None|inline = None|fast or seams_are_ours|seams_are_ours|_OURS",
        "",
        "another lean path (or the recorded one) that computes the same floats: only the "
        "speed changes",
    ),
    (
        r"range\(problem\.steps \+ 2\)|step <= problem\.steps",
        "MatricesEngine",
        "a step after the last recorded one changes nothing that is returned",
    ),
    (r'names: _Names \| None = ""', "", '"" is as falsy as None'),
    (r"np\.eye\(seed\.shape\[1\], (dtype=None)?\)", "", "a float identity is as true"),
    (
        r"len\(batch\) >= 1",
        "inline",
        "one sample through batch_step: the one-sample loop's arithmetic, in its order",
    ),
    (
        r"batch_of_step\(problem, (1|None)\) if",
        "",
        "a full batch is every sample, whatever the step",
    ),
    (r"summed: .* = None", "", "not None is True as not [] is: the first sample starts the sums"),
    (
        r"\(o == 0\.0\) or True",
        "t_log",
        "o < 0 never reaches it: sigmoid and softmax outputs are never negative",
    ),
)
"""(pattern in the mutated line, function the mutant must be in, reason): a draft of the
table of docs/mutation.md for the survivors that match, each to be read before it is
kept (``--draft-equivalents``)."""


def explain(name: str, diff: str) -> str | None:
    """The reason of the first pattern that explains the mutant (matched on its new lines,
    or a zip that lost its strict flag), or None."""
    lines = diff.splitlines()
    added = "\n".join(line for line in lines if line.startswith("+ "))
    removed = "\n".join(line for line in lines if line.startswith("- "))
    if "strict=True" in removed and re.sub(r"strict=\w*", "", removed[1:]).replace(
        ", )", ")"
    ).replace(",  )", ")") == re.sub(r"strict=\w*", "", added[1:]).replace(", )", ")").replace(
        ",  )", ")"
    ):
        return EQUIVALENT_PATTERNS[0][2]
    for pattern, where, why in EQUIVALENT_PATTERNS:
        if re.search(pattern, added, re.M) and where in name:
            return why
    return None


def draft_equivalents(scratch: Path) -> None:
    """Print a row of the equivalent-survivors table for each survivor a pattern explains,
    and the others as ``?`` with their diff, for a person to read."""
    for codes in results(scratch).values():
        for name in sorted(n for n, code in codes.items() if code == SURVIVED):
            diff = show(scratch, name)
            reason = explain(name, diff)
            if reason:
                print(f"| `{name}` | {reason} |")
            else:
                print(f"? {name}\n{diff}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds for mutmut run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--scratch", type=Path, default=None, help="folder for the copy")
    parser.add_argument(
        "--engines", nargs="+", default=["loops", "matrices"], choices=sorted(ENGINE_FILES)
    )
    parser.add_argument("--report-only", action="store_true", help="summarise an earlier run")
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="run an earlier run's survivors (or the MUTANTs given) again against the "
        "current tests",
    )
    parser.add_argument(
        "mutants", nargs="*", help="only these mutants (names as mutmut prints them)"
    )
    parser.add_argument("--no-diffs", action="store_true", help="list survivors without diffs")
    parser.add_argument(
        "--draft-equivalents", action="store_true", help="draft rows of the equivalents table"
    )
    args = parser.parse_args(argv)
    scratch = args.scratch or Path(os.environ.get("TMPDIR", "/tmp")) / "bpcheck-mutation"
    scratch = scratch.resolve()
    if ROOT in scratch.parents or scratch == ROOT:
        parser.error(f"--scratch {scratch}: expected a folder outside the repository")
    if args.draft_equivalents:
        draft_equivalents(scratch)
        return 0
    seconds = 0.0
    if args.rerun_survivors:
        refresh(scratch)
        names = args.mutants or survivors(scratch)
        seconds = run_mutmut(scratch, args.workers, args.budget, names)
    elif not args.report_only:
        prepare(scratch, args.engines, args.workers)
        seconds = run_mutmut(scratch, args.workers, args.budget, args.mutants)
    return report(scratch, seconds, diffs=not args.no_diffs)


if __name__ == "__main__":
    sys.exit(main())
