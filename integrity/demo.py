"""Demo data for trying the system out: organisation, a channel, one account per role.

The credentials are fixed and published in the README, so never load this into a real
installation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import KeyPair
from integrity.auth.services import Hasher, create_user
from integrity.catalog_texts import in_language, set_shipped
from integrity.channels import add_channel
from integrity.config import Settings
from integrity.models import Category, Channel, CrossingType, OrgUnit, Role, UnitKind, User
from integrity.translated import default_language


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
# The channel's and categories' texts are catalog messages: the demo shows them in the
# default language, translated into the others (integrity.catalog_texts).
CHANNEL_NAME = _l("Integrity and anti-corruption")
CHANNEL_DESCRIPTION = _l("Report bribery, collusion in smuggling, abuse of authority and other "
                         "breaches of integrity by staff of the border and customs services.")
CATEGORIES = (
    ("bribery", _l("Bribery or facilitation payment")),
    ("extortion", _l("Extortion")),
    ("smuggling-collusion", _l("Collusion in smuggling")),
    ("waving-through", _l("Waving through without checks")),
    ("document-fraud", _l("Document fraud")),
    ("abuse-of-authority", _l("Abuse of authority")),
    ("conflict-of-interest", _l("Conflict of interest")),
    ("favouritism-in-postings", _l("Favouritism in postings")),
    ("theft-of-seized-goods", _l("Theft of seized goods")),
    ("retaliation", _l("Retaliation against a reporter")),
    ("other", _l("Other")),
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
    org_unit = session.scalar(select(OrgUnit).where(OrgUnit.name == name, same_parent))
    if org_unit is None:
        org_unit = OrgUnit(
            parent_id=parent_id,
            name=name,
            kind=kind,
            crossing_type=crossing_type,
            headcount=headcount,
        )
        session.add(org_unit)
        session.flush()
    return org_unit


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
        channel = add_channel(session, INTEGRITY_CHANNEL,
                              in_language(CHANNEL_NAME, default_language()),
                              allow_exclusion=True)
        set_shipped(channel, {"name": CHANNEL_NAME, "description": CHANNEL_DESCRIPTION})
    known = {category.slug for category in channel.categories}
    for position, (slug, name) in enumerate(CATEGORIES):
        if slug not in known:
            category = Category(slug=slug, position=position)
            set_shipped(category, {"name": name})
            channel.categories.append(category)
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


def load_inspector_key(session: Session, hasher: Hasher, channel: Channel) -> None:
    """Give the demo inspector its (published) key, wrapped under the demo passphrase as a
    key made in the browser is, and make it a recipient of the channel."""
    account = next(a for a in DEMO_ACCOUNTS if a.role is Role.INSPECTOR)
    inspector = session.scalar(select(User).where(User.email == account.email))
    if inspector is None:
        return
    if inspector.public_key is None:
        inspector.public_key = DEMO_INSPECTOR_KEY.public_key
    if (inspector.wrapped_secret_key is None
            and inspector.public_key == DEMO_INSPECTOR_KEY.public_key):
        inspector.wrapped_secret_key = _wrapped_demo_key(hasher, inspector, account.password)
        # Under the passphrase alone: the first sign-in re-wraps it with the server's share.
        inspector.key_scheme = 1
    if inspector not in channel.recipients:
        channel.recipients.append(inspector)
    session.flush()


def _wrapped_demo_key(hasher: Hasher, inspector: User, passphrase: str) -> bytes | None:
    """The demo key wrapped with the wrapping key the sign-in page derives from ``passphrase``
    (docs/inspector-keys.md); None once the account signs in with another passphrase."""
    import crypto

    if not inspector.login_salt or not inspector.login_opslimit or not inspector.login_memlimit:
        return None
    keys = crypto.derive_staff_keys(passphrase, inspector.login_salt, inspector.login_opslimit,
                                    inspector.login_memlimit)
    if not hasher.verify_login(inspector.password_hash, crypto.login_value(keys)):
        return None
    return crypto.wrap_private_key(DEMO_INSPECTOR_KEY.secret_key, keys.wrapping_key)


# The demo organisation key, fixed and therefore public: pinned only where no key is pinned,
# so that a demo installation speaks protocol 2 (docs/protocol.md). Never a real one's key.
DEMO_ORG_SEED = bytes.fromhex("d4" * 32)


def load_demo_org_key(session: Session, settings: Settings) -> bool:
    """Pin the demo organisation key when none is pinned (True when pinned now), and, while it
    is the pinned key, certify the active inspectors' keys that have no certificate of it."""
    from crypto.certificates import OrgKey, sign_inspector_key
    from integrity.org_key import certified, pin_org_key

    org = OrgKey.from_seed(DEMO_ORG_SEED)
    pinned = settings.load_org_public_key()
    pinned_now = False
    if pinned is None:
        pinned_now = pin_org_key(settings, org.public_key)
        pinned = org.public_key
    if pinned != org.public_key:
        return False
    inspectors = session.scalars(select(User).where(
        User.role == Role.INSPECTOR, User.active.is_(True), User.public_key.isnot(None)))
    for user in inspectors:
        if user.public_key is not None and not certified(user, pinned):
            user.key_certificate = sign_inspector_key(org, str(user.id), user.public_key)
    session.flush()
    return pinned_now


