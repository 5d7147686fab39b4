"""Tests of bpcheck.gradcheck."""
