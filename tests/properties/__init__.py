"""Properties of every engine: the lean path equals the recorded path; edge strategies."""
