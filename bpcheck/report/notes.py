"""The sentences a report says about its sections, the same in Markdown and HTML."""

from __future__ import annotations

from bpcheck.report.tables import Report

SUMMARY_NOTE = (
    "Claims per outcome for each fixture and engine: ok (the verdict expected), failed, "
    "errored (the engine raised), skipped (the engine cannot do the problem)."
)
ERRATA_NOTE = (
    "Every printed number whose expected or computed verdict is `truncated` or `mismatch`; "
    "the true value is the reference engine's, *units off* is true value minus printed in "
    "units of the printed last place. *Evidence* backs the diagnosis (while it is open, the "
    "best explanation of `bpcheck diagnose`): how many other printed numbers it reproduces "
    "and how many it contradicts (*against*), or *weak* when no other quantity backs it."
)
FIXTURES_NOTE = (
    "One table per fixture: each engine's value, the reference (the first engine with a value), "
    "*units off* (reference minus printed, in units of the printed last place), the verdict "
    "found and the verdict expected."
)
NO_GRADCHECK = (
    "No gradient-check results given (`--gradcheck FILE`, from `bpcheck gradcheck --json`)."
)
NO_CURVES = "No fixture trains more than one step."
ULPS_NOTE = (
    "Where the certified engine ran, each claim's value is known exactly (docs/verdicts.md, "
    '"Certified values"), and every float engine\'s value is that many units in the last '
    "place (ULPs) of the true value away: its rounding, made visible. Each claim's worst "
    "engine is in the *ULPs off* column of the fixtures' tables."
)
NO_ULPS = "No engine certified its values in this run (the `certified` engine did not run)."
GRADCHECK_NOTE = (
    "Every engine's gradient dE/dθ against finite differences of the loss (bpcheck's own "
    "forward pass; see `bpcheck gradcheck`): per fixture, engine and step, the method, the "
    "worst relative error and the outcome. Every parameter's row, with its tolerance, is in "
    "`csv/gradcheck-rows.csv`."
)
CURVES_NOTE = (
    "Top: the loss E along training, from the reference engine, with each loss the document "
    "prints marked and coloured by its verdict (green match, amber truncated, red mismatch). "
    "Bottom: computed minus printed, in units of the printed last place (the units off of the "
    "tables); inside the grey band (half a unit) a printed number matches. Two readings of "
    "one document differ there even where their curves look alike."
)


def plain(note: str) -> str:
    """A note without its Markdown marks (backticks, asterisks), for HTML."""
    return note.replace("`", "").replace("*", "")


def intro(report: Report) -> str:
    """``12 fixture(s), 293 claim(s), engines: loops, matrices.`` and what the tables show."""
    fixtures = len(report.fixtures)
    claims = sum(section.total for section in report.fixtures)
    engines = ", ".join(str(e) for e in report.engines.frame["engine"])
    only = (
        " Claim tables show only the claims that did not reach their expected verdict."
        if report.failures_only
        else ""
    )
    return f"{fixtures} fixture(s), {claims} claim(s), engines: {engines or 'none'}.{only}"
