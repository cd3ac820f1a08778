"""Side-by-side benchmarks of our `redun` against redun 0.44.1, as whole processes.

Run with `nox -s bench` (see benchmarks/README.md) or `python -m benchmarks --help`.
"""