def load(session: Session, hasher: Hasher) -> list[DemoAccount]:
    """Load every piece of demo data; running it again adds nothing twice."""
    load_organisation(session)
    channel = load_channel(session)
    created = load_accounts(session, hasher)
    load_inspector_key(session, hasher, channel)
    from surveys.demo import load_demo_survey

    load_demo_survey(session)
    load_demo_cases(session)
    load_demo_feature_cases(session)
    load_demo_campaigns(session)
    return created


# --- the dashboard: cases over the last eighteen months, campaigns, one more survey wave ------

DEMO_CAMPAIGN = _l("Speak-up posters at the northern crossings")
WHAT = (
    "A driver was asked for cash to skip the inspection queue.",
    "Seized cigarettes went missing from the store room.",
    "A shift supervisor lets one broker's trucks through without checks.",
    "Postings to the airport are said to be bought.",
    "An officer stamps passports without looking at the travellers.",
)


FEEDBACK_TEXT = ("We have checked the shift rosters and interviewed staff; the officers "
                 "concerned are moved to other duties while the inquiry goes on.")
FINAL_NOTICE_TEXT = "The inquiry is over. Its outcome and the measures taken are set out below."
REPORTER_TEXT = "I can tell you more: it happens on the night shift."


def load_demo_cases(session: Session, count: int = 240) -> None:
    """Sealed demo cases of protocol 2 (docs/protocol.md), readable by the demo inspector, with
    deadlines met and missed; a reporter's message in some, and the inspector's feedback and
    final notice wherever the case records them, in its authenticated thread."""
    import os
    import random
    from datetime import timedelta

    from crypto import threads
    from crypto.thread_documents import report_document
    from integrity.demo_cases import sealed_document, thread_message
    from integrity.models import Installation, today
    from integrity.reporting.models import KeySlot, Report, report_readers

    email = next(a.email for a in DEMO_ACCOUNTS if a.role is Role.INSPECTOR)
    inspector = session.scalar(select(User).where(User.email == email))
    channel = session.scalar(select(Channel).where(Channel.slug == INTEGRITY_CHANNEL))
    if inspector is None or channel is None or inspector.public_key is None:
        return
    if session.scalar(select(Report.id).where(Report.channel_id == channel.id).limit(1)):
        return
    pad_block = session.scalar(select(Installation.pad_block)) or 1024
    org_units = list(session.scalars(select(OrgUnit).where(OrgUnit.headcount > 0)))
    northern = {u.id for u in org_units if u.parent and u.parent.name.startswith("Northern")}
    categories = list(channel.categories)
    rng = random.Random(1937)  # noqa: S311 (demo data, not secrets)
    day = today()
    campaign_end = day - timedelta(days=70)
    for _ in range(count):
        age = rng.randrange(0, 540)
        created = day - timedelta(days=age)
        org_unit = rng.choice(org_units) if rng.random() < 0.9 else None
        if (org_unit is not None and org_unit.id in northern and created > campaign_end
                and rng.random() < 0.5):
            age = rng.randrange(0, 70)  # the posters brought more reports from the north
            created = day - timedelta(days=age)
        category = rng.choice(categories)
        reporter_key = os.urandom(32)  # a reporter no one is: their mailbox never opens
        secret = threads.new_thread_secret()
        route = (channel.slug, category.slug, str(org_unit.id) if org_unit else None)
        document = report_document({"what": rng.choice(WHAT), "ongoing": "yes"}, [], "en", secret,
                                   reporter_key, route, {str(inspector.id): inspector.public_key},
                                   [], None)
        readers = {str(inspector.id): inspector.public_key, "reporter": reporter_key}
        payload, slots = sealed_document(document, readers, pad_block)
        acknowledged: date | None = created + timedelta(days=rng.choice([1, 2, 3, 5, 7, 9, 12]))
        if acknowledged is not None and (acknowledged > day or rng.random() > 0.95):
            acknowledged = None
        feedback = (acknowledged + timedelta(days=rng.randrange(15, 110))
                    if acknowledged else None)
        feedback = feedback if feedback and feedback <= day else None
        closed = (feedback + timedelta(days=rng.randrange(0, 60))
                  if feedback and rng.random() < 0.7 else None)
        closed = closed if closed and closed <= day else None
        status = "closed" if closed else "in_progress" if acknowledged else "new"
        report = Report(channel_id=channel.id, category_id=category.id,
                        org_unit_id=org_unit.id if org_unit else None, created_on=created,
                        lookup_hash=os.urandom(32), protocol=2, payload=payload,
                        status=status, acknowledged_on=acknowledged,
                        feedback_on=feedback, closed_on=closed,
                        outcome=rng.choice(["substantiated", "partly_substantiated",
                                            "unsubstantiated", "unsubstantiated",
                                            "not_in_scope"]) if closed else None)
        session.add(report)
        session.flush()
        session.execute(report_readers.insert().values(report_id=report.id,
                                                       user_id=inspector.id))
        session.add_all(KeySlot(report_id=report.id, reader=reader, slot=slot)
                        for reader, slot in slots.items())
        # The thread, in its order: a reporter's message in some cases, then the inspector's
        # feedback on the day feedback was given, and the final notice on the day of closing.
        thread: list[tuple[str, str, date]] = []
        if acknowledged and rng.random() < 0.4:
            thread.append(("message", REPORTER_TEXT,
                           min(day, acknowledged + timedelta(days=3))))
        if feedback:
            thread.append(("feedback", FEEDBACK_TEXT, feedback))
        if closed:
            thread.append(("final_notice", FINAL_NOTICE_TEXT, closed))
        last = None
        for kind, text, sent_on in thread:
            last, _message = thread_message(session, report, secret, readers, pad_block, last,
                                            None if kind == "message" else inspector, kind, text,
                                            sent_on)
        report.final_notice_on = closed
    session.flush()


