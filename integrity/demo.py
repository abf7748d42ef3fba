"""Demo data for trying the system out: organisation, a channel, one account per role.

The credentials are fixed and published in the README, so never load this into a real
installation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import KeyPair
from integrity.auth.services import Hasher, create_user
from integrity.channels import add_channel
from integrity.models import Category, Channel, CrossingType, OrgUnit, Role, UnitKind, User


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    email: str
    name: str
    password: str
    totp_secret: str | None


DEMO_ACCOUNTS = (
    DemoAccount(
        Role.ADMIN, "admin@demo.invalid", "Alex Admin", "demo-admin-passphrase",
        "DEMOADMINDEMOADMINDEMOADMINDEMOA",
    ),
    DemoAccount(
        Role.INSPECTOR, "inspector@demo.invalid", "Ines Inspector", "demo-inspector-passphrase",
        "DEMOINSPECTORDEMOINSPECTORDEMOIN",
    ),
    DemoAccount(
        Role.MANAGER, "manager@demo.invalid", "Mara Manager", "demo-manager-passphrase", None
    ),
)

# (agency, [(region, [(crossing point, type, headcount), ...]), ...], headquarters headcount)
ORGANISATION = (
    (
        "State Border Guard",
        [
            ("Northern Region", [
                ("Kalna road crossing", CrossingType.LAND, 64),
                ("Kalna rail crossing", CrossingType.LAND, 22),
                ("Port of Veru", CrossingType.SEA, 48),
            ]),
            ("Southern Region", [
                ("Dravik road crossing", CrossingType.LAND, 57),
                ("Sotra International Airport", CrossingType.AIR, 93),
            ]),
        ],
        120,
    ),
    (
        "Customs Service",
        [
            ("Northern Customs District", [
                ("Kalna customs post", CrossingType.LAND, 38),
                ("Port of Veru customs", CrossingType.SEA, 41),
            ]),
            ("Southern Customs District", [
                ("Dravik customs post", CrossingType.LAND, 29),
                ("Sotra airport cargo terminal", CrossingType.AIR, 52),
            ]),
        ],
        85,
    ),
)

INTEGRITY_CHANNEL = "integrity"
CATEGORIES = (
    ("bribery", "Bribery or facilitation payment"),
    ("extortion", "Extortion"),
    ("smuggling-collusion", "Collusion in smuggling"),
    ("waving-through", "Waving through without checks"),
    ("document-fraud", "Document fraud"),
    ("abuse-of-authority", "Abuse of authority"),
    ("conflict-of-interest", "Conflict of interest"),
    ("favouritism-in-postings", "Favouritism in postings"),
    ("theft-of-seized-goods", "Theft of seized goods"),
    ("retaliation", "Retaliation against a reporter"),
    ("other", "Other"),
)


def _unit(
    session: Session,
    parent: OrgUnit | None,
    name: str,
    kind: UnitKind,
    crossing_type: CrossingType | None = None,
    headcount: int = 0,
) -> OrgUnit:
    parent_id = parent.id if parent is not None else None
    same_parent = (
        OrgUnit.parent_id.is_(None) if parent_id is None else OrgUnit.parent_id == parent_id
    )
    unit = session.scalar(select(OrgUnit).where(OrgUnit.name == name, same_parent))
    if unit is None:
        unit = OrgUnit(
            parent_id=parent_id,
            name=name,
            kind=kind.value,
            crossing_type=crossing_type.value if crossing_type else None,
            headcount=headcount,
        )
        session.add(unit)
        session.flush()
    return unit


def load_organisation(session: Session) -> None:
    for agency_name, regions, hq_headcount in ORGANISATION:
        agency = _unit(session, None, agency_name, UnitKind.AGENCY)
        _unit(session, agency, f"{agency_name} headquarters", UnitKind.HEADQUARTERS,
              headcount=hq_headcount)
        for region_name, crossings in regions:
            region = _unit(session, agency, region_name, UnitKind.REGION)
            for name, crossing_type, headcount in crossings:
                _unit(session, region, name, UnitKind.CROSSING_POINT, crossing_type, headcount)


def load_channel(session: Session) -> Channel:
    channel = session.scalar(select(Channel).where(Channel.slug == INTEGRITY_CHANNEL))
    if channel is None:
        channel = add_channel(
            session, INTEGRITY_CHANNEL, "Integrity and anti-corruption",
            allow_exclusion=True,
            description=(
                "Report bribery, collusion in smuggling, abuse of authority and other breaches "
                "of integrity by staff of the border and customs services."
            ),
        )
    known = {category.slug for category in channel.categories}
    for position, (slug, name) in enumerate(CATEGORIES):
        if slug not in known:
            channel.categories.append(Category(slug=slug, name=name, position=position))
    session.flush()
    return channel


def load_accounts(session: Session, hasher: Hasher) -> list[DemoAccount]:
    """Create the demo accounts that do not exist yet; returns those created."""
    created = []
    for account in DEMO_ACCOUNTS:
        if session.scalar(select(User.id).where(User.email == account.email)) is None:
            create_user(
                session, hasher, email=account.email, name=account.name, role=account.role,
                password=account.password, totp_secret=account.totp_secret,
            )
            created.append(account)
    return created


# The demo inspector's key pair, fixed and therefore public: demo reports are not secret.
DEMO_INSPECTOR_KEY = KeyPair.from_secret_key(bytes.fromhex("d3" * 32))


def load_inspector_key(session: Session, channel: Channel) -> None:
    """Give the demo inspector its (published) key and make it a recipient of the channel."""
    email = next(a.email for a in DEMO_ACCOUNTS if a.role is Role.INSPECTOR)
    inspector = session.scalar(select(User).where(User.email == email))
    if inspector is None:
        return
    if inspector.public_key is None:
        inspector.public_key = DEMO_INSPECTOR_KEY.public_key
    if inspector not in channel.recipients:
        channel.recipients.append(inspector)
    session.flush()


def load(session: Session, hasher: Hasher) -> list[DemoAccount]:
    """Load every piece of demo data; running it again adds nothing twice."""
    load_organisation(session)
    channel = load_channel(session)
    created = load_accounts(session, hasher)
    load_inspector_key(session, channel)
    from surveys.demo import load_demo_survey

    load_demo_survey(session)
    return created
