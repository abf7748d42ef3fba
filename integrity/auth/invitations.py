"""Set-up links: an administrator invites a person, who then chooses a passphrase.

The link carries a random token; only its SHA-256 hash is stored, with an expiry, and it
works once. Opening it lets the invitee choose a passphrase (split on the device, as at
sign-in: docs/inspector-keys.md), then enrol the second factor, and for an inspector make
the key in the browser.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from integrity.auth.services import (
    UNUSABLE_PASSWORD_HASH,
    AccountError,
    Hasher,
    LoginParams,
    check_new_account,
    set_login_value,
    set_passphrase,
)
from integrity.models import Invitation, Role, User, utcnow


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue(session: Session, user: User, hours: int) -> str:
    """A fresh set-up link token for ``user``; any earlier link of theirs stops working."""
    session.execute(delete(Invitation).where(Invitation.user_id == user.id))
    token = secrets.token_urlsafe(32)
    session.add(Invitation(user_id=user.id, token_hash=token_hash(token),
                           expires_at=utcnow() + timedelta(hours=hours)))
    session.flush()
    return token


def invite(session: Session, *, email: str, name: str, role: Role, hours: int) -> tuple[User, str]:
    """A new account that cannot sign in until its set-up link is used; the caller commits."""
    email = check_new_account(session, email, name)
    # No passphrase yet: nothing matches the unusable hash, and without a salt the sign-in
    # page gets made-up parameters, as for an unknown address.
    user = User(email=email, name=name.strip(), role=role,
                password_hash=UNUSABLE_PASSWORD_HASH, must_change_password=False)
    session.add(user)
    session.flush()
    return user, issue(session, user, hours)


def find(session: Session, token: str) -> Invitation | None:
    """The live invitation behind ``token``: not used, not expired, for an active account."""
    if not token or len(token) > 128:
        return None
    invitation = session.scalar(select(Invitation).where(
        Invitation.token_hash == token_hash(token)))
    return invitation if is_live(invitation) else None


def is_live(invitation: Invitation | None) -> bool:
    return (invitation is not None and invitation.expires_at > utcnow()
            and invitation.user.active)


def pending(session: Session, user: User) -> Invitation | None:
    """The user's set-up link, live or expired, if one was issued and not used."""
    return session.scalar(select(Invitation).where(Invitation.user_id == user.id))


@dataclass(frozen=True)
class FirstPassphrase:
    """The passphrase chosen on the set-up page: a derived login value and its salt, or
    (without JavaScript, for administrators and managers) the passphrase itself."""

    new: str
    derived: bool
    salt: bytes | None = None


def accept(session: Session, hasher: Hasher, invitation: Invitation,
           chosen: FirstPassphrase) -> User:
    """Set the first passphrase and use up the link; the caller commits."""
    user = invitation.user
    if chosen.derived:
        if chosen.salt is None or len(chosen.salt) != 16:
            raise AccountError(_l("The sign-in value sent by the page is not valid."))
        set_login_value(hasher, user, chosen.new, LoginParams(
            chosen.salt, hasher.login_opslimit, hasher.login_memlimit))
    elif user.role == Role.INSPECTOR:
        # The passphrase will lock the inspector's key: it must not reach the server.
        raise AccountError(_l("Setting an inspector's passphrase needs JavaScript: it is "
                              "split on this device."))
    else:
        set_passphrase(hasher, user, chosen.new)
    user.must_change_password = False
    user.can_sign_in = True
    session.delete(invitation)
    session.flush()
    return user
