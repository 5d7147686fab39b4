"""``bpcheck report`` (moving here from bpcheck.report.write)."""

from bpcheck.report.write import register

__all__ = ["register"]
