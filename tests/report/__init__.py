"""Tests of bpcheck.report."""
