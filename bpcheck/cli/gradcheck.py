"""``bpcheck gradcheck`` (moving here from bpcheck.gradcheck.core)."""

from bpcheck.gradcheck.core import register

__all__ = ["register"]
