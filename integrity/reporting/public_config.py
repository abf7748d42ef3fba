"""What reporters are offered: the open channels, their recipients, and the public
configuration a client needs to derive, seal and file (``GET /api/v1/config``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import Channel, ChannelState, OrgUnit, Role, User
from integrity.reporting import texts


def channel_recipients(channel: Channel) -> list[User]:
    """Inspectors a report in ``channel`` can be sealed to: active, with a public key."""
    return [
        user for user in channel.recipients
        if user.active and user.role == Role.INSPECTOR and user.public_key is not None
    ]


def open_channels(session: Session) -> list[Channel]:
    """Channels that take reports and are listed to reporters."""
    return list(session.scalars(
        select(Channel).where(Channel.state == ChannelState.OPEN).order_by(Channel.name)
    ))


def public_config(session: Session, settings: Settings,
                  unlisted: str | None = None) -> dict[str, Any]:
    """``GET /api/v1/config``: everything a client needs to derive, seal and file.

    Hidden channels are not listed, but still take reports sent to their slug; ``unlisted``
    names one to add (``?channel=slug``, from the form shared by its direct link)."""
    installation = get_installation(session, settings)
    org_units = session.scalars(select(OrgUnit).order_by(OrgUnit.parent_id, OrgUnit.name))
    channels = open_channels(session)
    if unlisted:
        channels += session.scalars(select(Channel).where(
            Channel.slug == unlisted, Channel.state == ChannelState.HIDDEN))
    return {
        "protocol": 1,
        "protocols": [1, 2],
        "salt": crypto.b64encode(installation.kdf_salt),
        "argon2id": {"opslimit": installation.kdf_opslimit, "memlimit": installation.kdf_memlimit},
        "pad_block": installation.pad_block,
        "recovery_key": crypto.b64encode(installation.recovery_public_key)
        if installation.recovery_public_key else None,
        "recovery_certificate": crypto.b64encode(installation.recovery_certificate)
        if installation.recovery_certificate else None,
        "pow_bits": settings.pow_bits,
        "max_attachment_bytes": settings.max_attachment_bytes,
        "max_attachments": settings.max_attachments,
        "max_report_attachment_bytes": settings.max_report_attachment_bytes,
        # Texts in the request's language (``?lang=``, else Accept-Language, else the default).
        "channels": [texts.channel_config(channel, channel_recipients(channel))
                     for channel in channels],
        "org_units": [texts.unit_config(org_unit) for org_unit in org_units],
    }
