"""Tests of bpcheck.diagnose."""