def load_demo_feature_cases(session: Session) -> None:
    """The cases that show the case features (integrity/demo_cases.py), beside the demo cases
    and linked to some of them; only while the demo inspector has the published key."""
    from integrity.demo_cases import load_feature_cases

    email = next(a.email for a in DEMO_ACCOUNTS if a.role is Role.INSPECTOR)
    inspector = session.scalar(select(User).where(User.email == email))
    channel = session.scalar(select(Channel).where(Channel.slug == INTEGRITY_CHANNEL))
    if (inspector is not None and channel is not None
            and inspector.public_key == DEMO_INSPECTOR_KEY.public_key):
        load_feature_cases(session, inspector, channel, DEMO_INSPECTOR_KEY.secret_key)


def load_demo_campaigns(session: Session) -> None:
    """Two campaigns, and a survey wave after the first so that its effect can be read."""
    from datetime import timedelta

    from integrity.models import Campaign, today

    if session.scalar(select(Campaign.id).where(
            Campaign.name == in_language(DEMO_CAMPAIGN, default_language()))):
        return
    day = today()
    regions = list(session.scalars(select(OrgUnit).where(OrgUnit.kind == UnitKind.REGION)))
    north = [u for u in regions if u.name.startswith("Northern")]
    agencies = list(session.scalars(select(OrgUnit).where(OrgUnit.kind
                                                         == UnitKind.AGENCY)))
    if not north or not agencies:
        return
    # The notes are not translated (only managers read them): the default language's text.
    posters = Campaign(kind="posters", starts_on=day - timedelta(95),
                       ends_on=day - timedelta(70), org_units=north,
                       note=in_language(_l("Posters with the reporting QR code in every booth "
                                           "and canteen."), default_language()))
    set_shipped(posters, {"name": DEMO_CAMPAIGN})
    learning = Campaign(kind="e_learning", starts_on=day - timedelta(30),
                        ends_on=day - timedelta(12), org_units=agencies,
                        note=in_language(_l("A 40-minute module on gifts and reporting."),
                                         default_language()))
    set_shipped(learning, {"name": _l("Integrity e-learning for all staff")})
    session.add_all([posters, learning])
    session.flush()
    _wave_after_campaign(session, {u.id for r in north for u in r.children}, day)


