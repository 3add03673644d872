"""File handling shared by engines: resolving inputs, fingerprints, atomic outputs."""
