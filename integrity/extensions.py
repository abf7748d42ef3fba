"""Extensions created unbound here and bound to an application in ``create_app``."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from functools import lru_cache
from typing import Any

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from werkzeug.exceptions import TooManyRequests


def limited_address(address: str) -> str:
    """The part of a client address that rate limits count: an IPv4 address as it is, an
    IPv6 address's /64 prefix (one subscriber usually holds a whole /64), an IPv4-mapped
    IPv6 address as the IPv4 address it maps; anything else unchanged."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])  # no zone index
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def address_key() -> str:
    """A keyed hash of the client address (an IPv6 address's /64), for rate limits held in
    memory or Redis only.

    The address itself is never stored or logged; behind a reverse proxy every client shares
    the proxy's address, so the limits then apply to all clients together.
    """
    secret = current_app.secret_key
    assert isinstance(secret, str)
    address = limited_address(request.remote_addr or "").encode()
    return hmac.new(secret.encode(), b"address:" + address, hashlib.sha256).hexdigest()[:32]


def _no_default_key() -> str:
    # Every limit names its own key (an account, or a keyed hash of the address held only in
    # the limiter's storage); nothing falls back to the raw client address.
    return "global"


class MemoryCounters(MemoryStorage):
    """limits' in-memory storage (``integrity-memory://``), without its expiry thread.

    limits' own starts a thread every 10 ms while counters change, and each walks every
    counter: a flood from many addresses makes that walk long and frequent. Here a counter
    is dropped when it is next read after its window ends (as limits' own does too), and the
    others are swept in the request that counts, at most once every ``SWEEP_SECONDS``.
    Fixed windows only (the limiter's strategy): moving windows would still use the thread.
    """

    STORAGE_SCHEME = ["integrity-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: str) -> None:
        super().__init__(uri, wrap_exceptions, **options)
        self.timer.cancel()  # the one started by the constructor
        self.timer.join()
        self.swept_at = time.time()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        if now - self.swept_at >= self.SWEEP_SECONDS:
            self.sweep(now)
        self.get(key)  # drops the counter if its window has ended
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = now + expiry
        return self.storage.get(key, 0)

    def sweep(self, now: float) -> None:
        """Drop every counter whose window has ended."""
        self.swept_at = now
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)


class _Limiter(Limiter):
    """Flask-Limiter, without its before-request pass on the views that count for themselves.

    That pass only adds limits set for every route (application-wide or default limits), and
    this application sets none; ``count_request`` does the view's own counting.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.self_counted: set[str] = set()  # endpoints that call count_request

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if (in_middleware and request.endpoint in self.self_counted
                and not (self.limit_manager.application_limits
                         or self.limit_manager.default_limits)):
            return
        super()._check_request_limit(callable_name, in_middleware)


csrf = CSRFProtect()
babel = Babel()
# Fixed windows: count_request relies on it (a hit is an increment of one counter).
limiter = _Limiter(key_func=_no_default_key, headers_enabled=True, strategy="fixed-window")


class RateLimited(TooManyRequests):
    """A limit counted by ``count_request`` is exceeded (429), with the headers to send."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__()
        self.rate_limit_headers = headers


@lru_cache(maxsize=64)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(sorted(parse_many(limits)))  # shortest window first, as Flask-Limiter does


def counts_itself(endpoint: str) -> None:
    """Declare that view ``endpoint`` calls ``count_request`` for its rate limits."""
    limiter.self_counted.add(endpoint)


def count_request(limits: str, key: str) -> dict[str, str]:
    """Count this request against ``limits`` under ``key`` exactly as ``limiter.limit`` would.

    Same storage, strategy and counter keys as a decorated view, without Flask-Limiter's
    per-request bookkeeping, which costs more than the count itself on a busy route. Returns
    the rate-limit headers for the response; raises ``RateLimited`` at the first limit exceeded.
    """
    if not (limiter.enabled and limiter.initialized):
        return {}
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    identifiers = [prefix, key, request.endpoint or ""] if prefix else [key, request.endpoint or ""]
    storage = limiter.limiter.storage
    # A fixed window's hit is an increment: its result gives the headers without reading the
    # counter again (one storage call fewer per limit, a round trip with Redis).
    shown: tuple[RateLimitItem, str, int] | None = None
    for item in _parsed(limits):
        counter = item.key_for(*identifiers)
        count = storage.incr(counter, item.get_expiry())
        if count > item.amount:
            raise RateLimited(_window_headers(item, counter, 0))
        if shown is None:
            shown = (item, counter, item.amount - count)
    return _window_headers(*shown) if shown else {}


def _window_headers(item: RateLimitItem, counter: str, remaining: int) -> dict[str, str]:
    reset_at = int(limiter.limiter.storage.get_expiry(counter) + 1)
    return {"X-RateLimit-Limit": str(item.amount), "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset_at), "Retry-After": str(int(reset_at - time.time()))}
