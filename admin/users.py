"""Staff accounts: invitations, roles, deactivation, and resetting a lost second factor.

Every change is recorded in the audit log by the function that makes it; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from admin.paging import Page, contains, paginate
from integrity.audit import record
from integrity.auth import invitations
from integrity.auth.services import UNUSABLE_PASSWORD_HASH, AccountError
from integrity.cases.persons import drop_reader_slots
from integrity.models import Invitation, Role, StaffSession, User, channel_recipients, utcnow
from integrity.reporting.models import KeySlot, Report, Status, report_readers
from integrity.reporting.tombstones import drop_reader as drop_reason_slots

MAX_REASON = 300


def list_users(session: Session, *, query: str = "", role: str = "", page: int = 1) -> Page[User]:
    """Staff accounts by name, filtered by part of the name or address and by role."""
    statement = select(User).order_by(User.name, User.id)
    if query:
        statement = statement.where(or_(contains(User.name, query), contains(User.email, query)))
    if role in set(Role):
        statement = statement.where(User.role == role)
    return paginate(session, statement, page)


def invitations_of(session: Session, users: list[User]) -> dict[int, Invitation]:
    """The unused set-up links of these users, by user id."""
    ids = [user.id for user in users]
    if not ids:
        return {}
    rows = session.scalars(select(Invitation).where(Invitation.user_id.in_(ids)))
    return {row.user_id: row for row in rows}


def invite(session: Session, actor: User, *, email: str, name: str, role: Role,
           hours: int, language: str | None = None) -> tuple[User, str]:
    """A new account and its one-time set-up link token (shown once, stored only hashed);
    ``language`` is the one its pages and e-mails use, the set-up link's first."""
    user, token = invitations.invite(session, email=email, name=name, role=role, hours=hours)
    user.language = language
    record(session, actor=actor, action="user_invited", subject=f"user:{user.id}",
           details={"role": role, "hours": hours})
    return user, token


def renew_link(session: Session, actor: User, user: User, hours: int) -> str:
    """A new set-up link for an account that has not been set up yet (the old one stops).

    An inspector added with only an offline key file (``integrity inspector add``) gets one
    too: with it they choose a passphrase and a second factor, and then sign in to
    acknowledge, assign and close cases, which needs no key; their key stays in its file,
    which the case page reads when they open a case."""
    if user.login_salt is not None:
        raise AccountError(_l("This account is already set up."))
    if not user.active:
        raise AccountError(_l("Reactivate the account first."))
    token = invitations.issue(session, user, hours)
    record(session, actor=actor, action="invitation_renewed", subject=f"user:{user.id}",
           details={"hours": hours})
    return token


def administrators_who_sign_in(session: Session) -> int:
    """How many active administrators can sign in."""
    return _signs_in_as_admin(session)


def _signs_in_as_admin(session: Session) -> int:
    return session.scalar(select(func.count(User.id)).where(
        User.role == Role.ADMIN, User.active.is_(True), User.can_sign_in.is_(True),
        User.login_salt.isnot(None))) or 0


def is_last_admin(session: Session, user: User) -> bool:
    """Whether ``user`` is the only active administrator who can sign in."""
    return (user.role == Role.ADMIN and user.active and user.login_salt is not None
            and _signs_in_as_admin(session) <= 1)


def _keep_an_admin(session: Session, user: User) -> None:
    if is_last_admin(session, user):
        raise AccountError(_l("This is the last active administrator: make another one first."))


def _end_sessions(session: Session, user: User) -> None:
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))


def deactivate(session: Session, actor: User, user: User) -> None:
    """Stop the account from signing in (and end its sessions); nothing is deleted."""
    if not user.active:
        raise AccountError(_l("This account is already deactivated."))
    if user.id == actor.id:
        raise AccountError(_l("You cannot deactivate your own account."))
    _keep_an_admin(session, user)
    user.active = False
    _end_sessions(session, user)
    record(session, actor=actor, action="user_deactivated", subject=f"user:{user.id}")


def reactivate(session: Session, actor: User, user: User) -> None:
    if user.active:
        raise AccountError(_l("This account is already active."))
    user.active = True
    record(session, actor=actor, action="user_reactivated", subject=f"user:{user.id}")


