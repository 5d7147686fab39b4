"""``bpcheck diagnose`` (moving here from bpcheck.diagnose.diagnosis)."""

from bpcheck.diagnose.diagnosis import register

__all__ = ["register"]
