"""bpcheck: a verification and regression test harness for backpropagation."""

__version__ = "0.1.0"
