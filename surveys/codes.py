"""One-time anonymous access codes: issued per unit, stored only as a keyed hash.

A code is 12 characters of Crockford's base32 (no I, L, O or U; typed O reads as 0, I and L
as 1), shown in three groups of four: 60 random bits. The database keeps HMAC-SHA256 of it
under the installation's secret key, the wave, the unit and a used flag; nothing else.
Without the secret key (which is not in the database) a copy of the database cannot even
test whether a given code is among them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlencode

from flask_babel import force_locale, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from integrity.config import Settings
from integrity.i18n import LANGUAGE_ARG, language_choices
from integrity.models import OrgUnit, User
from surveys.models import AccessCode, Recipient, Survey, Wave, WaveState
from surveys.waves import SurveyError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
GROUP = 4
MAX_CODES_PER_UNIT = 5000
_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SYSTEM_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True)
class IssuedCode:
    """A code as it is handed out, once: printed on a slip or sent in one e-mail."""

    code: str
    org_unit_id: int
    org_unit_name: str


def generate_code() -> str:
    """A fresh random code, grouped for reading: ``7KQ2-M9XD-4RTB``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalise_code(text: str) -> str | None:
    """The code's 12 characters as typed (any case, spaces or dashes), or None if it is none."""
    compact = "".join(text.split()).replace("-", "").upper().translate(_READS_AS)
    if len(compact) != CODE_LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return compact


def format_code(code: str) -> str:
    compact = normalise_code(code) or code
    return "-".join(compact[i:i + GROUP] for i in range(0, len(compact), GROUP))


def code_hash(secret: bytes, code: str) -> bytes:
    """HMAC-SHA256 of the normalised code under the installation's secret key."""
    compact = normalise_code(code)
    if compact is None:
        raise SurveyError(_l("An access code has 12 letters and digits."))
    return hmac.new(secret, b"integrity-survey-code:" + compact.encode(), hashlib.sha256).digest()


def survey_link(public_url: str, code: str | None = None, language: str | None = None) -> str:
    """The address a respondent opens, with the code filled in when given (QR codes, e-mail),
    and the language of the slip or message, so the page opens in it without a sign-in."""
    query = {"code": format_code(code)} if code else {}
    if language:
        query[LANGUAGE_ARG] = language
    base = public_url.rstrip("/") + "/survey"
    return f"{base}?{urlencode(query)}" if query else base


def hand_out_addresses(public_url: str, survey_id: int) -> list[tuple[str, str, str]]:
    """An open-link survey's address in each configured language: (code, name, address), each
    opening the survey in its language for someone who is not signed in."""
    base = f"{public_url.rstrip('/')}/survey/open/{survey_id}"
    return [(code, name, f"{base}?{urlencode({LANGUAGE_ARG: code})}")
            for code, name in language_choices()]


def _too_many_codes() -> str:
    return str(lazy_ngettext("Issue between 1 and %(count)d code per unit at a time.",
                             "Issue between 1 and %(count)d codes per unit at a time.",
                             MAX_CODES_PER_UNIT, count=MAX_CODES_PER_UNIT))


def _check_wave(wave: Wave) -> None:
    if wave.state == WaveState.CLOSED:
        raise SurveyError(_l("Codes cannot be issued for a closed wave."))


def _store(session: Session, secret: bytes, wave: Wave, org_unit: OrgUnit,
           codes: list[str]) -> None:
    rows = [AccessCode(code_hash=code_hash(secret, code), wave_id=wave.id, org_unit_id=org_unit.id,
                       used=False) for code in codes]
    # Inserted in random order: where a row lands says nothing of which slip or address.
    _SYSTEM_RANDOM.shuffle(rows)
    session.add_all(rows)
    session.flush()


def issue_codes(
    session: Session, secret: bytes, wave: Wave, counts: Mapping[OrgUnit, int]
) -> list[IssuedCode]:
    """``counts[unit]`` fresh codes for each unit; the only time the codes exist in clear."""
    _check_wave(wave)
    for count in counts.values():
        if not 1 <= count <= MAX_CODES_PER_UNIT:
            raise SurveyError(_too_many_codes())
    issued: list[IssuedCode] = []
    for org_unit, count in counts.items():
        codes = _fresh_codes(count)
        _store(session, secret, wave, org_unit, codes)
        issued.extend(IssuedCode(code, org_unit.id, org_unit.name) for code in codes)
    return issued


