"""Account rules, tested without HTTP."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import extract_parameters
from sqlalchemy.orm import Session

import crypto
from integrity.auth import services
from integrity.config import Settings
from integrity.models import Role, User


def test_real_argon2_parameters_are_argon2id_at_the_configured_cost() -> None:
    settings = Settings.from_env({})
    hasher = services.Hasher(
        settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
    )
    stored = hasher.hash("a long enough passphrase")
    assert stored.startswith("$argon2id$")
    params = extract_parameters(stored)
    assert (params.time_cost, params.memory_cost) == (3, 65536)
    assert hasher.verify(stored, "a long enough passphrase")
    assert not hasher.verify(stored, "another passphrase entirely")
    assert not hasher.verify("not a hash", "a long enough passphrase")


def test_short_common_and_simple_passphrases_are_refused() -> None:
    for weak in ("short", "x" * services.MIN_PASSWORD_LENGTH, "password1234", "123456789012",
                 "qwertyuiop qwertyuiop", "abcdefghijklmnop"):
        with pytest.raises(services.AccountError, match="harder to guess"):
            services.check_new_password(weak)
    services.check_new_password("blue mango river ticket")


def test_generated_passphrases_are_long_and_distinct() -> None:
    drawn = {services.generate_password() for _ in range(50)}
    assert len(drawn) == 50 and all(len(p) >= 20 for p in drawn)


# The second factor's secrets are sealed under a key from the installation secret.
HASHER = services.Hasher(1, 8, 1, totp_key=crypto.totp_key(b"\x07" * 32))


def _user(secret: str | None = None, role: Role = Role.ADMIN, user_id: int = 1) -> User:
    user = User(id=user_id, email="u@example.org", name="U", role=role, password_hash="x")
    if secret is not None:
        user.totp_sealed = HASHER.seal_totp(user_id, secret)
    return user


def _stored_user(db: Session, secret: str | None) -> User:
    user = User(email="u@example.org", name="U", role=Role.ADMIN, password_hash="x")
    db.add(user)
    db.flush()
    if secret is not None:
        user.totp_sealed = HASHER.seal_totp(user.id, secret)
    db.commit()
    return user


def test_totp_accepts_neighbouring_steps_once_each(db: Session) -> None:
    secret = pyotp.random_base32()
    user = _stored_user(db, secret)
    at = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    totp = pyotp.TOTP(secret)
    assert services.verify_totp(db, HASHER, user, totp.at(at - timedelta(seconds=30)), at)
    assert not services.verify_totp(db, HASHER, user, totp.at(at - timedelta(seconds=30)), at)
    assert services.verify_totp(db, HASHER, user, totp.at(at), at)
    assert not services.verify_totp(db, HASHER, user, totp.at(at - timedelta(seconds=90)), at)
    db.commit()
    db.expire_all()
    assert user.totp_last_step == totp.timecode(at)


def test_totp_tolerates_spaces_and_refuses_other_shapes(db: Session) -> None:
    secret = pyotp.random_base32()
    at = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    code = pyotp.TOTP(secret).at(at)
    user = _stored_user(db, secret)
    assert not services.verify_totp(db, HASHER, user, code[:5], at)
    assert services.verify_totp(db, HASHER, user, f"{code[:3]} {code[3:]}", at)
    db.delete(user)
    db.commit()
    assert not services.verify_totp(db, HASHER, _stored_user(db, None), code, at)


def test_enrolment_needs_a_matching_code() -> None:
    user = _user(None)
    secret = services.new_totp_secret()
    with pytest.raises(services.AccountError):
        services.confirm_totp(HASHER, user, secret,
                              "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert user.totp_sealed is None
    services.confirm_totp(HASHER, user, secret, pyotp.TOTP(secret).now())
    assert HASHER.open_totp(user) == secret


def test_second_factor_cannot_be_dropped_where_the_role_requires_it() -> None:
    with pytest.raises(services.AccountError):
        services.disable_totp(_user("A" * 32, Role.INSPECTOR))
    manager = _user("A" * 32, Role.MANAGER)
    services.disable_totp(manager)
    assert manager.totp_sealed is None


def test_qr_code_is_inline_svg_without_script_or_style() -> None:
    svg = services.totp_qr_svg(services.new_totp_secret(), "u@example.org")
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg


def test_the_second_factor_secret_is_stored_sealed_and_opens_only_with_its_key_and_account(
        db: Session) -> None:
    secret = pyotp.random_base32()
    user = _stored_user(db, secret)
    db.expire_all()
    stored = user.totp_sealed
    assert stored is not None
    assert secret.encode() not in stored and len(stored) == 24 + len(secret) + 16
    assert HASHER.open_totp(user) == secret
    # Under another installation's secret, or moved to another account's row, it opens not.
    other = services.Hasher(1, 8, 1, totp_key=crypto.totp_key(b"\x08" * 32))
    with pytest.raises(crypto.DecryptionError):
        other.open_totp(user)
    with pytest.raises(crypto.DecryptionError):
        crypto.open_totp_secret(stored, HASHER.totp_key, user.id + 1)
    # Sealed afresh each time: two sealings of one secret differ.
    assert HASHER.seal_totp(user.id, secret) != HASHER.seal_totp(user.id, secret)
