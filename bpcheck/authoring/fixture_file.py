"""Writing a fixture file the way people read one: indented, each row of numbers on one line.

``json.dumps(indent=2)`` puts every number of a weight matrix on its own line;
an author comparing the file with a tutorial wants ``[0.15, 0.2]``.  The file is
written atomically (:func:`bpcheck.io.files.write_atomically`): an interrupted
``claim`` leaves the fixture as it was, never half written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bpcheck.io.files import check_output, write_atomically

NUMBER_LIST = re.compile(r"(?<![\w\]])\[\s*(-?[0-9.eE+-]+(?:,\s*-?[0-9.eE+-]+)*)\s*\]")
NUMBER_ROWS = re.compile(r"(?<![\w\]])\[\s*(\[[^\[\]]*\](?:,\s*\[[^\[\]]*\])*)\s*\]")


def dumps_fixture(document: dict[str, Any]) -> str:
    """Indented JSON with each row of numbers, and each small matrix, on one line."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    text = NUMBER_LIST.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)
    text = NUMBER_ROWS.sub(
        lambda m: "[" + ", ".join(re.split(r"(?<=\]),\s*", m.group(1))) + "]", text
    )
    return text + "\n"


def write_fixture(path: Path, document: dict[str, Any], *, new: bool = False) -> None:
    """Replace the fixture at ``path`` with ``document``, in one step.

    ``new``: create it instead (its folder made if need be), refusing a path where
    anything exists, a symbolic link included.
    """
    if new:
        check_output(path, new=True, create_folders=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, dumps_fixture(document), new=new)
