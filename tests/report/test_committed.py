"""The committed reports' comparison forgives what differs between machines, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpcheck.report.committed import same


def pair(tmp_path: Path, suffix: str, old: str, new: str) -> tuple[Path, Path]:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    a, b = tmp_path / "old" / f"f{suffix}", tmp_path / "new" / f"f{suffix}"
    a.write_text(old)
    b.write_text(new)
    return a, b


@pytest.mark.parametrize(
    ("suffix", "old", "new", "expected"),
    [
        (".csv", "parameter,abs_error\nw1,1e-17\n", "parameter,abs_error\nw1,3.5e-16\n", True),
        (".csv", "parameter,abs_error\nw1,1e-3\n", "parameter,abs_error\nw1,2e-3\n", False),
        (".csv", "q,value\nE,0.1\n", "q,value\nE,0.10000000000001\n", True),
        (".csv", "q,value\nE,0.1\n", "q,value\nE,0.1001\n", False),
        (".csv", "q,value\nE,1e-17\n", "q,value\nE,3e-17\n", False),
        (".json", '{"abs_error": 1e-18}', '{"abs_error": 2e-17}', True),
        (".json", '{"value": 0.5}', '{"value": 0.6}', False),
        (".md", "| w1 | 1.23e-17 | ok |", "| w1 | 4.5e-15 | ok |", True),
        (".md", "| out | 0.5933 |", "| out | 0.5932 |", False),
        (".md", "| w1 | 1.23e-03 | failed |", "| w1 | 4.56e-03 | failed |", False),
    ],
)
def test_only_machine_noise_is_forgiven(
    tmp_path: Path, suffix: str, old: str, new: str, expected: bool
) -> None:
    assert same(*pair(tmp_path, suffix, old, new)) is expected
