"""Models shared by every part of the application: staff, organisation, channels."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Optional

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from integrity.db import Base
from integrity.translated import Translatable


def utcnow() -> datetime:
    """Now in UTC, without tzinfo (every stored time is UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    """Today's date in UTC: the only time a reporter-side row carries is a day."""
    return datetime.now(UTC).date()


class Role(enum.StrEnum):
    ADMIN = "admin"
    INSPECTOR = "inspector"
    MANAGER = "manager"
    # Reads the audit log, the settings and the figures for an internal or external audit;
    # never a case, never content, and changes nothing (integrity/access.py).
    AUDITOR = "auditor"

    @property
    def requires_totp(self) -> bool:
        """Admins and inspectors must use a second factor; for managers and auditors it is
        optional."""
        return self in (Role.ADMIN, Role.INSPECTOR)


class UnitKind(enum.StrEnum):
    AGENCY = "agency"
    REGION = "region"
    CROSSING_POINT = "crossing_point"
    HEADQUARTERS = "headquarters"


class CrossingType(enum.StrEnum):
    LAND = "land"
    SEA = "sea"
    AIR = "air"


class ChannelState(enum.StrEnum):
    OPEN = "open"
    HIDDEN = "hidden"
    CLOSED = "closed"


def enum_column_type(values: type[enum.StrEnum], length: int) -> Enum:
    """A column type that holds members of ``values``: stored as their value in a VARCHAR of
    ``length``, refusing any other string on write. The CHECK constraint of the table (e.g.
    ``_one_of``) stays the database's own guard, so the type makes none."""
    return Enum(values, native_enum=False, create_constraint=False, length=length,
                values_callable=lambda members: [member.value for member in members],
                validate_strings=True)


def _one_of(column: str, values: type[enum.StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (_one_of("role", Role, "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column_type(Role, 16))
    # Argon2id hash of what the login form sends: the passphrase, or for inspectors a value
    # their browser derives from it (so the server never sees what unwraps their key).
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # The second-factor (TOTP) secret, sealed under a key from the installation secret held
    # outside the database (crypto/at_rest.py): a copy of the database gives no second factor.
    totp_sealed: Mapped[Optional[bytes]] = mapped_column(LargeBinary(96))
    # The last TOTP time step accepted, so a code cannot be replayed within its window.
    totp_last_step: Mapped[Optional[int]] = mapped_column(Integer)
    # An inspector's X25519 public key: reports are sealed to it. The private key never
    # reaches the server in clear (offline key file, or wrapped in the browser).
    public_key: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
    # The passphrase is split in the browser (docs/inspector-keys.md): the salt and cost of
    # that derivation, and the private key wrapped under the derived wrapping key.
    login_salt: Mapped[Optional[bytes]] = mapped_column(LargeBinary(16))
    login_opslimit: Mapped[Optional[int]] = mapped_column(Integer)
    login_memlimit: Mapped[Optional[int]] = mapped_column(Integer)
    wrapped_secret_key: Mapped[Optional[bytes]] = mapped_column(LargeBinary(72))
    # How wrapped_secret_key is wrapped: 1, under the passphrase alone; 2, under the passphrase
    # and the server's share (docs/inspector-keys.md#scheme-2). 1 becomes 2 at the next sign-in.
    key_scheme: Mapped[int] = mapped_column(Integer, default=2, server_default="1")
    # The organisation key's signature of public_key bound to this id (protocol 2 clients seal
    # only to signed keys); cleared whenever public_key changes.
    key_certificate: Mapped[Optional[bytes]] = mapped_column(LargeBinary(64))
    # Offline inspectors keep their key in a file and read cases with `integrity decrypt`.
    can_sign_in: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_on: Mapped[date] = mapped_column(Date, default=today)
    last_login_on: Mapped[Optional[date]] = mapped_column(Date)
    # Chosen on "My account": their pages and the e-mails sent to them use it (None: the
    # browser's preference for pages, the installation's first language for e-mails).
    language: Mapped[Optional[str]] = mapped_column(String(16))
    # How they are told of new cases and messages (integrity/notifications): "batch" (at the
    # installation's fixed times), "digest" (once a day at digest_hour, UTC) or "none".
    # Overdue notices are sent whatever this says.
    notify: Mapped[str] = mapped_column(String(8), default="batch", server_default="batch")
    digest_hour: Mapped[int] = mapped_column(Integer, default=7, server_default="7")

    sessions: Mapped[list[StaffSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @validates("public_key")
    def _new_key_is_not_certified(self, _key: str, public_key: bytes | None) -> bytes | None:
        # A certificate is for one key: a new key waits for its own signature.
        if public_key != self.public_key:
            self.key_certificate = None
        return public_key

    @property
    def totp_enabled(self) -> bool:
        return self.totp_sealed is not None


class StaffSession(Base):
    """A signed-in staff member; the cookie holds a token whose hash is stored here."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="sessions")


class Invitation(Base):
    """A one-time set-up link: only a hash of its token is kept, until it is used or expires."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class OrgUnit(Translatable, Base):
    """A node of the organisation: agency, region, border crossing point or headquarters."""

    __tablename__ = "org_units"
    __table_args__ = (
        _one_of("kind", UnitKind, "kind"),
        CheckConstraint(
            "crossing_type IS NULL OR crossing_type IN ('land', 'sea', 'air')",
            name="crossing_type",
        ),
        CheckConstraint("headcount >= 0", name="headcount"),
        UniqueConstraint("parent_id", "name", name="uq_org_units_parent_name"),
    )

    TRANSLATED = ("name",)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(enum_column_type(UnitKind, 20))
    crossing_type: Mapped[Optional[CrossingType]] = mapped_column(
        enum_column_type(CrossingType, 8))
    headcount: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Optional[OrgUnit]] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent")


channel_recipients = Table(
    "channel_recipients",
    Base.metadata,
    Column("channel_id", ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class QuestionKind(enum.StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    DATE = "date"
    YES_NO = "yes_no"

    @property
    def has_options(self) -> bool:
        return self in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)


class Installation(Base):
    """Parameters fixed when the installation is created (one row)."""

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Salt of the receipt derivation: published, fixed for the life of the installation.
    kdf_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    # Argon2id cost and padding block, fixed too: receipts and documents made under them must
    # keep opening whatever the settings say later.
    kdf_opslimit: Mapped[int] = mapped_column(Integer)
    kdf_memlimit: Mapped[int] = mapped_column(Integer)
    pad_block: Mapped[int] = mapped_column(Integer)
    recovery_public_key: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
    # The organisation key's signature of recovery_public_key.
    recovery_certificate: Mapped[Optional[bytes]] = mapped_column(LargeBinary(64))
    # Moved on by database triggers whenever anything a report's routing depends on changes
    # (channels, their recipients and categories, inspectors' keys, units, the two columns
    # above): a route read at one version still holds while the row shows that version.
    routing_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Channel(Translatable, Base):
    """A reporting channel: where reports go and who may read them."""

    __tablename__ = "channels"
    __table_args__ = (_one_of("state", ChannelState, "state"),)

    TRANSLATED = ("name", "description")

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    allow_exclusion: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int] = mapped_column(Integer, default=1825)
    # Cases closed as unsubstantiated or not in scope may be kept for less (None: as long).
    short_retention_days: Mapped[Optional[int]] = mapped_column(Integer)
    # Cases never closed are deleted this many days after filing (None: never).
    max_open_days: Mapped[Optional[int]] = mapped_column(Integer)
    # Days an inspector has to answer a reporter's request for a meeting or a call.
    meeting_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    asks_category: Mapped[bool] = mapped_column(Boolean, default=True)
    asks_unit: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[ChannelState] = mapped_column(enum_column_type(ChannelState, 8),
                                                default=ChannelState.OPEN)
    # Closing a case of this channel waits for a second inspector's confirmation (ISO 37002
    # 8.2: no one inspector decides a case's outcome alone).
    closing_needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False,
                                                             server_default=false())
    # A cleared person's data (name, steps, statements) is deleted this many days after they
    # were cleared (integrity/cases/persons.py), though the case itself is kept longer.
    person_deletion_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Months after a case closes at which the reporter's mailbox gets a check-in ("3,6,12";
    # empty: none), ISO 37002 8.4.3: whether retaliation followed the report.
    check_in_months: Mapped[str] = mapped_column(String(32), default="3,6,12",
                                                 server_default="3,6,12")

    categories: Mapped[list[Category]] = relationship(
        back_populates="channel", order_by="Category.position", cascade="all, delete-orphan"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="channel", order_by="Question.position", cascade="all, delete-orphan"
    )
    recipients: Mapped[list[User]] = relationship(secondary=channel_recipients,
                                                  order_by="User.name")
    # Where its "other ways to report, and your rights" page differs from the installation's.
    rights_page: Mapped[Optional[RightsPage]] = relationship(
        back_populates="channel", cascade="all, delete-orphan", passive_deletes=True)


class RecipientChange(Base):
    """A change to a channel's recipients that one administrator proposed and another must
    confirm before it applies (docs/administration.md#recipients)."""

    __tablename__ = "recipient_changes"
    __table_args__ = (UniqueConstraint("channel_id", "user_id",
                                       name="uq_recipient_changes_channel_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # True: the inspector is to be added; False: removed.
    adding: Mapped[bool] = mapped_column(Boolean)
    proposed_by_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    proposed_on: Mapped[date] = mapped_column(Date, default=today)

    channel: Mapped[Channel] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    proposed_by: Mapped[Optional[User]] = relationship(foreign_keys=[proposed_by_id])


class Category(Translatable, Base):
    """A kind of wrongdoing a reporter may pick; retired ones stay on old cases."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("channel_id", "slug", name="uq_categories_channel_slug"),)

    TRANSLATED = ("name",)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    channel: Mapped[Channel] = relationship(back_populates="categories")


class Question(Translatable, Base):
    """One field of a channel's questionnaire; its key names the answer inside the payload."""

    __tablename__ = "questions"
    __table_args__ = (
        _one_of("kind", QuestionKind, "kind"),
        UniqueConstraint("channel_id", "key", name="uq_questions_channel_key"),
    )

    TRANSLATED = ("label", "help_text", "options")

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[QuestionKind] = mapped_column(enum_column_type(QuestionKind, 20))
    label: Mapped[str] = mapped_column(String(500))
    help_text: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)

    channel: Mapped[Channel] = relationship(back_populates="questions")


class StoredSetting(Base):
    """A setting changed on the administration's settings page; it overrides the environment."""

    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # JSON text of the value (a number or a string).
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CampaignKind(enum.StrEnum):
    POSTERS = "posters"
    TRAINING = "training"
    E_LEARNING = "e_learning"
    LEADERSHIP = "leadership"  # messages from leadership


campaign_units = Table(
    "campaign_units",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("org_unit_id", ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Campaign(Translatable, Base):
    """An awareness campaign: what, when and for which units; the dashboard measures it."""

    __tablename__ = "campaigns"
    __table_args__ = (
        _one_of("kind", CampaignKind, "kind"),
        CheckConstraint("ends_on >= starts_on", name="dates"),
    )

    TRANSLATED = ("name",)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CampaignKind] = mapped_column(enum_column_type(CampaignKind, 16))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_on: Mapped[date] = mapped_column(Date, default=today)

    # The units named when the campaign was recorded; the units under them are reached too.
    org_units: Mapped[list[OrgUnit]] = relationship(secondary=campaign_units,
                                                    order_by="OrgUnit.name")


class RightsPage(Translatable, Base):
    """The page "Other ways to report, and your rights" (Directive 2019/1937 Art. 9(1)(g) and
    13, GDPR Art. 13): the installation's, or a channel's where it differs.

    A blank section of a channel's page shows the installation's; a blank section of the
    installation's shows the text the catalogs ship (integrity/rights.py).
    """

    __tablename__ = "rights_pages"

    TRANSLATED = ("other_ways", "protection", "controller", "data_protection_officer",
                  "legal_basis", "reporter_rights")

    id: Mapped[int] = mapped_column(primary_key=True)
    # "installation", or "channel:<id>": one page each.
    scope: Mapped[str] = mapped_column(String(32), unique=True)
    channel_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), unique=True)
    other_ways: Mapped[str] = mapped_column(Text, default="")
    protection: Mapped[str] = mapped_column(Text, default="")
    controller: Mapped[str] = mapped_column(Text, default="")
    data_protection_officer: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    reporter_rights: Mapped[str] = mapped_column(Text, default="")

    channel: Mapped[Optional[Channel]] = relationship(back_populates="rights_page")
