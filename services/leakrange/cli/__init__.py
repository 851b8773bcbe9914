"""The ``leakrange`` command line."""
