"""Benchmarks: each runnable alone (``python -m bench.<name>``), printing one JSON line."""