def change_role(session: Session, actor: User, user: User, role: Role) -> None:
    """Give ``user`` another role; their sessions end, so the new role's rules apply."""
    if user.role == role:
        raise AccountError(_l("The account already has this role."))
    if role is not Role.ADMIN:
        _keep_an_admin(session, user)
    before = user.role
    if before == Role.INSPECTOR:
        # Only inspectors receive reports: nothing new is sealed to this account any more.
        session.execute(delete(channel_recipients).where(
            channel_recipients.c.user_id == user.id))
    user.role = role
    _end_sessions(session, user)
    record(session, actor=actor, action="role_changed", subject=f"user:{user.id}",
           details={"from": before, "to": role})


@dataclass(frozen=True)
class CaseAtStake:
    """A case the inspector reads: who else can open it and share it with them again."""

    report_id: int
    reference: str  # how the pages name it: ids are long random numbers
    status: str
    created_on: date
    others: list[User]


def cases_at_stake(session: Session, user: User) -> list[CaseAtStake]:
    """Every case ``user`` reads, with the other readers who could still open it."""
    reports = session.scalars(
        select(Report).join(report_readers, report_readers.c.report_id == Report.id)
        .where(report_readers.c.user_id == user.id)
        .order_by(Report.created_on, Report.reference))
    return [CaseAtStake(report.id, report.reference, report.status, report.created_on,
                        [reader for reader in report.readers
                         if reader.id != user.id and reader.active
                         and reader.role == Role.INSPECTOR
                         and reader.public_key is not None])
            for report in reports]


@dataclass(frozen=True)
class ResetOutcome:
    to_share: list[CaseAtStake]
    unreadable: list[CaseAtStake]
    token: str | None


def reset_second_factor(session: Session, actor: User, user: User, reason: str, *,
                        passphrase_lost: bool, hours: int) -> ResetOutcome:
    """Remove a lost second factor; the account enrols a new one at its next sign-in.

    For an inspector it also discards the key pair: whoever asked for the reset gets no case
    with it. A new key is made at the next sign-in, and colleagues who read the inspector's
    cases share them again. With ``passphrase_lost``, the passphrase goes too and a new
    set-up link is issued.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise AccountError(_l("Say why the second factor is reset."))
    if len(reason) > MAX_REASON:
        raise AccountError(lazy_ngettext("Keep the reason under %(count)d character.",
                                         "Keep the reason under %(count)d characters.",
                                         MAX_REASON, count=MAX_REASON))
    if not user.can_sign_in:
        raise AccountError(_l("This account never signs in: it has no second factor."))
    cases = cases_at_stake(session, user) if user.role == Role.INSPECTOR else []
    to_share = [case for case in cases if case.others]
    unreadable = [case for case in cases if not case.others]
    if user.role == Role.INSPECTOR:
        _drop_key(session, user, [case.report_id for case in to_share])
    user.totp_sealed = None
    user.totp_last_step = None
    token = None
    if passphrase_lost:
        user.password_hash = UNUSABLE_PASSWORD_HASH
        user.login_salt = None
        token = invitations.issue(session, user, hours)
    _end_sessions(session, user)
    record(session, actor=actor, action="second_factor_reset", subject=f"user:{user.id}",
           details={"reason": reason, "new_key_needed": user.role == Role.INSPECTOR,
                    "cases_to_share_again": len(to_share), "cases_unreadable": len(unreadable),
                    "new_link": passphrase_lost})
    return ResetOutcome(to_share, unreadable, token)


def _drop_key(session: Session, user: User, shared_ids: list[int]) -> None:
    """Forget the inspector's key pair. Where a colleague can share a case again, the
    inspector stops being its reader (so the share is possible) and loses the key slots
    sealed to the old key; elsewhere the case stays in their list, unreadable."""
    user.public_key = None
    user.wrapped_secret_key = None
    if shared_ids:
        session.execute(delete(report_readers).where(
            report_readers.c.user_id == user.id, report_readers.c.report_id.in_(shared_ids)))
        session.execute(delete(KeySlot).where(
            KeySlot.reader == str(user.id), KeySlot.report_id.in_(shared_ids)))
        drop_reason_slots(session, shared_ids, user)
        drop_reader_slots(session, shared_ids, user)


def open_cases(cases: list[CaseAtStake]) -> list[CaseAtStake]:
    return [case for case in cases if case.status != Status.CLOSED]


def invitation_expired(invitation: Invitation | None) -> bool:
    return invitation is not None and invitation.expires_at <= utcnow()
