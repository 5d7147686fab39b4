"""The report's folder: what may be written there, and what a report may delete.

A regenerated report folder should hold exactly the current report, so files an
earlier report wrote and this one does not (a fixture since removed) are deleted.
Only those: the names of the files a report wrote are kept in a manifest,
:data:`MANIFEST_NAME`, in the folder, and nothing else is ever deleted: not a
user's file that happens to look like ours, not anything through a ``csv/`` or
``img/`` that is a symbolic link, nothing outside the folder.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from bpcheck.errors import BadInput, InputError
from bpcheck.io.files import NO_LINKS, folder_problem, output_problem, write_atomically
from bpcheck.report.markdown import IMAGE_DIR

MARKDOWN_NAME, HTML_NAME, JSON_NAME = "report.md", "report.html", "report.json"
INDEX_NAME = "README.md"
"""The folder's index (with the Markdown), shown by a code host when the folder is opened.
Written only where no file of that name exists that a report did not write."""
CSV_DIR = "csv"
SUBFOLDERS = (CSV_DIR, IMAGE_DIR)
MANIFEST_NAME = ".bpcheck-report-manifest"
MANIFEST_HEADER = (
    "# Files written by `bpcheck report` in this folder, one per line. The next report\n"
    "# deletes those it no longer writes, and nothing else.\n"
)
LOCATION = "--out"

_NAMED = re.compile(r"(?P<folder>csv|img)/(?P<stem>[A-Za-z0-9_-][A-Za-z0-9._-]*)\.(csv|png)")


def format_of(name: str) -> str | None:
    """The format (md, html, csv, json) whose report writes the file ``name``, or None.

    ``name`` is relative to the report folder, with ``/``: ``report.md``,
    ``csv/summary.csv``, ``img/loss-mazur-2015.png``.  None for any other name.
    """
    fixed = {MARKDOWN_NAME: "md", INDEX_NAME: "md", HTML_NAME: "html", JSON_NAME: "json"}
    if name in fixed:
        return fixed[name]
    match = _NAMED.fullmatch(name)
    if match is None:
        return None
    if match["folder"] == CSV_DIR and name.endswith(".csv"):
        return "csv"
    if match["folder"] == IMAGE_DIR and name.endswith(".png"):
        return "md"
    return None


# --- checking the folder ------------------------------------------------------------------


def check_folder(out: Path, formats: Collection[str]) -> None:
    """Before anything is computed: the report can be written in ``out``.

    ``out`` is a folder (or can be made), its ``csv/`` and ``img/`` are real folders
    (not links), the fixed files of ``formats`` and the manifest can be replaced, and
    the manifest names only files a report writes.  One line per problem.
    """
    problem = _out_problem(out)
    if problem is not None:
        raise BadInput([InputError(str(out), LOCATION, problem)])
    problems = [_subfolder_problem(out / name) for name in SUBFOLDERS]
    fixed = [name for name in (MARKDOWN_NAME, HTML_NAME, JSON_NAME) if format_of(name) in formats]
    for name in (*fixed, MANIFEST_NAME):
        found = output_problem(out / name, create_folders=True)
        problems.append(None if found is None else InputError(str(out / name), LOCATION, found))
    lines = [p for p in problems if p is not None]
    if lines:
        raise BadInput(lines)
    read_manifest(out)


def _out_problem(out: Path) -> str | None:
    try:
        status = out.stat()  # ``--out`` may itself be a link the user chose to name
    except (FileNotFoundError, NotADirectoryError):
        return folder_problem(out.parent, create=True)
    if not stat.S_ISDIR(status.st_mode):
        return "expected a folder, found a file"
    return folder_problem(out)


def _subfolder_problem(folder: Path) -> InputError | None:
    try:
        status = folder.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(status.st_mode):
        message = f"expected a folder, found a symbolic link ({NO_LINKS})"
    elif not stat.S_ISDIR(status.st_mode):
        message = "expected a folder, found a file"
    else:
        message = folder_problem(folder) or ""
    return InputError(str(folder), LOCATION, message) if message else None


# --- the manifest ---------------------------------------------------------------------------


def read_manifest(out: Path) -> list[str]:
    """The files an earlier report wrote in ``out`` (none without a manifest)."""
    path = out / MANIFEST_NAME
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        message = f"cannot read the report's manifest ({error})"
        raise BadInput([InputError(str(path), LOCATION, message)]) from None
    names = []
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if format_of(name) is None:
            expected = (
                f"expected the name of a file a report writes ({MARKDOWN_NAME}, "
                f"{CSV_DIR}/NAME.csv, {IMAGE_DIR}/NAME.png, ...), found {name!r}"
            )
            raise BadInput([InputError(str(path), f"line {number}", expected)])
        names.append(name)
    return names


def manifest_text(names: Iterable[str]) -> str:
    return MANIFEST_HEADER + "".join(f"{name}\n" for name in sorted(set(names)))


# --- writing and removing -------------------------------------------------------------------


def replace_report(out: Path, files: Mapping[str, bytes], formats: Iterable[str]) -> list[Path]:
    """Write ``files`` (name -> content) in ``out``; delete what only an earlier report wrote.

    Each file is written atomically.  A ``README.md`` that no report wrote (a user's,
    a project's) is left alone and the index not written.  Files of an earlier
    report (by its manifest) in the formats written now but not written now are
    deleted; those of other formats are kept, and stay in the manifest.  The
    manifest first lists both the old and the new names, so a report interrupted
    half way leaves none of its files unaccounted for.
    """
    chosen = set(formats)
    check_folder(out, chosen)
    old = read_manifest(out)
    if INDEX_NAME not in old and os.path.lexists(out / INDEX_NAME):
        files = {name: content for name, content in files.items() if name != INDEX_NAME}
    targets = [out / name for name in files]
    problems = [(p, output_problem(p, create_folders=True)) for p in targets]
    bad = [InputError(str(p), LOCATION, problem) for p, problem in problems if problem]
    if bad:
        raise BadInput(bad)
    out.mkdir(parents=True, exist_ok=True)
    for folder in {p.parent for p in targets if p.parent != out}:
        folder.mkdir(exist_ok=True)
    late = [p for p in (_subfolder_problem(out / name) for name in SUBFOLDERS) if p is not None]
    if late:  # a csv/ or img/ made a link since the check
        raise BadInput(late)
    write_atomically(out / MANIFEST_NAME, manifest_text([*old, *files]), LOCATION)
    for name, content in files.items():
        write_atomically(out / name, content, LOCATION)
    kept = []
    for name in old:
        if name in files:
            continue
        if format_of(name) in chosen:
            remove_ours(out, name)
        elif _regular_file(out / name):
            kept.append(name)
    write_atomically(out / MANIFEST_NAME, manifest_text([*files, *kept]), LOCATION)
    return targets


def remove_ours(out: Path, name: str) -> None:
    """Delete ``out/name`` if it is still a regular file in a real folder of ``out``."""
    path = out / name
    if path.parent != out and not _real_folder(path.parent):
        return
    if _regular_file(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as error:
            message = f"cannot delete this file of an earlier report ({error.strerror or error})"
            raise BadInput([InputError(str(path), LOCATION, message)]) from None


def _real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False
