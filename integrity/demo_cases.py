"""Demo cases that show what a case holds besides its report and thread (README.md, "What the
demo cases show"): a closed case with persons concerned, check-ins, a legal hold and a deleted
message's tombstone; the report of retaliation its reporter made later, with a risk assessment,
a protective measure and a request for a call waiting for an answer; two oral reports, one
record waiting for the reporter's agreement and one agreed; and reports of retaliation over the
last four quarters, enough for the dashboard's retaliation table to show its figures.

Each feature is stored by its own service (integrity/cases/), given what a browser would send:
documents sealed here to the case's readers (the demo inspector, whose key is published, and
the recovery key when one is configured) and, in protocol 2, their links. The services date
what they store today; the demo moves those days back to where the case's story puts them.
The audit entries the services write keep the day the demo was loaded.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from flask import has_app_context
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

import crypto
from crypto import threads
from crypto.framing import generichash
from crypto.thread_documents import message_document, report_document, report_thread
from integrity import current
from integrity.cases.check_ins import schedule_check_ins
from integrity.cases.meetings import request_meeting
from integrity.cases.person_models import Person
from integrity.cases.persons import add_person, add_step
from integrity.cases.protection import post_record as post_protection
from integrity.cases.protection_models import CheckIn, CheckInState, RecordKind
from integrity.cases.records import agree_record
from integrity.cases.redaction import delete_message
from integrity.cases.retaliation import WHAT_HAPPENED, store_retaliation
from integrity.cases.retention import place_hold
from integrity.cases.thread import post_record
from integrity.dashboard.kpis import KpiQuery
from integrity.installation import get_installation
from integrity.models import Category, Channel, OrgUnit, User, today
from integrity.reporting.links import NOTES, THREAD
from integrity.reporting.mailbox import current_recipients, post_reporter_message
from integrity.reporting.models import (
    KeySlot,
    Message,
    MessageKind,
    Outcome,
    Report,
    Status,
    report_readers,
)
from integrity.reporting.routing import RECOVERY, REPORTER

# Fixed references, so that the README can say which case to open ("Go to case"), and fixed
# receipts for the reporters' side. Published like the demo passphrases: demo cases only.
CLOSED_CASE, RETALIATION_CASE = "TRY2-CASE", "TRY2-RETA"
ORAL_AWAITING, ORAL_AGREED = "TRY2-PEND", "TRY2-AGRE"
RECEIPTS = {CLOSED_CASE: "4711 0815 2026 1937 0001", ORAL_AWAITING: "4711 0815 2026 1937 0002",
            ORAL_AGREED: "4711 0815 2026 1937 0003"}
LANGUAGE = "en"

# What the pages show of these cases once opened: demo data, not catalog texts.
CLOSED_REPORT = ("The shift supervisor at the Kalna road crossing waves one broker's trucks "
                 "through without checks on the night shift.")
NAMED_COLLEAGUE = "Another officer of that shift, whose name I give you, may know more."
ACKNOWLEDGED = ("Thank you: your report reached us and we are looking into it. You are "
                "protected against any measure taken because you reported.")
CLOSED_FEEDBACK = ("We checked the rosters and the gate records: the trucks were not checked. "
                   "The supervisor is suspended while disciplinary proceedings run.")
CLOSED_NOTICE = ("The inquiry is over and your report was substantiated: two officers face "
                 "disciplinary proceedings, and the case went to the prosecutor.")
DELETION_REASON = ("It named a colleague who has nothing to do with the report (Directive "
                   "2019/1937, Art. 17).")
HOLD_REASON = "Disciplinary proceedings against two officers, and the prosecutor's inquiry"
PERSONS = (
    ("Marek Dobrin, shift supervisor, Kalna road crossing", "subject"),
    ("Lina Varga, officer on the night shift, Kalna road crossing", "witness"),
    ("The dispatcher of the broker's trucks (name in the customs file)", "subject"),
)
INFORMED = "Told in writing what the report says of him, and of his rights."
INFORMED_WITNESS = "Told in person; she agreed to be heard as a witness."
STATEMENT = ("He says the trucks were on the risk unit's list of pre-cleared loads and that he "
             "only followed it; he could not show the list.")
DEFERRAL = ("Informing him now would warn the broker while the prosecutor's inquiry runs "
            "(GDPR Art. 23); to be reviewed when the prosecutor answers.")
RETALIATION_REPORT = ("Since the inquiry ended, the supervisor's deputy has given me night "
                      "shifts only and wrote me up twice for being late, which I was not.")
RISK = ("Only two officers saw the trucks, so the reporter can be identified; the supervisor's "
        "deputy draws up the reporter's roster.")
MEASURE = "Moved to the Port of Veru team at the reporter's request, same grade and pay."
MEETING = "Can we talk by phone? I can take a call on weekdays after six in the evening."
ORAL_MINUTES = (
    "Call with a truck driver on the hotline. He says an officer at the Sotra airport cargo "
    "terminal asks drivers for cash to release their loads the same day.",
    "Meeting at the Dravik customs post at the reporter's request. She says seized cigarettes "
    "leave the store room in a private car on Sunday mornings.",
)
RETALIATION_TEXTS = (
    "Since my report I am given night shifts only.",
    "My supervisor told the team that I was the one who reported.",
    "My request for a posting at the airport was refused without a reason.",
    "I was written up twice for what others do every day.",
    "Colleagues no longer speak to me and leave me alone at the booth.",
)
RISK_TEXTS = (
    "Few people knew of the facts reported: the reporter can be identified.",
    "The person concerned draws up the reporter's shifts.",
    "No sign that the reporter was identified; the roster is watched.",
)
MEASURE_TEXTS = ("The regional inspector checks the team's roster every month.",
                 "Reminded the unit's head that the reporter's identity is confidential.")
RETALIATION_FEEDBACK = ("We spoke with the unit's head: the decisions taken against you since "
                        "your report are being reviewed.")
RETALIATION_NOTICE = "The review is over: the measure taken against you was withdrawn."
TEXTS = (CLOSED_REPORT, ACKNOWLEDGED, CLOSED_FEEDBACK, CLOSED_NOTICE, DELETION_REASON,
         HOLD_REASON, *(name for name, _role in PERSONS), INFORMED, INFORMED_WITNESS, STATEMENT,
         DEFERRAL, RETALIATION_REPORT, RISK, MEASURE, MEETING, *ORAL_MINUTES, *RETALIATION_TEXTS,
         *RISK_TEXTS, *MEASURE_TEXTS, RETALIATION_FEEDBACK, RETALIATION_NOTICE)


def sealed_document(document: Mapping[str, object], readers: Mapping[str, bytes],
                    pad_block: int) -> tuple[bytes, dict[str, bytes]]:
    """``document`` sealed to ``readers``: the payload and a key slot by reader."""
    sealed = crypto.seal_document(document, readers, pad_block)
    return sealed.payload, dict(sealed.key_slots)


def thread_message(session: Session, report: Report, secret: bytes, readers: dict[str, bytes],
                   pad_block: int, last: threads.Link | None, inspector: User | None, kind: str,
                   text: str, sent_on: date) -> tuple[threads.Link, Message]:
    """One message of a demo case's thread (the reporter's when ``inspector`` is None), sealed
    and linked after ``last``; its link and the message."""
    payload, slots = sealed_document(message_document(text, []), readers, pad_block)
    role, sender = ("reporter", "") if inspector is None else ("inspector", str(inspector.id))
    link = threads.next_link(secret, "thread", report.payload, last, role, sender, payload)
    message = Message(report_id=report.id, sender=role, author_id=inspector and inspector.id,
                      kind=kind, payload=payload, sent_on=sent_on, chain="thread",
                      seq=link.seq, prev=link.prev, auth=link.auth)
    session.add(message)
    session.flush()
    session.add_all(KeySlot(report_id=report.id, message_id=message.id, reader=reader,
                            slot=slot) for reader, slot in slots.items())
    return link, message


def _b64_slots(slots: Mapping[str, bytes]) -> dict[str, str]:
    return {reader: crypto.b64encode(slot) for reader, slot in slots.items()}


@dataclass
class _Case:
    """A demo case being written: its report, thread secret, reporter key and the last link of
    each chain, and what a browser would send for it."""

    report: Report
    secret: bytes
    reporter_key: bytes
    inspector: User
    inspectors: dict[str, bytes]  # whom a note is sealed to: the readers and the recovery key
    pad_block: int
    thread: threads.Link | None = None
    notes: threads.Link | None = None

    @property
    def readers(self) -> dict[str, bytes]:
        """Whom a message of the thread is sealed to: the reporter too."""
        return {**self.inspectors, REPORTER: self.reporter_key}

    def message(self, session: Session, kind: str, text: str, day: date, *,
                reporter: bool = False) -> Message:
        """A message of the thread, the inspector's or the reporter's, stored as it is."""
        self.thread, message = thread_message(
            session, self.report, self.secret, self.readers, self.pad_block, self.thread,
            None if reporter else self.inspector, kind, text, day)
        return message

    def body(self, document: Mapping[str, object], chain: str | None = None, *,
             reporter: bool = False) -> dict[str, Any]:
        """``document`` as a browser sends it: sealed to the thread's readers (``chain``
        "thread") or the inspectors', with its link in ``chain`` when there is one."""
        payload, slots = sealed_document(document, self.readers if chain == THREAD
                                         else self.inspectors, self.pad_block)
        body: dict[str, Any] = {"payload": crypto.b64encode(payload),
                                "key_slots": _b64_slots(slots)}
        if chain is not None:
            role, sender = ("reporter", "") if reporter else ("inspector",
                                                             str(self.inspector.id))
            last = self.thread if chain == THREAD else self.notes
            link = threads.next_link(self.secret, chain, self.report.payload, last, role, sender,
                                     payload)
            if chain == THREAD:
                self.thread = link
            else:
                self.notes = link
            body["link"] = {"seq": link.seq, "prev": crypto.b64encode(link.prev),
                            "auth": crypto.b64encode(link.auth)}
        return body


class _Loader:
    """The demo inspector writing the feature cases through the services, as of ``day``."""

    def __init__(self, session: Session, inspector: User, channel: Channel,
                 secret_key: bytes) -> None:
        self.session, self.inspector, self.channel = session, inspector, channel
        self.secret_key = secret_key
        self.settings, self.store = current.settings(), current.attachment_store()
        self.installation = get_installation(session, self.settings)
        self.pad_block = self.installation.pad_block
        recovery = self.installation.recovery_public_key
        self.recovery = {RECOVERY: recovery} if recovery else {}
        self.day = today()
        self.rng = random.Random(2019)  # noqa: S311 (demo data, not secrets)

    def ago(self, days: int) -> date:
        return self.day - timedelta(days=days)

    # --- reports ---------------------------------------------------------------------------

    def report(self, reference: str, created: date, answers: dict[str, Any], *,
               category: str | None = None, org_unit: str | None = None,
               minutes: str | None = None) -> _Case:
        """A protocol 2 report filed on ``created`` for the demo inspector, as the generated
        demo cases are, opened by its published receipt."""
        installation = self.installation
        recipients = {str(self.inspector.id): self.inspector.public_key or b""}
        keys = crypto.derive_reporter_keys(RECEIPTS[reference], installation.kdf_salt,
                                           installation.kdf_opslimit, installation.kdf_memlimit)
        found = self.session.scalar(select(Category).where(
            Category.channel_id == self.channel.id, Category.slug == category))
        unit = self.session.scalar(select(OrgUnit).where(OrgUnit.name == org_unit))
        secret = threads.new_thread_secret()
        route = (self.channel.slug, found.slug if found else None, str(unit.id) if unit else None)
        document = report_document(answers, [], LANGUAGE, secret, keys.public_key, route,
                                   recipients, [], installation.recovery_public_key, minutes)
        payload, slots = sealed_document(
            document, {**recipients, **self.recovery, REPORTER: keys.public_key}, self.pad_block)
        report = Report(
            reference=reference, channel_id=self.channel.id,
            category_id=found.id if found else None, org_unit_id=unit.id if unit else None,
            created_on=created, last_activity_on=created, protocol=2, payload=payload,
            lookup_hash=crypto.keyed_lookup_hash(keys.lookup, current.lookup_key()),
            status=Status.NEW, oral=minutes is not None)
        self.session.add(report)
        self.session.flush()
        self.session.execute(report_readers.insert().values(report_id=report.id,
                                                            user_id=self.inspector.id))
        self.session.add_all(KeySlot(report_id=report.id, reader=reader, slot=slot)
                             for reader, slot in slots.items())
        return _Case(report, secret, keys.public_key, self.inspector,
                     {**recipients, **self.recovery}, self.pad_block)

    def retaliation(self, root: Report, reporter_key: bytes, text: str, created: date,
                    reference: str | None = None) -> _Case:
        """A report of retaliation from ``root``'s mailbox, sealed as the mailbox seals one to
        the first case's current readers, and stored as it stores one."""
        secret = threads.new_thread_secret()
        recipients = {str(u.id): u.public_key or b"" for u in current_recipients(root)}
        document = report_document({WHAT_HAPPENED.key: text}, [], LANGUAGE, secret, reporter_key,
                                   (self.channel.slug, None, None), recipients, [],
                                   self.installation.recovery_public_key)
        payload, slots = sealed_document(
            document, {**recipients, **self.recovery, REPORTER: reporter_key}, self.pad_block)
        report = store_retaliation(self.session, self.settings, self.store, root, payload, slots,
                                   [], 2)
        report.created_on = report.last_activity_on = created
        if reference is not None:
            report.reference = reference
        return _Case(report, secret, reporter_key, self.inspector,
                     {**recipients, **self.recovery}, self.pad_block)

    def reporter_key(self, report: Report) -> bytes:
        """The reporter's public key of a demo report, from its sealed document."""
        slot = self.session.scalar(select(KeySlot.slot).where(
            KeySlot.report_id == report.id, KeySlot.message_id.is_(None),
            KeySlot.reader == str(self.inspector.id)))
        assert slot is not None
        document = crypto.open_document(report.payload, slot, self.secret_key, self.pad_block)
        return report_thread(document).reporter_public_key

    # --- what happens in a case ------------------------------------------------------------

    def protection(self, case: _Case, kind: RecordKind, text: str, day: date,
                   **extra: Any) -> None:
        """A risk assessment (``risk``) or a measure (``measure``), as a note of the case."""
        document = {"protocol": 2, "text": text, "attachments": [], **extra}
        body = {"record": kind.value, **case.body(document, NOTES)}
        post_protection(self.session, self.settings, self.store, case.report, self.inspector,
                        body).sent_on = day

    def record(self, case: _Case, text: str, day: date) -> Message:
        """Minutes sent for the reporter to agree; they acknowledge the case, on ``day``."""
        waiting = case.report.acknowledged_on is None
        message = post_record(self.session, self.settings, self.store, case.report,
                              self.inspector, case.body(message_document(text, []), THREAD))
        message.sent_on = day
        if waiting:
            case.report.acknowledged_on = day
        return message

    def person(self, case: _Case, name: str, role: str, added: date,
               steps: list[tuple[str, date, str, date | None]]) -> None:
        """A person concerned and the steps of their information and hearing."""
        person: Person = add_person(self.session, self.settings, case.report, self.inspector,
                                    case.body({"name": name, "role": role}))
        person.added_on = added
        for kind, on, text, review_on in steps:
            body = {"kind": kind, "on": on.isoformat(),
                    **case.body({"text": text, "attachments": []})}
            if review_on is not None:
                body["review_on"] = review_on.isoformat()
            add_step(self.session, self.settings, self.store, case.report, self.inspector,
                     person, body, self.day)

    def delete(self, case: _Case, message: Message, link: threads.Link, reason: str,
               day: date) -> None:
        """Delete a message of the thread for ``reason``, as the case page does."""
        auth = threads.replacement_auth(case.secret, THREAD, link.seq,
                                        generichash(message.payload), b"", str(self.inspector.id))
        body = {"reason": case.body({"reason": reason}),
                "replacement": {"auth": crypto.b64encode(auth)}}
        delete_message(self.session, self.settings, self.store, case.report, self.inspector,
                       message, body).made_on = day

    def feedback(self, case: _Case, text: str, day: date) -> None:
        case.message(self.session, MessageKind.FEEDBACK, text, day)
        case.report.feedback_on = day

    def close(self, case: _Case, outcome: Outcome, notice: str, day: date) -> None:
        """The final notice, and the case closed with it."""
        case.message(self.session, MessageKind.FINAL_NOTICE, notice, day)
        report = case.report
        report.status, report.outcome = Status.CLOSED, outcome
        report.closed_on = report.final_notice_on = day

    # --- the cases -------------------------------------------------------------------------

    def closed_case(self) -> _Case:
        """Closed 120 days ago, substantiated: persons concerned, a deleted message, a legal
        hold; its 3-month check-in posted, the later ones planned."""
        case = self.report(CLOSED_CASE, self.ago(260), {"what": CLOSED_REPORT, "ongoing": "yes"},
                           category="waving-through", org_unit="Kalna road crossing")
        report, session = case.report, self.session
        report.status, report.acknowledged_on = Status.IN_PROGRESS, self.ago(258)
        case.message(session, MessageKind.MESSAGE, ACKNOWLEDGED, self.ago(258))
        named = case.message(session, MessageKind.MESSAGE, NAMED_COLLEAGUE, self.ago(255),
                             reporter=True)
        named_link = case.thread
        assert named_link is not None
        (subject, subject_role), (witness, witness_role), (other, other_role) = PERSONS
        self.person(case, subject, subject_role, self.ago(250), [
            ("informed", self.ago(245), INFORMED, None),
            ("heard", self.ago(232), STATEMENT, None)])
        self.person(case, witness, witness_role, self.ago(250), [
            ("informed", self.ago(244), INFORMED_WITNESS, None)])
        self.person(case, other, other_role, self.ago(250), [
            ("deferred", self.ago(244), DEFERRAL, self.day + timedelta(days=45))])
        self.feedback(case, CLOSED_FEEDBACK, self.ago(200))
        self.close(case, Outcome.SUBSTANTIATED, CLOSED_NOTICE, self.ago(120))
        self.delete(case, named, named_link, DELETION_REASON, self.ago(250))
        place_hold(session, report, self.inspector, HOLD_REASON)
        report.last_activity_on = self.ago(120)
        return case

    def retaliation_case(self, closed: _Case) -> None:
        """The closed case's reporter reports retaliation after the first check-in: risk
        assessed, a transfer, and a request for a call waiting for its answer."""
        case = self.retaliation(closed.report, closed.reporter_key, RETALIATION_REPORT,
                                self.ago(26), RETALIATION_CASE)
        report = case.report
        report.status, report.acknowledged_on = Status.IN_PROGRESS, self.ago(25)
        case.message(self.session, MessageKind.MESSAGE, ACKNOWLEDGED, self.ago(25))
        self.protection(case, RecordKind.RISK_ASSESSMENT, RISK, self.ago(24),
                        risk={"level": "high"})
        self.protection(case, RecordKind.MEASURE, MEASURE, self.ago(21),
                        measure={"type": "transfer", "on": self.ago(19).isoformat()})
        request_meeting(self.session, report, self.ago(3))
        message = post_reporter_message(
            self.session, self.settings, self.store, report,
            {**case.body(message_document(MEETING, []), THREAD, reporter=True), "meeting": True})
        message.sent_on = report.last_activity_on = self.ago(3)

    def oral_cases(self) -> None:
        """Two oral reports recorded by the demo inspector: the record of the first waits for
        its reporter's agreement, the second's was agreed three days after the meeting."""
        self.oral_report(ORAL_AWAITING, ORAL_MINUTES[0], self.ago(2))
        agreed, minutes = self.oral_report(ORAL_AGREED, ORAL_MINUTES[1], self.ago(40))
        agree_record(self.session, self.settings, agreed.report, minutes, self.ago(37))
        agreed.report.last_activity_on = self.ago(37)

    def oral_report(self, reference: str, minutes: str, day: date) -> tuple[_Case, Message]:
        """An oral report and its minutes, sent as a record on the day of the meeting."""
        case = self.report(reference, day, {}, minutes=minutes)
        record = self.record(case, minutes, day)
        case.report.last_activity_on = day
        return case, record

    def reports_of_retaliation(self) -> None:
        """Ten to thirteen reports of retaliation in each of the dashboard's default periods
        (the last four quarters), so that none is withheld for too few; each made from the
        mailbox of an earlier demo case."""
        readable = exists().where(KeySlot.report_id == Report.id, KeySlot.message_id.is_(None),
                                  KeySlot.reader == str(self.inspector.id))
        roots = list(self.session.scalars(select(Report).where(
            Report.channel_id == self.channel.id, Report.kind == "report", Report.protocol == 2,
            Report.reference.notin_(list(RECEIPTS)), readable).order_by(Report.created_on)))
        used: set[int] = set()
        for period in KpiQuery.recent(self.day).periods:
            last = min(period.end, self.day)
            for _ in range(10 + self.rng.randrange(4)):
                created = period.start + timedelta(
                    days=self.rng.randrange((last - period.start).days + 1))
                earlier = [r for r in roots if r.created_on < created and r.id not in used]
                if earlier:
                    root = self.rng.choice(earlier)
                    used.add(root.id)
                    self.linked_case(root, created)

    def linked_case(self, root: Report, created: date) -> None:
        """A report of retaliation acknowledged within 7 days, later or not yet; its risk
        assessed in some, with a measure in fewer; feedback and closing in some."""
        rng = self.rng
        case = self.retaliation(root, self.reporter_key(root), rng.choice(RETALIATION_TEXTS),
                                created)
        chance = rng.random()
        delay = rng.randrange(0, 8) if chance < 0.7 else rng.randrange(8, 21)
        acknowledged = created + timedelta(days=delay)
        if chance >= 0.9 or acknowledged > self.day:
            return
        case.report.status, case.report.acknowledged_on = Status.IN_PROGRESS, acknowledged
        steps: list[tuple[date, Callable[[], None]]] = []
        if rng.random() < 0.65:
            assessed = acknowledged + timedelta(days=rng.randrange(0, 10))
            steps.append((assessed, partial(
                self.protection, case, RecordKind.RISK_ASSESSMENT, rng.choice(RISK_TEXTS),
                assessed, risk={"level": rng.choice(["low", "medium", "high"])})))
            if rng.random() < 0.4:
                measured = assessed + timedelta(days=rng.randrange(1, 15))
                steps.append((measured, partial(
                    self.protection, case, RecordKind.MEASURE, rng.choice(MEASURE_TEXTS),
                    measured, measure={"type": rng.choice(["confidentiality_reminder", "support"]),
                                       "on": measured.isoformat()})))
        if rng.random() < 0.7:
            given = acknowledged + timedelta(days=rng.randrange(20, 85))
            steps.append((given, partial(self.feedback, case, RETALIATION_FEEDBACK, given)))
            if rng.random() < 0.5:
                closed = given + timedelta(days=rng.randrange(0, 40))
                steps.append((closed, partial(self.close, case, rng.choice(list(Outcome)),
                                              RETALIATION_NOTICE, closed)))
        done = sorted((step for step in steps if step[0] <= self.day), key=lambda s: s[0])
        for _day, step in done:  # in the order of their days, as the thread numbers them
            step()
        case.report.last_activity_on = max([acknowledged, *(when for when, _step in done)])

    def check_ins(self) -> None:
        """Every closed demo case has the check-ins closing schedules; those due by today were
        posted on their day, as the scheduler's daily job posts them."""
        closed = list(self.session.scalars(select(Report).where(
            Report.channel_id == self.channel.id, Report.status == Status.CLOSED,
            ~exists().where(CheckIn.report_id == Report.id))))
        for report in closed:
            assert report.closed_on is not None
            schedule_check_ins(self.session, report, report.closed_on)
        self.session.flush()
        for check_in in self.session.scalars(select(CheckIn).where(
                CheckIn.report_id.in_([r.id for r in closed]),
                CheckIn.state == CheckInState.SCHEDULED, CheckIn.due_on <= self.day)):
            check_in.state, check_in.done_on = CheckInState.POSTED, check_in.due_on


def load_feature_cases(session: Session, inspector: User, channel: Channel,
                       secret_key: bytes) -> None:
    """Add the feature cases after the demo cases they link to, once (their first reference
    marks them); ``secret_key`` is the demo inspector's, which opens the demo cases. Nothing
    without an application context: the services need its settings and attachment store."""
    if not has_app_context() or inspector.public_key is None or session.scalar(
            select(Report.id).where(Report.reference == CLOSED_CASE)):
        return
    loader = _Loader(session, inspector, channel, secret_key)
    closed = loader.closed_case()
    loader.retaliation_case(closed)
    loader.oral_cases()
    loader.reports_of_retaliation()
    loader.check_ins()
    session.flush()
