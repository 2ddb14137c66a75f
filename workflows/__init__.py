"""Workflow classes and the pure, deterministic domain logic they run.

Nothing in this package performs I/O: it is imported inside the Temporal
workflow sandbox and by the API for its message types.
"""
