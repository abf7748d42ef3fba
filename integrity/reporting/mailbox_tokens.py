"""Mailbox tokens: how the mailbox opened without JavaScript stays open for a short while
without the receipt travelling back in the page.

Opening the mailbox in basic mode derives the reporter's keys from the receipt (one Argon2id).
The answer page then carries a token instead of the receipt: 32 random bytes (b64url), drawn
for that opening. The server keeps, under a hash of the token, the report's id and the
reporter's secret key, sealed (XSalsa20-Poly1305) with a key derived from the token, for
``mailbox_token_minutes`` from the opening; in process memory, or in Redis when the rate
limits are kept there (``INTEGRITY_REDIS_URL``), never in the database. What is kept opens
nothing without the token, which only the page holds; the receipt and the lookup are kept
nowhere. Replies and downloads present the token; an expired or unknown one opens nothing,
and one the reporter ended by closing the mailbox neither.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import nacl.exceptions
import nacl.secret

import crypto

TOKEN_BYTES = 32
KEY_PREFIX = "integrity/mailbox-token/"


def clock() -> float:
    """The time in-memory tokens expire by (tests move it)."""
    return time.time()


@dataclass(frozen=True)
class OpenMailbox:
    """What a token reopens: the report and the reporter's secret key."""

    report_id: int
    secret_key: bytes


class TokenStore(Protocol):
    def put(self, name: str, value: bytes, seconds: int) -> None: ...

    def get(self, name: str) -> bytes | None: ...

    def delete(self, name: str) -> None: ...


class MemoryTokens:
    """Tokens in this process's memory, each dropped when read after it expires or in the
    sweep that the next new token makes."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, bytes]] = {}
        self.lock = threading.Lock()

    def put(self, name: str, value: bytes, seconds: int) -> None:
        now = clock()
        with self.lock:
            for key, (expires_at, _) in list(self.entries.items()):
                if expires_at <= now:
                    del self.entries[key]
            self.entries[name] = (now + seconds, value)

    def get(self, name: str) -> bytes | None:
        with self.lock:
            found = self.entries.get(name)
            if found is None:
                return None
            if found[0] <= clock():
                del self.entries[name]
                return None
            return found[1]

    def delete(self, name: str) -> None:
        with self.lock:
            self.entries.pop(name, None)


class RedisTokens:
    """Tokens in Redis, each with Redis's own expiry, shared by every worker process."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)

    def put(self, name: str, value: bytes, seconds: int) -> None:
        self.client.set(name, value, ex=seconds)

    def get(self, name: str) -> bytes | None:
        value = self.client.get(name)
        return value if isinstance(value, bytes) else None

    def delete(self, name: str) -> None:
        self.client.delete(name)


def token_store(redis_url: str) -> TokenStore:
    return RedisTokens(redis_url) if redis_url else MemoryTokens()


def _derived(token: bytes, purpose: bytes) -> bytes:
    return hashlib.blake2b(token, digest_size=32, person=purpose).digest()


def _name(token: bytes) -> str:
    return KEY_PREFIX + _derived(token, b"mailbox-token-id").hex()


def issue(store: TokenStore, opened: OpenMailbox, minutes: int) -> str:
    """A new token for ``opened``, good for ``minutes``."""
    token = secrets.token_bytes(TOKEN_BYTES)
    box = nacl.secret.SecretBox(_derived(token, b"mailbox-tokenkey"))
    sealed = box.encrypt(struct.pack(">Q", opened.report_id) + opened.secret_key)
    store.put(_name(token), bytes(sealed), minutes * 60)
    return crypto.b64encode(token)


def end(store: TokenStore, text: str) -> None:
    """Forget what the token ``text`` opens (the reporter closed the mailbox); nothing if it
    is malformed, unknown or expired."""
    try:
        token = crypto.b64decode(text, TOKEN_BYTES)
    except crypto.EncodingError:
        return
    store.delete(_name(token))


def redeem(store: TokenStore, text: str) -> OpenMailbox | None:
    """What the token ``text`` reopens; None if it is malformed, unknown or expired."""
    try:
        token = crypto.b64decode(text, TOKEN_BYTES)
    except crypto.EncodingError:
        return None
    sealed = store.get(_name(token))
    if sealed is None:
        return None
    try:
        plain = nacl.secret.SecretBox(_derived(token, b"mailbox-tokenkey")).decrypt(sealed)
    except nacl.exceptions.CryptoError:
        return None
    (report_id,) = struct.unpack(">Q", plain[:8])
    return OpenMailbox(report_id, plain[8:])
