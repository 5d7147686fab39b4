"""Tests of the engines: each engine's own tests and the conformance suite on all of them."""
