"""How often diagnose explains random noise: the false-explanation rate (issue 20).

Run ``python benchmarks/diagnose_false_explanations.py [N] [--seed S]`` (N = 1000).
Figures, not a test (``tests/diagnose/test_false_explanations.py``, marked slow,
asserts the bound on a smaller draw).

Each trial takes a printed number that is right (its verdict is ``match``) in
one of the bundled documents or the diagnose test documents, adds random digit
noise with no cause behind it (one digit changed, 60 %; two neighbours swapped,
20 %; two digits changed, 20 %) until the number is no longer a match, and
asks diagnose to explain it.  A *false explanation* is any explanation offered
that is not ``weak``: one that claims the backing of another printed number.
A typo reading, which is weak by definition, is the right answer to noise.

Each fixture is prepared once (every printed number a target, no time budget:
every variant run to the last step, every slip tried) and the perturbed copies
are judged against it, as ``diagnose`` would judge them: the preparation depends
only on the problem and on which quantities are printed, never on the digits
printed.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpcheck.diagnose.computed import Prepared, prepare, printed_claims
from bpcheck.diagnose.diagnosis import judge_fixture
from bpcheck.io.loader import load
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.verdicts import MATCH, verdict

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(p for p in (ROOT / "fixtures").rglob("*.json") if "schema" not in p.parts)
CORPUS += sorted((ROOT / "tests" / "diagnose" / "fixtures").glob("*.json"))


def noisy(printed: str, rng: random.Random) -> str:
    """``printed`` with random digit noise: one digit changed, two swapped or two changed."""
    digits = [i for i, ch in enumerate(printed) if ch.isdigit()]
    chars = list(printed)
    draw = rng.random()
    if draw < 0.2 and len(digits) > 1:
        pairs = [(a, b) for a, b in itertools.pairwise(digits) if b == a + 1]
        if pairs:
            a, b = rng.choice(pairs)
            chars[a], chars[b] = chars[b], chars[a]
            return "".join(chars)
    changed = rng.sample(digits, 2 if draw > 0.8 and len(digits) > 1 else 1)
    for i in changed:
        chars[i] = rng.choice([d for d in "0123456789" if d != chars[i]])
    return "".join(chars)


def perturbed(fixture: Fixture, claim: Claim, printed: str) -> Fixture:
    claims = tuple(replace(c, printed=printed) if c.id == claim.id else c for c in fixture.claims)
    return replace(fixture, claims=claims)


def trial(
    fixture: Fixture, prepared: Prepared, rng: random.Random
) -> tuple[Claim, str, list[str]] | None:
    """One perturbed right number and the non-weak explanations diagnose offers for it."""
    values = prepared.graph.values
    right = [
        c
        for c in printed_claims(fixture)
        if (c.step, c.canonical) in values
        and c.printed is not None
        and verdict(values[(c.step, c.canonical)], c.printed) == MATCH
    ]
    if not right:
        return None
    claim = rng.choice(right)
    assert claim.printed is not None
    value = values[(claim.step, claim.canonical)]
    for _ in range(100):
        printed = noisy(claim.printed, rng)
        if verdict(value, printed) != MATCH:
            break
    else:
        return None
    errata = judge_fixture(prepared, perturbed(fixture, claim, printed))
    (erratum,) = [e for e in errata if e.claim.id == claim.id]
    strong = [c.name for c in erratum.explanations if not erratum.weak(c)]
    return claim, printed, strong


@dataclass
class Rate:
    """What the trials found: how many, and the false explanations, one line each."""

    trials: int
    fixtures: int
    false: list[str] = field(default_factory=list)
    seconds: tuple[float, float] = (0.0, 0.0)
    """Preparing and judging."""

    @property
    def rate(self) -> float:
        return len(self.false) / self.trials


def false_explanation_rate(trials: int, seed: int) -> Rate:
    """``trials`` perturbed right numbers, drawn with ``seed``, judged by diagnose."""
    rng = random.Random(seed)
    started = time.perf_counter()
    fixtures = [load(path) for path in CORPUS]
    prepared = {f.id: prepare(f, math.inf, every=True) for f in fixtures}
    usable = [f for f in fixtures if prepared[f.id] is not None]
    weights = [sum(1 for c in printed_claims(f) if c.printed is not None) for f in usable]
    found = Rate(0, len(usable))
    ready_at = time.perf_counter()
    while found.trials < trials:
        (fixture,) = rng.choices(usable, weights)
        ready = prepared[fixture.id]
        assert ready is not None
        outcome = trial(fixture, ready, rng)
        if outcome is None:
            continue
        found.trials += 1
        claim, printed, strong = outcome
        if strong:
            found.false.append(
                f"{fixture.id} {claim.id}: {claim.printed} -> {printed}: {strong[0]}"
            )
    found.seconds = (ready_at - started, time.perf_counter() - ready_at)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trials", nargs="?", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    found = false_explanation_rate(args.trials, args.seed)
    print(f"{found.trials} perturbed right numbers in {found.fixtures} fixtures (seed {args.seed})")
    print(f"non-weak explanations offered: {len(found.false)} ({found.rate:.2%}; target under 1%)")
    for line in found.false:
        print(f"  {line}")
    names = Counter(line.rsplit(": ", 1)[1] for line in found.false)
    for name, count in names.most_common():
        print(f"  by {name}: {count}")
    print(f"time: {found.seconds[0]:.1f} s preparing, {found.seconds[1]:.1f} s judging")


if __name__ == "__main__":
    main()
