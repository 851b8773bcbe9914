"""Generated gRPC code for leakrange.v1 (do not edit)."""
