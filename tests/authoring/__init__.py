"""Tests of bpcheck.authoring."""
