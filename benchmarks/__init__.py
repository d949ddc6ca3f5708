"""Benchmarks: each script builds its own data and prints ratios against a baseline."""
