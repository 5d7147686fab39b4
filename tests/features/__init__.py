"""Feature fixtures of issue 17: one small fixture per new feature, pinned from the engines."""
