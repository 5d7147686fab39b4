"""Tests of bpcheck.report: the reports and compare."""
