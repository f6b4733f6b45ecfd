"""Local platform and developer tooling (``make run``, sample data, benchmarks). Never deployed."""
