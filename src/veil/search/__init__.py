"""Searches over transformations: optimal (lattice), heuristic (lattice), Mondrian.

The public entry point is :func:`veil.privacy.anonymize_histogram`; these modules are its
machinery.
"""
