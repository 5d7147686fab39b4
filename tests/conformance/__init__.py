"""The conformance fixtures and ``bpcheck conform``."""
