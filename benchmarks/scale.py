"""bpcheck at scale: ``bpcheck gen-corpus N`` then ``bpcheck run`` on the corpus (``tox -e scale``).

Prints the time to generate and to check, fixtures per second, and the memory of
the whole process tree (bpcheck, its ``-j`` processes and their engines' workers)
sampled through the run: its peak, and its size at each tenth of the run, so that
memory that grows with the fixtures shows up as a rising row, not only as a peak.
Each run starts from an empty cache folder (``BPCHECK_CACHE_DIR``), so nothing is
read back from an earlier run.

    python benchmarks/scale.py [N] [--seed S] [-- extra bpcheck run options]

N defaults to 10,000 (``BPCHECK_SCALE_N`` too); the issue's goal: at most 5 minutes
on 2 cores, memory flat.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

LAUNCH = "import sys; from bpcheck.cli import main; sys.exit(main())"
"""``bpcheck`` in a fresh interpreter (``-m bpcheck.cli.main`` would import it twice)."""


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every process below it (Linux ``/proc``; 0 elsewhere)."""
    children: dict[int, list[int]] = {}
    sizes: dict[int, int] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        sizes[int(entry.name)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += sizes.get(pid, 0)
        stack += children.get(pid, [])
    return total


def run_sampled(command: list[str], env: dict[str, str]) -> tuple[float, int, list[int]]:
    """Seconds, exit code, and the tree's resident bytes sampled every half second."""
    samples: list[int] = []
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            samples.append(tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    return time.perf_counter() - start, code, samples


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "count", nargs="?", type=int, default=int(os.environ.get("BPCHECK_SCALE_N", 10_000))
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("options", nargs="*", help="passed to bpcheck run (after --)")
    args = parser.parse_args()
    bpcheck = [sys.executable, "-c", LAUNCH]
    with tempfile.TemporaryDirectory(prefix="bpcheck-scale-") as scratch:
        corpus = Path(scratch) / "corpus"
        env = {**os.environ, "BPCHECK_CACHE_DIR": f"{scratch}/cache"}
        env.pop("BPCHECK_NO_CACHE", None)
        start = time.perf_counter()
        subprocess.run(
            [*bpcheck, "gen-corpus", str(args.count), "--seed", str(args.seed), str(corpus)],
            check=True,
            env=env,
        )
        generated = time.perf_counter() - start
        seconds, code, samples = run_sampled([*bpcheck, "run", str(corpus), *args.options], env)
    print(f"gen-corpus {args.count}: {generated:.1f} s ({args.count / generated:.0f} fixtures/s)")
    print(
        f"bpcheck run {' '.join(args.options) or '(all engines)'} on {args.count} fixtures: "
        f"{seconds:.1f} s, {args.count / seconds:.1f} fixtures/s (goal: 10,000 in 300 s, "
        f"{seconds / 300 * 10_000 / args.count:.2f}x the goal's time), exit status {code}"
    )
    if samples:
        tenths = [samples[min(len(samples) - 1, len(samples) * k // 10)] for k in range(1, 10)]
        print(
            f"memory of the process tree: peak {mib(max(samples))}; at each tenth of the run: "
            + ", ".join(mib(v) for v in tenths)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
