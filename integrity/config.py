"""Settings: read once from ``INTEGRITY_*`` environment variables, passed into the factory."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import crypto
from integrity.i18n import SUPPORTED_LANGUAGES

SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)
ORG_PUBLIC_KEY_FILE = "org_public_key"
INSTALLATION_SECRET_FILE = "installation_secret"  # noqa: S105 (a file name, not a secret)


class ConfigError(ValueError):
    """A setting has a value the application cannot use."""


def _as_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{value!r} is not a yes/no value")


@dataclass(frozen=True)
class Settings:
    """Everything an installation can configure; each field is ``INTEGRITY_<NAME>``."""

    data_dir: Path = field(default_factory=lambda: Path.cwd() / "data")
    database_url: str = ""
    secret_key: str = ""
    # 32 bytes (b64) that key the stored lookup hashes, held outside the database: else the
    # one `integrity init` wrote into the data folder (docs/protocol.md#keyed-lookup-hashes).
    installation_secret: str = ""
    # The organisation key's public half (b64), pinned outside the database; else the one
    # `integrity org-key pin` wrote into the data folder (docs/administration.md).
    org_public_key: str = ""
    # Without INTEGRITY_PUBLIC_URL, `integrity serve` uses the address it listens on.
    public_url: str = "http://127.0.0.1:8080"
    onion_url: str = ""
    # Outgoing mail (survey codes, notifications to staff).
    mail_host: str = "127.0.0.1"
    mail_port: int = 25
    mail_username: str = ""
    mail_password: str = ""
    mail_starttls: bool = False
    # TLS from the first byte (SMTPS, usually port 465) instead of STARTTLS.
    mail_tls: bool = False
    mail_sender: str = "integrity@localhost"
    # Notices of new cases and reporters' messages leave only in batches, at these hours (UTC),
    # each a random number of minutes up to notify_delay_minutes late: never at the minute a
    # report arrives, which would record its time (docs/notifications.md).
    notify_hours: tuple[str, ...] = ("7", "12", "16")
    notify_delay_minutes: int = 30
    # Argon2id cost for staff password hashes (argon2-cffi units: passes, KiB).
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 1
    # Argon2id cost of the reporting protocol's receipt derivation (libsodium units).
    kdf_opslimit: int = 3
    kdf_memlimit: int = 67108864
    pow_bits: int = 16
    pow_ttl_seconds: int = 600
    pad_block: int = 1024
    # Size limits of the reporting API (bytes).
    max_payload_bytes: int = 1024 * 1024 + 40
    max_attachment_bytes: int = 50 * 1024 * 1024
    max_report_attachment_bytes: int = 200 * 1024 * 1024
    max_attachments: int = 20
    unclaimed_upload_minutes: int = 60
    # Rate limits, in Flask-Limiter's notation.
    ratelimit_login: str = "10 per minute;50 per hour"
    ratelimit_totp: str = "5 per minute;20 per hour"
    # Sign-in (and its parameters) per client address: a keyed hash, as for the API below.
    ratelimit_login_address: str = "30 per minute;300 per hour"
    # Anonymous API, per client address (a keyed hash, held in memory or Redis only).
    ratelimit_reports: str = "10 per hour;30 per day"
    ratelimit_uploads: str = "60 per hour"
    ratelimit_messages: str = "30 per hour"
    ratelimit_mailbox_failures: str = "10 per 15 minutes"
    # Mailbox openings without JavaScript that succeed: each costs the server an Argon2id.
    ratelimit_mailbox_opens: str = "10 per hour"
    ratelimit_pow: str = "60 per hour"
    redis_url: str = ""
    # How long a mailbox opened without JavaScript stays open (its mailbox token lasts).
    mailbox_token_minutes: int = 15
    idle_timeout_minutes: int = 30
    # Survey figures from fewer responses are withheld (sensitive: randomized-response items).
    survey_min_responses: int = 10
    survey_min_sensitive: int = 20
    # Offered by the picker; the first is used when a browser states no preference.
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    log_level: str = "INFO"
    # Retention period offered to a new channel (days), and how long a set-up link lasts.
    default_retention_days: int = 1825
    invitation_hours: int = 72
    # How long the audit log names the staff member who acted (years; then pseudonymised).
    audit_staff_years: int = 5

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Build settings from ``INTEGRITY_*`` variables, then apply keyword overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"INTEGRITY_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f, raw)
        values.update(overrides)
        return cls(**values).resolved()

    @classmethod
    def for_server(cls, host: str, port: int,
                   environ: Mapping[str, str] | None = None) -> Settings:
        """Settings for a server listening on ``host``:``port``: unless INTEGRITY_PUBLIC_URL
        says otherwise, set-up links, posters and survey slips point at that server."""
        environ = os.environ if environ is None else environ
        if environ.get("INTEGRITY_PUBLIC_URL"):
            return cls.from_env(environ)
        return cls.from_env(environ, public_url=served_url(host, port))

    def resolved(self) -> Settings:
        """Fill the defaults that depend on other settings and check ranges."""
        data_dir = Path(self.data_dir).expanduser().resolve()
        database_url = self.database_url or f"sqlite:///{data_dir / 'integrity.db'}"
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        if not 0 <= self.pow_bits <= 24:
            raise ConfigError("INTEGRITY_POW_BITS must be between 0 and 24")
        if self.idle_timeout_minutes < 1:
            raise ConfigError("INTEGRITY_IDLE_TIMEOUT_MINUTES must be at least 1")
        if self.mailbox_token_minutes < 1:
            raise ConfigError("INTEGRITY_MAILBOX_TOKEN_MINUTES must be at least 1")
        if min(self.survey_min_responses, self.survey_min_sensitive) < 1:
            raise ConfigError("INTEGRITY_SURVEY_MIN_RESPONSES and INTEGRITY_SURVEY_MIN_SENSITIVE "
                              "must be at least 1")
        if self.default_retention_days < 1 or self.invitation_hours < 1:
            raise ConfigError("INTEGRITY_DEFAULT_RETENTION_DAYS and INTEGRITY_INVITATION_HOURS "
                              "must be at least 1")
        if not 1 <= self.audit_staff_years <= 100:
            raise ConfigError("INTEGRITY_AUDIT_STAFF_YEARS must be between 1 and 100")
        if not self.notify_hours or not all(
                hour.isdigit() and 0 <= int(hour) <= 23 for hour in self.notify_hours):
            raise ConfigError("INTEGRITY_NOTIFY_HOURS must list hours from 0 to 23, "
                              "separated by commas")
        if not 0 <= self.notify_delay_minutes <= 120:
            raise ConfigError("INTEGRITY_NOTIFY_DELAY_MINUTES must be between 0 and 120")
        if self.mail_tls and self.mail_starttls:
            raise ConfigError("INTEGRITY_MAIL_TLS and INTEGRITY_MAIL_STARTTLS exclude each other")
        if not self.languages:
            raise ConfigError("INTEGRITY_LANGUAGES must name at least one language")
        for code in self.languages:
            if code not in SUPPORTED_LANGUAGES:
                raise ConfigError(f"INTEGRITY_LANGUAGES: {code} is not a supported language "
                                  f"(supported: {', '.join(SUPPORTED_LANGUAGES)})")
        return dataclasses.replace(self, data_dir=data_dir, database_url=database_url)

    @property
    def https(self) -> bool:
        """Whether the public address is served over TLS (cookies Secure, HSTS on)."""
        return self.public_url.startswith("https://")

    def load_secret_key(self) -> str:
        """The configured secret key, else the one ``integrity init`` wrote into the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            raise ConfigError(
                f"No secret key: set INTEGRITY_SECRET_KEY or run 'integrity init' to create {path}"
            )
        return path.read_text().strip()

    def load_installation_secret(self) -> bytes:
        """The installation secret: INTEGRITY_INSTALLATION_SECRET, else the data folder's
        ``installation_secret`` file that ``integrity init`` writes."""
        path = self.data_dir / INSTALLATION_SECRET_FILE
        if self.installation_secret:
            text, where = self.installation_secret, "INTEGRITY_INSTALLATION_SECRET"
        elif path.exists():
            text, where = path.read_text().strip(), str(path)
        else:
            raise ConfigError(f"No installation secret: set INTEGRITY_INSTALLATION_SECRET or run "
                              f"'integrity init' to create {path}")
        try:
            return crypto.b64decode(text, 32, what="installation secret")
        except crypto.EncodingError as exc:
            raise ConfigError(f"{where}: {exc}") from exc

    def load_org_public_key(self) -> bytes | None:
        """The pinned organisation public key (32 bytes): INTEGRITY_ORG_PUBLIC_KEY, else the
        data folder's ``org_public_key`` file, else None (no organisation key yet)."""
        text = self.org_public_key
        path = self.data_dir / ORG_PUBLIC_KEY_FILE
        if not text and path.exists():
            text = path.read_text().strip()
        if not text:
            return None
        try:
            return crypto.b64decode(text, 32, what="organisation public key")
        except crypto.EncodingError as exc:
            where = "INTEGRITY_ORG_PUBLIC_KEY" if self.org_public_key else str(path)
            raise ConfigError(f"{where}: {exc}") from exc


def served_url(host: str, port: int) -> str:
    """The address of a server listening on ``host``:``port``, as a browser on this machine
    reaches it (a server listening on every address is reached on the loopback one)."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):  # noqa: S104 (an address to name, not one to bind)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def ensure_secret_key(settings: Settings) -> Path | None:
    """Write a fresh secret key into the data folder unless one exists or one is configured."""
    if settings.secret_key:
        return None
    return _write_new(settings.data_dir / SECRET_KEY_FILE, secrets.token_urlsafe(48))


def ensure_installation_secret(settings: Settings) -> Path | None:
    """Write a fresh installation secret into the data folder unless one exists or one is
    configured. Back it up apart from the database: without it no receipt opens its mailbox."""
    if settings.installation_secret:
        return None
    return _write_new(settings.data_dir / INSTALLATION_SECRET_FILE,
                      crypto.b64encode(secrets.token_bytes(32)))


def _write_new(path: Path, text: str) -> Path | None:
    """Write ``text`` to a new file readable by its owner only; None if the file exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    return path


def _parse(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            return int(raw)
        if kind == "bool":
            return _as_bool(raw)
        if kind == "Path":
            return Path(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"INTEGRITY_{f.name.upper()}: {exc}") from exc
    return raw
