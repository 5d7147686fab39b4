"""``bpcheck compare`` (moving here from bpcheck.report.compare)."""

from bpcheck.report.compare import register

__all__ = ["register"]
