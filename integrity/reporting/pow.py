"""Proof of work: challenges issued, checked and spent once."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy.orm import Session

import crypto
from integrity.config import Settings
from integrity.models import utcnow
from integrity.reporting.errors import POW_GONE, ProtocolError
from integrity.reporting.models import PowChallenge


def issue_challenge(session: Session, settings: Settings) -> dict[str, Any]:
    """A fresh challenge, good once for ``pow_ttl_seconds``; expired ones are swept."""
    now = utcnow()
    session.execute(delete(PowChallenge).where(PowChallenge.expires_at < now))
    challenge = secrets.token_bytes(16)
    session.add(PowChallenge(
        challenge=challenge, bits=settings.pow_bits,
        expires_at=now + timedelta(seconds=settings.pow_ttl_seconds),
    ))
    return {"challenge": crypto.b64encode(challenge), "bits": settings.pow_bits,
            "expires_in": settings.pow_ttl_seconds}


class PowSolution(NamedTuple):
    """A proof of work as offered: the challenge, and the nonce that should solve it."""

    challenge: bytes
    nonce: object


def checked_pow(settings: Settings, pow_field: object) -> PowSolution | None:
    """The solution offered when proof of work is on; 429 if none, 400 if malformed."""
    if settings.pow_bits == 0:
        return None
    if not isinstance(pow_field, dict):
        raise ProtocolError(_l("A proof of work is required: get one from /api/v1/pow."), 429)
    try:
        challenge = crypto.b64decode(pow_field.get("challenge"), 16, what="challenge")
    except crypto.EncodingError as exc:
        raise ProtocolError(exc, 400) from exc
    return PowSolution(challenge, pow_field.get("nonce"))


def spend_challenge(session: Session, solution: PowSolution | None) -> None:
    """Spend the challenge ``solution`` solves; wrong, expired or reused ones get 429."""
    if solution is None:
        return
    # Deleting the row is what makes a challenge single-use across every worker; a refusal
    # below rolls the deletion back with the rest of the request.
    bits = session.execute(
        delete(PowChallenge)
        .where(PowChallenge.challenge == solution.challenge, PowChallenge.expires_at >= utcnow())
        .returning(PowChallenge.bits)
    ).scalar()
    verify_solution(solution, bits)


def verify_solution(solution: PowSolution, bits: int | None) -> None:
    """429 unless ``solution`` solves its challenge, an unspent challenge of ``bits`` bits."""
    if bits is None:
        raise ProtocolError(POW_GONE, 429)
    if not crypto.verify_pow(solution.challenge, solution.nonce, bits):  # type: ignore[arg-type]
        raise ProtocolError(_l("The proof of work does not solve its challenge."), 429)
