"""Tests of bpcheck.checking."""
