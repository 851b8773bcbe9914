"""Generated gRPC code for leakrange.oip (do not edit)."""
