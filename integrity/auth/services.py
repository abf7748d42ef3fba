"""Staff accounts: password hashes, second factor, sessions. No HTTP in here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import crypto
from integrity.auth.strength import MIN_PASSPHRASE_LENGTH, is_weak_passphrase
from integrity.models import Role, StaffSession, User, today, utcnow

MIN_PASSWORD_LENGTH = MIN_PASSPHRASE_LENGTH
# Stored for accounts that never sign in (offline inspectors): no passphrase matches it.
UNUSABLE_PASSWORD_HASH = "!no-sign-in"  # noqa: S105
TOTP_ISSUER = "Integrity"
# Put before the Argon2id hash of a peppered login value (docs/inspector-keys.md#scheme-2).
PEPPERED_PREFIX = "pepper1$"


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


class Hasher:
    """Argon2id with the installation's cost, plus a dummy hash for unknown accounts, and the
    keys from the installation secret that protect staff credentials.

    ``login_opslimit`` and ``login_memlimit`` are the cost of the passphrase split done in the
    browser (docs/inspector-keys.md) for new passphrases. With ``pepper_key`` (from the
    installation secret), sign-in values are peppered before they are hashed, and such hashes
    are stored after ``PEPPERED_PREFIX``; hashes without it are of the value itself. With
    ``totp_key`` (from the same secret) second-factor secrets are sealed at rest.
    """

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int,
                 login_opslimit: int = 3, login_memlimit: int = 67108864,
                 pepper_key: bytes | None = None, totp_key: bytes | None = None) -> None:
        self.argon2 = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        self.login_opslimit = login_opslimit
        self.login_memlimit = login_memlimit
        self.pepper_key = pepper_key
        self.totp_key = totp_key

    @cached_property
    def dummy_hash(self) -> str:
        # Verified against when the account is unknown, so timing does not reveal which.
        return self.argon2.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.argon2.hash(password)

    def verify(self, stored: str, password: str | bytes) -> bool:
        try:
            return self.argon2.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _peppered(self, value: str) -> bytes | None:
        """``hash(frame("integrity/v2/login-pepper", auth_value), key=pepper_key)``; None
        for a value that is not a login value (it then matches nothing)."""
        assert self.pepper_key is not None
        try:
            auth_value = crypto.b64decode(value, 32, what="login value")
        except crypto.EncodingError:
            return None
        return crypto.peppered_auth_value(auth_value, self.pepper_key)

    def hash_login(self, value: str) -> str:
        """The stored hash of a login value: peppered when the installation has a pepper."""
        if self.pepper_key is None:
            return self.argon2.hash(value)
        peppered = self._peppered(value)
        if peppered is None:
            raise AccountError(_l("The sign-in value sent by the page is not valid."))
        return PEPPERED_PREFIX + self.argon2.hash(peppered)

    def verify_login(self, stored: str, value: str) -> bool:
        """Whether ``value`` matches ``stored``, peppered or (from before the pepper) not."""
        if not stored.startswith(PEPPERED_PREFIX):
            return self.verify(stored, value)
        peppered = self._peppered(value) if self.pepper_key is not None else None
        if peppered is None:
            self.verify(self.dummy_hash, value)  # as long as a real check
            return False
        return self.verify(stored[len(PEPPERED_PREFIX):], peppered)

    def seal_totp(self, user_id: int, secret: str) -> bytes:
        """What is stored for account ``user_id``'s second-factor secret."""
        if self.totp_key is None:
            raise RuntimeError("Second-factor secrets are sealed with the installation secret.")
        return crypto.seal_totp_secret(secret, self.totp_key, user_id)

    def open_totp(self, user: User) -> str | None:
        """``user``'s second-factor secret, or None if they have none."""
        if user.totp_sealed is None:
            return None
        return self.open_sealed_totp(user.id, user.totp_sealed)

    def open_sealed_totp(self, user_id: int, sealed: bytes) -> str:
        """A second-factor secret ``seal_totp`` sealed for account ``user_id``; DecryptionError
        for anything else."""
        if self.totp_key is None:
            raise RuntimeError("Second-factor secrets are sealed with the installation secret.")
        return crypto.open_totp_secret(sealed, self.totp_key, user_id)

    def login_needs_rehash(self, stored: str) -> bool:
        """An unpeppered hash (once there is a pepper), or one at an outdated cost."""
        peppered = stored.startswith(PEPPERED_PREFIX)
        if self.pepper_key is not None and not peppered:
            return True
        return self.argon2.check_needs_rehash(stored[len(PEPPERED_PREFIX):] if peppered
                                              else stored)


