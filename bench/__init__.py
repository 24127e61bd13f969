"""Benchmarks that print figures beside a baseline from the same run (see docs/benchmarks.md)."""
