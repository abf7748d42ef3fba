"""Changes to a channel's recipients under a two-person rule.

Who receives a channel's reports decides who can read them, so one administrator alone does
not change it: a change (adding or removing an inspector) is proposed by one administrator,
shown to the others, and applied when another administrator confirms it. The proposer cannot
confirm their own change; any administrator, the proposer included, can decline it.

An installation with a single administrator who can sign in has nobody to confirm: there the
change applies at once, the page says so, and the audit entry records that no second
administrator confirmed it (docs/administration.md#two-administrators-for-recipients). The
command line (``integrity inspector add``) is the server operator's and applies at once too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.users import administrators_who_sign_in
from integrity.audit import record
from integrity.channels import ChannelError
from integrity.models import Channel, RecipientChange, Role, User, today


@dataclass(frozen=True)
class RecipientsOutcome:
    """What became of the recipients asked for: applied at once, or proposed."""

    applied: dict[str, list[int]]  # {"recipients_added": [...], "recipients_removed": [...]}
    proposed: int


def sole_administrator(session: Session) -> bool:
    """Whether no second administrator can confirm a change."""
    return administrators_who_sign_in(session) <= 1


def pending(session: Session, channel: Channel | None = None) -> list[RecipientChange]:
    """The changes waiting for a second administrator (of ``channel``, or of every channel)."""
    statement = select(RecipientChange).order_by(RecipientChange.id)
    if channel is not None:
        statement = statement.where(RecipientChange.channel_id == channel.id)
    return list(session.scalars(statement))


def ask_for(session: Session, actor: User, channel: Channel,
            wanted: Sequence[User]) -> RecipientsOutcome:
    """The recipients ``actor`` wants for ``channel``: each difference is proposed for a
    second administrator's confirmation, or, with no second administrator, applied."""
    before = {user.id: user for user in channel.recipients}
    after = {user.id: user for user in wanted}
    added = [after[i] for i in sorted(after.keys() - before.keys())]
    removed = [before[i] for i in sorted(before.keys() - after.keys())]
    if not added and not removed:
        return RecipientsOutcome({}, 0)
    if sole_administrator(session):
        channel.recipients = list(wanted)
        return RecipientsOutcome({"recipients_added": [u.id for u in added],
                                  "recipients_removed": [u.id for u in removed]}, 0)
    for user, adding in [(u, True) for u in added] + [(u, False) for u in removed]:
        _propose(session, actor, channel, user, adding)
    return RecipientsOutcome({}, len(added) + len(removed))


def _propose(session: Session, actor: User, channel: Channel, user: User, adding: bool) -> None:
    change = session.scalar(select(RecipientChange).where(
        RecipientChange.channel_id == channel.id, RecipientChange.user_id == user.id))
    if change is None:
        change = RecipientChange(channel_id=channel.id, user_id=user.id)
        session.add(change)
    # A new proposal for the same inspector replaces the one waiting, and starts again.
    change.adding, change.proposed_by_id, change.proposed_on = adding, actor.id, today()
    session.flush()
    record(session, actor=actor, action="recipient_change_proposed",
           subject=f"channel:{channel.slug}", details={"user": user.id, "adding": adding})


def confirm(session: Session, actor: User, change: RecipientChange) -> None:
    """A second administrator confirms ``change``: it applies now."""
    if change.proposed_by_id == actor.id:
        raise ChannelError(_l("Another administrator must confirm the change you proposed."))
    channel, user = change.channel, change.user
    if change.adding:
        if not (user.role == Role.INSPECTOR and user.active and user.public_key is not None):
            raise ChannelError(_l("Reports can go only to active inspectors who have a key."))
        if user not in channel.recipients:
            channel.recipients.append(user)
    elif user in channel.recipients:
        channel.recipients.remove(user)
    _close(session, actor, change, "recipient_change_confirmed")


def decline(session: Session, actor: User, change: RecipientChange) -> None:
    """Any administrator declines ``change`` (its proposer withdraws it): nothing applies."""
    _close(session, actor, change, "recipient_change_declined")


def _close(session: Session, actor: User, change: RecipientChange, action: str) -> None:
    record(session, actor=actor, action=action, subject=f"channel:{change.channel.slug}",
           details={"user": change.user_id, "adding": change.adding,
                    "proposed_by": change.proposed_by_id})
    session.delete(change)
    session.flush()
