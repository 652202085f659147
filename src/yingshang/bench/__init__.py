"""Benchmarks run by ``yingshang bench NAME``: each module here has ``main(argv) -> int`` and prints
its figures, the last line a JSON object. Results are recorded in BENCHMARKS.md."""
