"""Benchmarks that `sandbox bench` runs: real pages against in-memory baselines, as ratios."""
