"""Proof of work: a nonce whose BLAKE2b hash with the challenge starts with ``bits`` zero bits."""

from __future__ import annotations

import struct

from nacl.encoding import RawEncoder
from nacl.hash import blake2b

MAX_NONCE = 2**64 - 1


def pow_hash(challenge: bytes, nonce: int) -> bytes:
    """``crypto_generichash(32, challenge || le64(nonce))``."""
    digest: bytes = blake2b(challenge + struct.pack("<Q", nonce), digest_size=32,
                            encoder=RawEncoder)
    return digest


def leading_zero_bits(digest: bytes) -> int:
    """Zero bits at the start, most significant bit of byte 0 first."""
    count = 0
    for byte in digest:
        if byte:
            return count + 8 - byte.bit_length()
        count += 8
    return count


def achieved_bits(challenge: bytes, nonce: object) -> int:
    """The zero bits ``nonce`` achieves on ``challenge``; -1 if it is not a uint64."""
    if not isinstance(nonce, int) or isinstance(nonce, bool) or not 0 <= nonce <= MAX_NONCE:
        return -1
    return leading_zero_bits(pow_hash(challenge, nonce))


def verify_pow(challenge: bytes, nonce: int, bits: int) -> bool:
    """Whether ``nonce`` (a uint64) solves ``challenge`` at ``bits``."""
    return achieved_bits(challenge, nonce) >= max(bits, 0)


def solve_pow(challenge: bytes, bits: int, start: int = 0) -> int:
    """The smallest nonce from ``start`` that solves ``challenge``."""
    nonce = start
    while not verify_pow(challenge, nonce, bits):
        nonce += 1
    return nonce
