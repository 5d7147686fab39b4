"""The committed reports (``reports/``): made again, compared, and replaced when stale.

A repository that commits the report of its fixtures wants it current without
churn: regenerating on another day or machine changes the date, the versions
and the last bits of some floats, not the results.  So the fresh report is made
with the committed report's volatile metadata (:data:`~bpcheck.report.write.VOLATILE`)
and compared leniently (numbers within 1e-9 relative, loss-curve PNGs by kind,
not bytes, as their data are in the CSV and JSON); only when it says something
else is ``reports/`` rewritten, with today's metadata.  ``bpcheck sync`` calls
this; the report is made as ``bpcheck report fixtures/ --out reports/ --format
md,html,csv,json --check-gradients`` run in the repository's root makes it.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
import tempfile
from pathlib import Path
from typing import Any

from bpcheck.checking import registry
from bpcheck.defaults import REPORT_FORMATS
from bpcheck.errors import BadInput, InputError
from bpcheck.report.write import Request, generate, missing_extras, volatile_values

FIXTURES = Path("fixtures/")
"""The fixtures reported on, relative to the repository's root (as the report names them)."""
REPORTS = Path("reports")
"""Where the committed reports are, relative to the root."""
ALL_FORMATS = list(REPORT_FORMATS)
"""Every format is committed: Markdown and HTML to read, CSV and JSON to reuse."""


def request(out: Path, frozen: dict[str, Any] | None = None) -> Request:
    return Request(
        out=out, paths=[FIXTURES], formats=ALL_FORMATS, check_gradients=True, frozen=frozen
    )


def committed_volatile(root: Path) -> dict[str, Any] | None:
    """The volatile metadata of the committed ``report.json``, if there is one to read."""
    path = root / REPORTS / "report.json"
    try:
        return volatile_values(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_can_regenerate(root: Path) -> None:
    """BadInput unless the committed reports can be made here as they were made."""
    missing = missing_extras()
    if missing:
        needed = ", ".join(missing)
        raise BadInput([f"{root / REPORTS}: needs {needed}: pip install 'bpcheck[report]'"])
    used = engines_used(root)
    here = registry.all_engines()
    gone = [name for name in used if name not in here or not here[name].available().available]
    if gone:
        message = (
            f"made with {', '.join(gone)}, unavailable here; expected every engine the "
            "committed reports were made with (pip install 'bpcheck[all]')"
        )
        raise BadInput([InputError(str(root / REPORTS / "report.json"), "engines", message)])


def engines_used(root: Path) -> list[str]:
    path = root / REPORTS / "report.json"
    try:
        rows = json.loads(path.read_text("utf-8"))["tables"]["engines"]["rows"]
        return [row["engine"] for row in rows if row["available"] == "yes"]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def stale_files(root: Path) -> list[str]:
    """The files of ``root/reports`` (relative names) that a fresh report would change, add
    or remove; empty when the committed reports are current."""
    root = root.resolve()
    committed = root / REPORTS
    with tempfile.TemporaryDirectory(prefix="bpcheck-sync-") as folder:
        fresh = Path(folder) / "reports"
        with contextlib.chdir(root):
            generate(request(fresh, committed_volatile(root)))
        old = _files(committed)
        new = _files(fresh)
        differ = sorted(old ^ new)
        differ += [name for name in sorted(old & new) if not same(committed / name, fresh / name)]
    return sorted(differ)


def regenerate(root: Path) -> list[Path]:
    """Rewrite ``root/reports`` with a fresh report and today's metadata."""
    root = root.resolve()
    with contextlib.chdir(root):
        return [root / path for path in generate(request(REPORTS))]


def _files(folder: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# --- comparing a committed file with a fresh one ------------------------------------------

NOISE = frozenset(
    {"abs error", "rel error", "worst relative error", "abs_error", "rel_error"}
    | {"worst_relative_error"}
)
"""Columns of the gradient checks whose passing values are rounding noise: they differ in
every digit between machines (BLAS, XLA, NumPy versions), so any two below
:data:`NOISE_FLOOR` count as equal."""

NOISE_FLOOR = 1e-6
_NOISE_TEXT = re.compile(r"\b[0-9]\.[0-9]{1,2}e-(?:0[7-9]|[1-9][0-9]+)\b")
"""A passing gradient-check error as Markdown and HTML print it (``1.23e-12``)."""


def same(committed: Path, fresh: Path) -> bool:
    """Whether a committed report file still says what a fresh one says.

    Ignored: PNG bytes (they depend on matplotlib and FreeType; their data are in
    csv/loss-*.csv and report.json), numbers in CSV and JSON within 1e-9 relative
    (engines on another machine may differ in the last bits), and the errors of passing
    gradient checks (below 1e-6), which are rounding noise.
    """
    if committed.suffix == ".png":
        return committed.read_bytes().startswith(b"\x89PNG")
    if committed.suffix == ".csv":
        return csv_close(csv_cells(committed), csv_cells(fresh))
    if committed.suffix == ".json":
        try:
            old = json.loads(committed.read_text("utf-8"))
        except ValueError:
            return False
        return numbers_close(old, json.loads(fresh.read_text("utf-8")))
    return without_noise(committed.read_text("utf-8")) == without_noise(fresh.read_text("utf-8"))


def numbers_close(old: Any, new: Any, column: str = "") -> bool:
    """Equal, or floats within 1e-9 relative: the ULPs one machine's BLAS or XLA may differ by
    (in a :data:`NOISE` column, any two values below :data:`NOISE_FLOOR`)."""
    if isinstance(old, float) or isinstance(new, float):
        try:
            a, b = float(old), float(new)
        except (TypeError, ValueError):
            return False
        if column in NOISE and abs(a) < NOISE_FLOOR and abs(b) < NOISE_FLOOR:
            return True
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(numbers_close(old[k], new[k], k) for k in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(
            numbers_close(a, b, column) for a, b in zip(old, new, strict=True)
        )
    return bool(old == new)


def csv_close(old: list[list[Any]], new: list[list[Any]]) -> bool:
    """CSV rows compared cell by cell, each with its column's name (its header)."""
    if len(old) != len(new) or not old or old[0] != new[0]:
        return False
    header = [str(h) for h in old[0]]
    for a, b in zip(old[1:], new[1:], strict=True):
        if len(a) != len(header) or len(b) != len(header):
            return False
        if not all(numbers_close(x, y, c) for x, y, c in zip(a, b, header, strict=True)):
            return False
    return True


def csv_cells(path: Path) -> list[list[Any]]:
    def cell(text: str) -> Any:
        try:
            return float(text) if re.fullmatch(r"[-+0-9.eEinfa]+", text) else text
        except ValueError:
            return text

    with path.open(newline="", encoding="utf-8") as handle:
        return [[cell(c) for c in row] for row in csv.reader(handle)]


def without_noise(text: str) -> str:
    """Report text without what differs between machines: inline images, gradient noise."""
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,...", text)
    return _NOISE_TEXT.sub("(noise)", text)