def _fresh_codes(count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(generate_code())
    return list(codes)


def find_code(session: Session, secret: bytes, text: str) -> AccessCode | None:
    """The stored code matching what the respondent typed, if any."""
    if normalise_code(text) is None:
        return None
    return session.get(AccessCode, code_hash(secret, text))


def redeem_code(session: Session, code: AccessCode) -> bool:
    """Mark ``code`` used unless it already is; False when another submission got there first.

    A conditional UPDATE: of two submissions racing with one code, the second waits for the
    first's transaction and then matches no row, whatever the database.
    """
    result = session.execute(
        update(AccessCode)
        .where(AccessCode.code_hash == code.code_hash, AccessCode.used.is_(False))
        .values(used=True)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


# ---------------------------------------------------------------- e-mail


@dataclass(frozen=True)
class Mailing:
    sent: int
    failed: list[int]  # positions in the address list that could not be sent to


def survey_title(survey: Survey, language: str) -> str:
    """The survey's title as written in ``language``, else in the default language."""
    return survey.text("title", language)


def code_message(settings: Settings, title: str, org_unit: OrgUnit, code: str, address: str,
                 language: str) -> EmailMessage:
    """The e-mail carrying one code, written in ``language`` (``title`` is the survey's in
    that language): the link with the code, the code, what is kept."""
    with force_locale(language):
        message = EmailMessage()
        message["From"] = settings.mail_sender
        message["To"] = address
        message["Subject"] = str(_l("Your access code for the survey “%(title)s”", title=title))
        message.set_content("\n\n".join(str(part) for part in (
            _l("You are invited to answer the anonymous survey “%(title)s”.", title=title),
            _l("Open this address to answer:"),
            "    " + survey_link(settings.public_url, code, language),
            _l("Or open %(address)s and type this code: %(code)s",
               address=survey_link(settings.public_url, language=language),
               code=format_code(code)),
            _l("The code can be used once. It counts your answers for %(unit)s and for nothing "
               "else: the system keeps no list of who received which code, and stores your "
               "answers without the code. This address is kept only to remind you of the survey "
               "while it is open, and is deleted when it closes.",
               unit=org_unit.text("name", language)),
        )) + "\n")
    message["Content-Language"] = language  # after the content, which resets such headers
    return message


def respondent_languages(session: Session, settings: Settings, addresses: Sequence[str],
                         default: str | None = None) -> dict[str, str]:
    """The language to write to each address in: that of the staff account with the address
    (if still offered), else ``default``, else the installation's default language."""
    fallback = default if default in settings.languages else settings.languages[0]
    lowered = {address.lower() for address in addresses}
    stored = {email.lower(): language for email, language in session.execute(
        select(User.email, User.language).where(func.lower(User.email).in_(lowered)))
        if language in settings.languages}
    return {address: stored.get(address.lower(), fallback) for address in addresses}


def email_codes(
    session: Session, secret: bytes, settings: Settings, wave: Wave, org_unit: OrgUnit,
    addresses: Sequence[str], language: str | None = None,
) -> Mailing:
    """Send one fresh code to each address, in its language (``respondent_languages``);
    only the codes actually sent are stored.

    The addresses reached are kept, with their language, until the wave closes, for its
    reminders (surveys/reminders.py); nothing records which code went where (codes are stored
    in random order, and apart from the addresses).
    """
    from integrity.mail import Mailer, MailError

    _check_wave(wave)
    for number, raw in enumerate(addresses, start=1):
        address = raw.strip()
        if address and ("@" not in address or any(c.isspace() for c in address)
                        or len(address) > 254):
            raise SurveyError(_l("Line %(number)d is not an e-mail address.", number=number))
    # One code per person, however often (and in whatever case) the address appears.
    unique: dict[str, str] = {}
    for raw in addresses:
        if raw.strip():
            unique.setdefault(raw.strip().lower(), raw.strip())
    wanted = list(unique.values())
    if not wanted:
        raise SurveyError(_l("Give at least one e-mail address."))
    if len(wanted) > MAX_CODES_PER_UNIT:
        raise SurveyError(_too_many_codes())
    languages = respondent_languages(session, settings, wanted, language)
    titles = {code: survey_title(wave.survey, code) for code in set(languages.values())}
    sent: list[str] = []
    reached: dict[str, str] = {}
    failed: list[int] = []
    with Mailer(settings) as mailer:
        for number, (address, code) in enumerate(
                zip(wanted, _fresh_codes(len(wanted)), strict=True), start=1):
            try:
                mailer.send(code_message(settings, titles[languages[address]], org_unit, code,
                                         address, languages[address]))
            except MailError:
                failed.append(number)
                continue
            sent.append(code)
            reached[address] = languages[address]
    if sent:
        _store(session, secret, wave, org_unit, sent)
        _keep_recipients(session, wave, org_unit, reached)
    return Mailing(len(sent), failed)


def _keep_recipients(session: Session, wave: Wave, org_unit: OrgUnit,
                     languages: Mapping[str, str]) -> None:
    """Keep each address reached (``languages``: address -> the language it was written in)
    for the wave's reminders, once however often it is sent to; not the code it got."""
    known = {address.lower() for address in session.scalars(select(Recipient.address).where(
        Recipient.wave_id == wave.id, Recipient.org_unit_id == org_unit.id))}
    rows = []
    for address, language in languages.items():
        if address.lower() not in known:
            known.add(address.lower())
            rows.append(Recipient(wave_id=wave.id, org_unit_id=org_unit.id, address=address,
                                  language=language))
    _SYSTEM_RANDOM.shuffle(rows)
    session.add_all(rows)
    session.flush()
