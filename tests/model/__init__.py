"""Tests of bpcheck.model."""
