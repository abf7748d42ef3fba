"""A small in-process cache for the dashboard's figures and charts.

Keys are fingerprints of the data a value was made from, so a stale entry is never served:
when the data change, the key changes. Each worker keeps its own; another worker that lacks
an entry simply computes it again, so nothing here is state any other process needs.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import Flask, current_app

T = TypeVar("T")
EXTENSION = "integrity.dashboard_cache"


class Lru:
    """At most ``size`` values, each kept at most ``max_age`` seconds; thread-safe."""

    def __init__(self, size: int = 256, max_age: float = 900.0) -> None:
        self.size = size
        self.max_age = max_age
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            stored_at, value = found
            if time.monotonic() - stored_at > self.max_age:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def cache_of(app: Flask | None = None) -> Lru:
    """The application's cache (made on first use)."""
    target = app or current_app
    cache: Lru | None = target.extensions.get(EXTENSION)
    if cache is None:
        cache = target.extensions.setdefault(EXTENSION, Lru())
    return cache


def cached(key: Hashable, compute: Callable[[], T], app: Flask | None = None) -> T:
    """The value stored under ``key``, computed and stored when missing."""
    cache = cache_of(app)
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.put(key, value)
    return value  # type: ignore[no-any-return]


def fingerprint(*parts: Any) -> str:
    """A short stable digest of JSON-able ``parts``."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
