"""Loaded data sets, shared by the exercises of one orchestrator."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from leakrange.datasets import Dataset, load_dataset

if TYPE_CHECKING:
    from leakrange.artifacts import ArtifactStore


class DatasetCache:
    """Loaded data sets, shared by the exercises of one orchestrator (bounded, thread-safe).

    With a ``store``, names that are not built in resolve to data sets imported into it.
    """

    def __init__(self, capacity: int = 4, store: ArtifactStore | None = None) -> None:
        self._store = store
        self._capacity = capacity
        self._items: OrderedDict[str, Dataset] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, name: str) -> Dataset:
        with self._lock:
            if name in self._items:
                self._items.move_to_end(name)
                return self._items[name]
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:
            with self._lock:
                if name in self._items:
                    return self._items[name]
            data = load_dataset(name, self._store)
            with self._lock:
                self._items[name] = data
                while len(self._items) > self._capacity:
                    self._items.popitem(last=False)
            return data