def normalise_email(email: str) -> str:
    """Addresses are compared case-insensitively and without surrounding space."""
    return email.strip().lower()


# The one sentence that refuses a passphrase too easy to guess, here and on the pages; its
# number is MIN_PASSPHRASE_LENGTH (tests/test_inspector_key_scheme2.py checks).
WEAK_PASSPHRASE = _l("Choose a passphrase that is harder to guess: at least 12 characters, "
                     "such as four unrelated words, and not a common password, a repeated "
                     "character or a sequence.")


def check_new_password(password: str) -> None:
    """Refuse passphrases too short, too common or too simple to resist guessing."""
    if is_weak_passphrase(password):
        raise AccountError(WEAK_PASSPHRASE)


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
    email = check_new_account(session, email, name)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        must_change_password=must_change_password,
    )
    # The server knows this first passphrase (it printed or read it); the account must
    # change it at first sign-in, in the browser, where the split happens on the device.
    set_passphrase(hasher, user, password)
    session.add(user)
    session.flush()
    if totp_secret is not None:
        user.totp_sealed = hasher.seal_totp(user.id, totp_secret)
    return user


def check_new_account(session: Session, email: str, name: str) -> str:
    """The normalised address of a new account, or AccountError saying what is wrong."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError(_l("That is not an e-mail address."))
    if not name.strip():
        raise AccountError(_l("A name is required."))
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(_l("An account with that e-mail address already exists."))
    return email


def find_user(session: Session, email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


@dataclass(frozen=True)
class LoginParams:
    """What the browser needs to split a passphrase: the salt and the Argon2id cost."""

    salt: bytes
    opslimit: int
    memlimit: int

    def as_json(self) -> dict[str, object]:
        return {"salt": crypto.b64encode(self.salt), "opslimit": self.opslimit,
                "memlimit": self.memlimit}


def login_params(hasher: Hasher, secret_key: str, session: Session, email: str) -> LoginParams:
    """The account's derivation parameters; for an unknown address, a deactivated account or
    one that cannot sign in, made-up ones that look the same and stay the same, so the answer
    does not tell who has an account."""
    user = find_user(session, email)
    if user is not None and user.login_salt is not None and user.can_sign_in and user.active:
        return LoginParams(user.login_salt, user.login_opslimit or hasher.login_opslimit,
                           user.login_memlimit or hasher.login_memlimit)
    fake = hmac.new(secret_key.encode(), b"login-salt:" + normalise_email(email).encode(),
                    hashlib.sha256).digest()[:16]
    return LoginParams(fake, hasher.login_opslimit, hasher.login_memlimit)


def derived_login_value(passphrase: str, params: LoginParams) -> str:
    """What the browser sends instead of the passphrase (crypto/staff_keys.py)."""
    keys = crypto.derive_staff_keys(passphrase, params.salt, params.opslimit, params.memlimit)
    return crypto.login_value(keys)


def set_passphrase(hasher: Hasher, user: User, passphrase: str) -> None:
    """Set a passphrase the server was given (a first one, or without JavaScript)."""
    check_new_password(passphrase)
    params = LoginParams(crypto.new_staff_salt(), hasher.login_opslimit, hasher.login_memlimit)
    set_login_value(hasher, user, derived_login_value(passphrase, params), params)


def set_login_value(hasher: Hasher, user: User, value: str, params: LoginParams) -> None:
    """Store the hash of a login value derived in the browser, with its parameters."""
    try:
        crypto.b64decode(value, 32, what="login value")
    except crypto.EncodingError as exc:
        raise AccountError(_l("The sign-in value sent by the page is not valid.")) from exc
    user.password_hash = hasher.hash_login(value)
    user.login_salt = params.salt
    user.login_opslimit = params.opslimit
    user.login_memlimit = params.memlimit


# Said when an inspector's account is used on the form without JavaScript (and on the pages).
INSPECTOR_NEEDS_SCRIPT = _l("Inspectors need JavaScript to sign in, because their passphrase "
                            "also unlocks their key and must stay on their device.")
# Every refusal of the form without JavaScript reads the same, so that the answer does not tell
# whether an address belongs to an inspector (the server cannot check an inspector's passphrase).
PLAIN_REFUSAL = _l("That e-mail address and passphrase do not match, or the account is an "
                   "inspector's: inspectors need JavaScript to sign in, because their passphrase "
                   "also unlocks their key and must stay on their device.")


def authenticate(session: Session, hasher: Hasher, email: str, secret: str, *,
                 derived: bool) -> User | None:
    """The active user with this e-mail and credential, else None, in similar time either way.

    ``secret`` is the login value the page derived (``derived``), or, without JavaScript,
    the passphrase itself. Inspectors' keys are unlocked by that passphrase, so the server
    does not use an inspector's passphrase: AccountError says their sign-in needs the script.
    """
    user = find_user(session, email)
    usable = user is not None and user.active and user.can_sign_in and user.login_salt
    if not usable or user is None:
        hasher.verify(hasher.dummy_hash, secret)
        return None
    if not derived and user.role == Role.INSPECTOR:
        hasher.verify(hasher.dummy_hash, secret)  # as long as any other refusal
        raise AccountError(INSPECTOR_NEEDS_SCRIPT)
    candidate = secret if derived else derived_login_value(
        secret, LoginParams(user.login_salt or b"", user.login_opslimit or 0,
                            user.login_memlimit or 0))
    if not hasher.verify_login(user.password_hash, candidate):
        return None
    if hasher.login_needs_rehash(user.password_hash):
        # Hashes from before the pepper (or at an old cost) are replaced at the next sign-in.
        user.password_hash = hasher.hash_login(candidate)
    return user


def set_inspector_key(user: User, public_key: object, wrapped_key: object) -> None:
    """Store a key pair made in the browser: the public key, the private key only wrapped.

    With no wrapped key, the public key of an offline key file (``integrity keygen``): the
    private key stays in the file, which the inspector loads into the case page.
    Refused when the inspector already has a key: replacing it would lock them out of every
    case sealed to the old one (an administrator's reset does that, knowingly).
    """
    if user.public_key is not None:
        raise AccountError(_l("You already have a key."))
    try:
        public = crypto.b64decode(public_key, 32, what="public key")
        wrapped = (None if wrapped_key is None
                   else crypto.b64decode(wrapped_key, 72, what="wrapped key"))
    except crypto.EncodingError as exc:
        raise AccountError(str(exc)) from exc
    user.public_key = public
    user.wrapped_secret_key = wrapped
    user.key_scheme = 2  # the key page wraps with the wrapping key the share completed


def upgrade_wrapped_key(user: User, wrapped_key: object) -> None:
    """Replace a scheme-1 wrapped key with the same key re-wrapped in the browser under the
    scheme-2 wrapping key (passphrase and share); refused once the account is on scheme 2."""
    if user.role != Role.INSPECTOR or user.wrapped_secret_key is None:
        raise AccountError(_l("Only inspectors have keys."))
    if user.key_scheme >= 2:
        raise AccountError(_l("Your key is already protected this way."))
    try:
        wrapped = crypto.b64decode(wrapped_key, 72, what="wrapped key")
    except crypto.EncodingError as exc:
        raise AccountError(str(exc)) from exc
    user.wrapped_secret_key = wrapped
    user.key_scheme = 2


@dataclass(frozen=True)
class PassphraseChange:
    """A change of passphrase as the page sends it, or as typed without JavaScript."""

    current: str
    new: str
    derived: bool
    new_salt: bytes | None = None
    new_wrapped_key: bytes | None = None


def change_password(hasher: Hasher, user: User, change: PassphraseChange) -> None:
    """Replace the passphrase after checking the current one (and re-wrap the key)."""
    current_params = LoginParams(user.login_salt or b"", user.login_opslimit or 0,
                                 user.login_memlimit or 0)
    if change.derived:
        current = change.current
    elif user.role == Role.INSPECTOR:
        raise AccountError(_l("Changing an inspector's passphrase needs JavaScript: the key "
                              "is protected again with the new passphrase on this device."))
    else:
        current = derived_login_value(change.current, current_params)
    if not user.login_salt or not hasher.verify_login(user.password_hash, current):
        raise AccountError(_l("The current passphrase is not correct."))
    if change.new == change.current:
        raise AccountError(_l("The new passphrase must differ from the current one."))
    if not change.derived:
        set_passphrase(hasher, user, change.new)
    else:
        if change.new_salt is None or len(change.new_salt) != 16:
            raise AccountError(_l("The sign-in value sent by the page is not valid."))
        if user.wrapped_secret_key is not None:
            if change.new_wrapped_key is None or len(change.new_wrapped_key) != 72:
                raise AccountError(_l("The page did not protect your key with the new "
                                      "passphrase; nothing was changed."))
            user.wrapped_secret_key = change.new_wrapped_key
        if user.role == Role.INSPECTOR:
            # passphrase.mjs wraps under the new passphrase and the share (scheme 2).
            user.key_scheme = 2
        set_login_value(hasher, user, change.new, LoginParams(
            change.new_salt, user.login_opslimit or hasher.login_opslimit,
            user.login_memlimit or hasher.login_memlimit))
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


def verify_totp(session: Session, hasher: Hasher, user: User, code: str,
                at: datetime | None = None) -> bool:
    """Accept a current code once: a step at or before the last one used is refused.

    The check and the record of the step are one conditional update, so two sign-ins that
    send the same code at the same moment cannot both pass: the database lets one through.
    """
    secret = hasher.open_totp(user)
    if secret is None:
        return False
    step = _matching_step(secret, code, at or _aware_now())
    if step is None:
        return False
    result = session.execute(
        update(User)
        .where(User.id == user.id,
               or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def confirm_totp(hasher: Hasher, user: User, secret: str, code: str,
                 at: datetime | None = None) -> None:
    """Enrol ``secret`` as the user's second factor once a code from it checks out."""
    step = _matching_step(secret, code, at or _aware_now())
    if step is None:
        raise AccountError(_l("That code does not match. Check the time on your device and retry."))
    user.totp_sealed = hasher.seal_totp(user.id, secret)
    user.totp_last_step = step


def disable_totp(user: User) -> None:
    """Remove an optional second factor; refused where the role requires one."""
    if user.role.requires_totp:
        raise AccountError(_l("Your role requires a second factor."))
    user.totp_sealed = None
    user.totp_last_step = None


def set_language(user: User, code: str, offered: tuple[str, ...]) -> None:
    """Keep ``code`` as the language of ``user``'s pages and e-mails; it must be offered."""
    if code not in offered:
        raise AccountError(_l("That language is not offered here."))
    user.language = code


NOTIFY_CHOICES = ("batch", "digest", "none")


def set_notifications(user: User, mode: str, digest_hour: int) -> None:
    """Keep how ``user`` is told of activity and deadlines (overdue notices always go)."""
    if mode not in NOTIFY_CHOICES or not 0 <= digest_hour <= 23:
        raise AccountError(_l("Choose how often you are told, and an hour from 0 to 23."))
    user.notify = mode
    user.digest_hour = digest_hour


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


def purge_idle_sessions(session: Session, idle_timeout: timedelta,
                        now: datetime | None = None) -> int:
    """Delete sessions idle for longer than the timeout; returns how many."""
    now = utcnow() if now is None else now.astimezone(UTC).replace(tzinfo=None)
    result = session.execute(
        delete(StaffSession).where(StaffSession.last_seen_at < now - idle_timeout)
    )
    return int(getattr(result, "rowcount", 0) or 0)
