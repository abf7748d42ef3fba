"""What a database writer does to a protocol 2 case, and the certified inspectors such a case
needs, for the tests of authenticated threads and visible readers (API and browser)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from crypto.certificates import OrgKey, sign_inspector_key
from integrity.models import User
from integrity.reporting.models import KeySlot, Message


def thread_rows(db: Session, report_id: int) -> list[Message]:
    """The ``"thread"`` chain of a report as stored, in the order it was stored."""
    return list(db.scalars(select(Message).where(Message.report_id == report_id,
                                                 Message.chain == "thread")
                           .order_by(Message.position)))


def copy_message(db: Session, message: Message, report_id: int) -> Message:
    """A database writer's copy of ``message`` (and its key slots) into ``report_id``."""
    copy = Message(report_id=report_id, sender=message.sender, author_id=message.author_id,
                   sent_on=message.sent_on, payload=message.payload, chain=None, seq=None,
                   prev=message.prev, auth=message.auth)
    db.add(copy)
    db.flush()
    for slot in message.key_slots:
        db.add(KeySlot(report_id=report_id, message_id=copy.id, reader=slot.reader,
                       slot=slot.slot))
    # Written as the writer pleases: the unique place is dodged by a chain it never checks.
    copy.chain, copy.seq = "thread", message.seq
    return copy


def certify(db: Session, user_id: int, org: OrgKey, public_key: bytes) -> User:
    """Give ``user_id`` the key ``public_key``, certified by ``org`` (the caller commits)."""
    user = db.get(User, user_id)
    assert user is not None
    user.public_key = public_key
    user.key_certificate = sign_inspector_key(org, str(user.id), public_key)
    return user


def browser_key(db: Session, account: object, org: OrgKey) -> crypto.KeyPair:
    """A certified key pair for ``account``, wrapped as a key made in the browser under scheme 1
    (its passphrase unwraps it; the sign-in page moves it to scheme 2); the caller commits."""
    user = db.get(User, account.id)  # type: ignore[attr-defined]
    assert user is not None
    pair = crypto.KeyPair.generate()
    wrapping_key = crypto.derive_staff_keys(account.password, user.login_salt,  # type: ignore[attr-defined]
                                            user.login_opslimit, user.login_memlimit).wrapping_key
    certify(db, user.id, org, pair.public_key)
    user.wrapped_secret_key = crypto.wrap_private_key(pair.secret_key, wrapping_key)
    user.key_scheme = 1  # as stored before scheme 2: moved to scheme 2 at sign-in
    return pair
