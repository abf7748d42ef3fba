"""Account rules, tested without HTTP."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import extract_parameters
from sqlalchemy.orm import Session

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


def _user(secret: str | None = None, role: Role = Role.ADMIN) -> User:
    return User(email="u@example.org", name="U", role=role, password_hash="x",
                totp_secret=secret)


def _stored_user(db: Session, secret: str | None) -> User:
    user = _user(secret)
    db.add(user)
    db.commit()
    return user


def test_totp_accepts_neighbouring_steps_once_each(db: Session) -> None:
    secret = pyotp.random_base32()
    user = _stored_user(db, secret)
    at = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    totp = pyotp.TOTP(secret)
    assert services.verify_totp(db, user, totp.at(at - timedelta(seconds=30)), at)
    assert not services.verify_totp(db, user, totp.at(at - timedelta(seconds=30)), at)
    assert services.verify_totp(db, user, totp.at(at), at)
    assert not services.verify_totp(db, user, totp.at(at - timedelta(seconds=90)), at)
    db.commit()
    db.expire_all()
    assert user.totp_last_step == totp.timecode(at)


def test_totp_tolerates_spaces_and_refuses_other_shapes(db: Session) -> None:
    secret = pyotp.random_base32()
    at = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    code = pyotp.TOTP(secret).at(at)
    user = _stored_user(db, secret)
    assert not services.verify_totp(db, user, code[:5], at)
    assert services.verify_totp(db, user, f"{code[:3]} {code[3:]}", at)
    db.delete(user)
    db.commit()
    assert not services.verify_totp(db, _stored_user(db, None), code, at)


def test_enrolment_needs_a_matching_code() -> None:
    user = _user(None)
    secret = services.new_totp_secret()
    with pytest.raises(services.AccountError):
        services.confirm_totp(user, secret, "000000" if pyotp.TOTP(secret).now() != "000000"
                              else "111111")
    assert user.totp_secret is None
    services.confirm_totp(user, secret, pyotp.TOTP(secret).now())
    assert user.totp_secret == secret


def test_second_factor_cannot_be_dropped_where_the_role_requires_it() -> None:
    with pytest.raises(services.AccountError):
        services.disable_totp(_user("A" * 32, Role.INSPECTOR))
    manager = _user("A" * 32, Role.MANAGER)
    services.disable_totp(manager)
    assert manager.totp_secret is None


def test_qr_code_is_inline_svg_without_script_or_style() -> None:
    svg = services.totp_qr_svg(services.new_totp_secret(), "u@example.org")
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg
