"""Writing a user's files so that none is ever lost: atomically, and never through a link.

A fixture, a README, a report or a results file is replaced in one step: the new
content goes to a temporary file beside it (created with ``O_EXCL``, so nothing
planted under that name is followed), is flushed to disk, and is renamed over the
old file.  An interrupted or failed write (Ctrl-C, SIGTERM, a full disk) leaves
the old file exactly as it was, never a truncated one, and removes the temporary
file.  A path that is a symbolic link, dangling or not, is refused: writing
through it would change a file somewhere else.

Commands check their output paths with :func:`check_output` before they compute
anything, so a wrong path costs one line, ``PATH: LOCATION: what was expected``,
and no wasted work; :func:`write_atomically` checks again when it writes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import FrameType

from bpcheck.errors import BadInput, InputError

NO_LINKS = "bpcheck writes no file through a symbolic link"

_CREATE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)

_NO_HARD_LINKS = {
    getattr(errno, name)
    for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "EMLINK")
    if hasattr(errno, name)
}
"""What ``link`` fails with on a file system that has no hard links (FAT, some network mounts)."""


# --- what is wrong with an output path ----------------------------------------------------


def _own_status(path: Path) -> os.stat_result | None:
    """The status of ``path`` itself (a link is not followed); None when nothing is there."""
    try:
        return path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read_only(path: Path, status: os.stat_result) -> bool:
    """Nobody may write it (its mode bits, which we honour even as root), or we may not."""
    return not status.st_mode & 0o222 or not os.access(path, os.W_OK)


def folder_problem(folder: Path, *, create: bool = False) -> str | None:
    """What stops a file being written in ``folder`` (made first if ``create``), or None.

    ``folder`` may be reached through links the user named; only the file itself
    must not be one.
    """
    current, missing = folder, False
    while True:
        try:
            status = current.stat()
            break
        except (FileNotFoundError, NotADirectoryError):
            if current == current.parent:
                return f"expected an existing folder {folder}"
            current, missing = current.parent, True
        except OSError as error:
            return f"cannot reach the folder {current} ({error.strerror or error})"
    if not stat.S_ISDIR(status.st_mode):
        return f"expected {current} to be a folder, found a file"
    if missing and not create:
        return f"expected an existing folder {folder}"
    if _read_only(current, status) or not os.access(current, os.X_OK):
        return f"cannot write in {current}: the folder is read-only"
    return None


def output_problem(path: Path, *, new: bool = False, create_folders: bool = False) -> str | None:
    """What stops bpcheck writing the file ``path``, or None.

    ``new``: the file must not exist yet (``bpcheck new``); otherwise an existing
    regular file is replaced.  ``create_folders``: missing folders above it are made.
    """
    status = _own_status(path)
    if status is not None:
        if stat.S_ISLNK(status.st_mode):
            kind = "a symbolic link" if path.exists() else "a dangling symbolic link"
            return f"expected {'a new' if new else 'a regular'} file, found {kind} ({NO_LINKS})"
        if stat.S_ISDIR(status.st_mode):
            return "expected a file, found a folder"
        if new:
            return "refusing to overwrite an existing file"
        if not stat.S_ISREG(status.st_mode):
            return "expected a regular file, found a device, pipe or socket"
        if _read_only(path, status):
            return "expected a writable file, found a read-only one"
    return folder_problem(path.parent, create=create_folders)


def check_output(
    path: Path, location: str = "$", *, new: bool = False, create_folders: bool = False
) -> None:
    """Raise :class:`BadInput` (one line) if ``path`` cannot be written; see :func:`output_problem`.

    ``location`` names where the path came from (an option such as ``--json``, or ``$``
    for a file given as an argument), as in every ``FILE: LOCATION: ...`` line.
    """
    problem = output_problem(path, new=new, create_folders=create_folders)
    if problem is not None:
        raise BadInput([InputError(str(path), location, problem)])


def check_rewritable(paths: Iterable[Path], location: str = "$") -> None:
    """:func:`check_output` for files a command reads and then rewrites (claim, regen, docs).

    One line per path that cannot be rewritten; a missing file is left for the
    reader to report, which says so in its own words.
    """
    problems = [
        InputError(str(path), location, problem)
        for path in paths
        if os.path.lexists(path) and (problem := output_problem(path)) is not None
    ]
    if problems:
        raise BadInput(problems)


# --- writing --------------------------------------------------------------------------------


def write_atomically(
    path: Path, content: str | bytes, location: str = "$", *, new: bool = False
) -> None:
    """Replace (or, if ``new``, create) the file ``path`` with ``content`` in one step.

    Text is written as UTF-8.  A replaced file keeps its permission bits (and its
    owner and group where we may set them).  On any failure, a KeyboardInterrupt or
    a SIGTERM included, the temporary file is removed and ``path`` is as it was;
    an OSError becomes one :class:`BadInput` line.
    """
    check_output(path, location, new=new)
    data = content.encode("utf-8") if isinstance(content, str) else content
    old = None if new else _own_status(path)
    with sigterm_unwinds():
        # Named before it exists, so that however early an interruption comes, the
        # clean-up below knows what to remove.
        temporary = _unused_name(path)
        try:
            _write_new_file(temporary, data, old)
            if new:
                _link_new(temporary, path, location)
            else:
                os.replace(temporary, path)
        except FileExistsError:  # the name was taken since we looked: not ours to remove
            message = "cannot write the file (its temporary name was taken); try again"
            raise BadInput([InputError(str(path), location, message)]) from None
        except OSError as error:
            _remove(temporary)
            kept = "nothing was written" if new else "the file is left as it was"
            message = f"cannot write the file ({error.strerror or error}); {kept}"
            raise BadInput([InputError(str(path), location, message)]) from None
        except BaseException:
            _remove(temporary)
            raise
        _remove(temporary)  # after ``link``; a renamed file is gone already
    _sync_folder(path.parent)


def _unused_name(path: Path) -> Path:
    """A hidden name beside ``path`` that nothing has, for the temporary file."""
    for _ in range(100):
        # The target's name is cut so that the whole stays under NAME_MAX.
        candidate = path.with_name(f".{path.name[:180]}.{secrets.token_hex(6)}.tmp")
        if not os.path.lexists(candidate):
            return candidate
    raise BadInput([InputError(str(path), "$", "no free temporary name beside the file")])


def _write_new_file(path: Path, data: bytes, old: os.stat_result | None) -> None:
    """Create ``path`` (never following or reusing anything there), write ``data``, fsync.

    With ``old``, the file gets its permission bits (and owner and group where allowed).
    """
    descriptor = os.open(path, _CREATE_FLAGS, 0o600 if old else 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        if old is not None:
            _keep_owner_and_mode(descriptor, path, old)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _keep_owner_and_mode(descriptor: int, path: Path, old: os.stat_result) -> None:
    """Give the new file the old one's owner and group (where allowed) and permission bits."""
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):
            os.fchown(descriptor, old.st_uid, old.st_gid)
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, stat.S_IMODE(old.st_mode))
    else:  # Windows
        os.chmod(path, stat.S_IMODE(old.st_mode))


def _link_new(temporary: Path, path: Path, location: str) -> None:
    """Give the finished file its name only if nothing has that name (not even a link)."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        problem = output_problem(path, new=True) or "refusing to overwrite an existing file"
        raise BadInput([InputError(str(path), location, problem)]) from None
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        # A file system without hard links: check, then rename (a race is possible here only).
        if os.path.lexists(path):
            problem = output_problem(path, new=True) or "refusing to overwrite an existing file"
            raise BadInput([InputError(str(path), location, problem)]) from None
        os.replace(temporary, path)


def _remove(temporary: Path | None) -> None:
    if temporary is not None:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry for the renamed file (so a power cut keeps the new name)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # Windows cannot open a folder; nothing more to do there
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _exit_on_termination(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within, SIGTERM raises SystemExit, so a temporary file or folder is cleaned up.

    Python's default on SIGTERM is to die at once: a file being replaced would be
    intact, but its temporary file would stay behind.  A handler someone else
    installed is left alone, and only the main thread may set one.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_termination)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
