"""A Flower federation run by the range (``target.federated``).

The ClientApp and ServerApp here run inside Flower's deployment engine (``flower-superlink``,
one ``flower-supernode`` per client), in the federated environment (``.venv-federated``,
``requirements/federated-lock.txt``): Flower 1.42 needs protobuf<7 while the range's
generated stubs need protobuf 7, so nothing under this package imports ``leakrange.v1``.
``launcher.py`` (range side) starts the processes; ``partitions.py`` and ``local_sgd.py`` are
shared with the range and the attacks.
"""
