"""``bpcheck explain`` (moving here from bpcheck.authoring.explain)."""

from bpcheck.authoring.explain import register

__all__ = ["register"]
