"""Execution engines. DuckDB is the embedded default."""