def _wave_after_campaign(session: Session, north: set[int], day: date) -> None:
    """A closed wave between the campaign and the open demo wave; the north answers better."""
    import math
    import random
    from datetime import timedelta

    from flask import current_app, has_app_context
    from sqlalchemy import update

    from surveys.bank import load_template
    from surveys.codes import issue_codes
    from surveys.demo import TEMPLATE
    from surveys.demo import _simulated_answers as simulated  # the demo survey's simulation
    from surveys.models import AccessCode, Survey, WaveState
    from surveys.services import check_answers, store_response
    from surveys.waves import create_wave

    definition = load_template(TEMPLATE)
    survey = session.scalar(select(Survey).where(Survey.title == definition.title))
    if survey is None or not has_app_context():
        return
    org_units = list(session.scalars(select(OrgUnit).where(OrgUnit.headcount > 0)
                                     .order_by(OrgUnit.id)))
    wave = create_wave(session, survey, day - timedelta(62), day - timedelta(42))
    secret = str(current_app.secret_key).encode()
    issue_codes(session, secret, wave, {u: math.ceil(u.headcount * 0.9) for u in org_units})
    rng = random.Random(2027)  # noqa: S311 (simulated answers, not secrets)
    for org_unit in org_units:
        climate = rng.gauss(0, 0.6) + (0.9 if org_unit.id in north else 0.0)
        answered = round(math.ceil(org_unit.headcount * 0.9) * rng.uniform(0.5, 0.75))
        for _ in range(answered):
            form = simulated(definition, rng, climate + rng.gauss(0, 1))
            store_response(session, wave, org_unit.id, check_answers(definition, form))
        used = select(AccessCode.code_hash).where(
            AccessCode.wave_id == wave.id, AccessCode.org_unit_id == org_unit.id).limit(answered)
        session.execute(update(AccessCode).where(AccessCode.code_hash.in_(used))
                        .values(used=True).execution_options(synchronize_session=False))
    # Made after the fact, so never opened through the scheduler: closed as it is stored.
    wave.state = WaveState.CLOSED
    session.flush()
