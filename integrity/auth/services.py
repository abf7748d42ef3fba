"""Staff accounts: password hashes, second factor, sessions. No HTTP in here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from functools import cached_property

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from integrity.models import Role, StaffSession, User, today, utcnow

MIN_PASSWORD_LENGTH = 12
# Stored for accounts that never sign in (offline inspectors): no passphrase matches it.
UNUSABLE_PASSWORD_HASH = "!no-sign-in"  # noqa: S105
TOTP_ISSUER = "Integrity"


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


class Hasher:
    """Argon2id with the installation's cost, plus a dummy hash for unknown accounts."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self.argon2 = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )

    @cached_property
    def dummy_hash(self) -> str:
        # Verified against when the account is unknown, so timing does not reveal which.
        return self.argon2.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.argon2.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self.argon2.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def normalise_email(email: str) -> str:
    """Addresses are compared case-insensitively and without surrounding space."""
    return email.strip().lower()


def check_new_password(password: str) -> None:
    """Refuse passphrases too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _l("A passphrase needs at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
        )


def generate_password() -> str:
    """A one-time passphrase of about 120 bits for a new account."""
    return secrets.token_urlsafe(15)


def create_user(
    session: Session,
    hasher: Hasher,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    must_change_password: bool = False,
    totp_secret: str | None = None,
) -> User:
    """Add a staff account; the caller commits."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError(_l("That is not an e-mail address."))
    if not name.strip():
        raise AccountError(_l("A name is required."))
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(_l("An account with that e-mail address already exists."))
    check_new_password(password)
    user = User(
        email=email,
        name=name.strip(),
        role=role.value,
        password_hash=hasher.hash(password),
        must_change_password=must_change_password,
        totp_secret=totp_secret,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(session: Session, hasher: Hasher, email: str, password: str) -> User | None:
    """The active user with this e-mail and passphrase, else None, in similar time either way."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active or not user.can_sign_in:
        hasher.verify(hasher.dummy_hash, password)
        return None
    if not hasher.verify(user.password_hash, password):
        return None
    if hasher.argon2.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def change_password(hasher: Hasher, user: User, current: str, new: str) -> None:
    """Replace the passphrase after checking the current one."""
    if not hasher.verify(user.password_hash, current):
        raise AccountError(_l("The current passphrase is not correct."))
    if new == current:
        raise AccountError(_l("The new passphrase must differ from the current one."))
    check_new_password(new)
    user.password_hash = hasher.hash(new)
    user.must_change_password = False


def new_totp_secret() -> str:
    return pyotp.random_base32(32)


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def totp_qr_svg(secret: str, email: str) -> str:
    """The enrolment QR code as inline SVG markup (no script, no style attribute)."""
    qr = segno.make(totp_uri(secret, email), error="m")
    svg: str = qr.svg_inline(scale=5, dark="#000", light="#fff", title="")
    return svg


def _matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step within one step of ``at`` whose code equals ``code``, if any."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(at)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def verify_totp(user: User, code: str, at: datetime | None = None) -> bool:
    """Accept a current code once: a step at or before the last one used is refused."""
    if user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code, at or _aware_now())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def confirm_totp(user: User, secret: str, code: str, at: datetime | None = None) -> None:
    """Enrol ``secret`` as the user's second factor once a code from it checks out."""
    step = _matching_step(secret, code, at or _aware_now())
    if step is None:
        raise AccountError(_l("That code does not match. Check the time on your device and retry."))
    user.totp_secret = secret
    user.totp_last_step = step


def disable_totp(user: User) -> None:
    """Remove an optional second factor; refused where the role requires one."""
    if user.role_enum.requires_totp:
        raise AccountError(_l("Your role requires a second factor."))
    user.totp_secret = None
    user.totp_last_step = None


def _aware_now() -> datetime:
    return datetime.now(UTC)


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def open_session(session: Session, user: User) -> str:
    """Record a signed-in session and return the token the cookie will carry."""
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_token_hash(token), user=user))
    user.last_login_on = today()
    return token


def resolve_session(session: Session, token: str, idle_timeout: timedelta) -> User | None:
    """The user behind ``token`` if the session is live; touching it keeps it alive."""
    record = session.scalar(
        select(StaffSession).where(StaffSession.token_hash == _token_hash(token))
    )
    if record is None:
        return None
    now = utcnow()
    if now - record.last_seen_at > idle_timeout or not record.user.active:
        session.delete(record)
        return None
    # Touch at most once a minute so reading pages does not write on every request.
    if now - record.last_seen_at > timedelta(minutes=1):
        record.last_seen_at = now
    return record.user


def close_session(session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))


def close_other_sessions(session: Session, user: User, keep_token: str | None) -> None:
    """End every session of ``user`` except the one holding ``keep_token``."""
    query = delete(StaffSession).where(StaffSession.user_id == user.id)
    if keep_token is not None:
        query = query.where(StaffSession.token_hash != _token_hash(keep_token))
    session.execute(query)


def purge_idle_sessions(session: Session, idle_timeout: timedelta) -> int:
    """Delete sessions idle for longer than the timeout; returns how many."""
    result = session.execute(
        delete(StaffSession).where(StaffSession.last_seen_at < utcnow() - idle_timeout)
    )
    return int(getattr(result, "rowcount", 0) or 0)
