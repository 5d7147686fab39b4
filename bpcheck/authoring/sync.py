"""Every generated file, checked or regenerated together: what ``bpcheck sync`` does.

A contributor who adds a fixture should need one command, not one per kind of
generated file: the sections between marker comments (coverage table, errata
list, bug zoo; :mod:`bpcheck.authoring.docs`) and the committed reports
(``reports/``, made by :mod:`bpcheck.report`, which the command line adds: this
package may not import it).  Each kind says what of it is out of date as a list
of :class:`Stale`, each able to rewrite itself; :data:`SYNC` is the command every
staleness test names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bpcheck.authoring.docs import generated_sections, replace_between
from bpcheck.defaults import SYNC
from bpcheck.errors import BadInput
from bpcheck.io.files import check_rewritable, write_atomically
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture

LOCATION = "--root"


@dataclass(frozen=True)
class Stale:
    """A generated file (or folder of files) that no longer says what it should."""

    path: Path
    what: str
    """What is out of date in it, for the person reading the line."""
    rewrite: Callable[[], None]
    """Make it say what it should, atomically."""


def section_files(root: Path, fixtures: list[Fixture], engine: Engine) -> list[Path]:
    """The files holding generated sections under ``root``, each named once."""
    return list(dict.fromkeys(s.path for s in generated_sections(root, fixtures, engine)))


def check_section_files(paths: list[Path], *, rewrite: bool) -> None:
    """Before anything is computed: every file with generated sections exists (and, to be
    rewritten, is a regular file we may replace)."""
    missing = sorted({str(p) for p in paths if not p.is_file()})
    if missing:
        raise BadInput(
            [f"{p}: {LOCATION}: expected a file with generated sections" for p in missing]
        )
    if rewrite:
        check_rewritable(paths, LOCATION)


def stale_sections(root: Path, fixtures: list[Fixture], engine: Engine) -> list[Stale]:
    """The files whose generated sections differ from what the fixtures and code make now."""
    texts: dict[Path, str] = {}
    changed: dict[Path, list[str]] = {}
    for section in generated_sections(root, fixtures, engine):
        text = texts.setdefault(section.path, section.path.read_text("utf-8"))
        content = section.content()
        try:
            texts[section.path] = replace_between(text, section.marker, content)
        except ValueError as error:
            raise BadInput([f"{section.path}: {LOCATION}: {error}"]) from None
        if texts[section.path] != text:
            changed.setdefault(section.path, []).append(section.marker)
    return [
        Stale(
            path,
            f"{' and '.join(markers)} section{'s' * (len(markers) > 1)}",
            _writer(path, texts[path]),
        )
        for path, markers in changed.items()
    ]


def _writer(path: Path, text: str) -> Callable[[], None]:
    return lambda: write_atomically(path, text, LOCATION)


def regenerate_hint(stale: list[Stale]) -> str:
    """The line a check ends with when anything is stale."""
    return f"{len(stale)} generated file(s) out of date: run `{SYNC}` to regenerate them"
