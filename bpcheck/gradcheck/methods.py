"""The finite-difference methods by name: constants a command line lists without NumPy."""

METHODS = ("central", "richardson", "directional", "mpmath")
"""Finite-difference methods; ``auto`` picks ``richardson``, or ``directional`` for big networks."""

ALL_METHODS = (*METHODS, "certified")
"""With ``certified``: against the gradient an engine certified
(:mod:`bpcheck.gradcheck.certified_reference`), for a fixture's float engines when an engine
certifies; ``auto`` picks it then."""

AUTO_DIRECTIONAL_ABOVE = 1000
"""``auto`` checks along random directions when a network has more parameters than this."""
