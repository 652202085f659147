"""Deterministic synthetic data for demos, tests and benchmarks (``yingshang seed``).

``generate`` builds enterprise rows column-wise with NumPy, ``writer`` bulk-loads them (PostgreSQL
COPY, SQLite executemany), ``org`` creates regions, departments and the demo accounts, ``run.seed``
ties it together in one transaction.
"""
