"""Tests of bpcheck.testing."""
