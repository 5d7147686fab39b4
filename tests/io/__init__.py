"""Tests of bpcheck.io."""
