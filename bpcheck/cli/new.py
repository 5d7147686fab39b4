"""``bpcheck new`` (moving here from bpcheck.authoring.create)."""

from bpcheck.authoring.create import register

__all__ = ["register"]
