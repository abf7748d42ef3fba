"""The scheduler against the real APScheduler job store in the application database: waves open
and close on their days under a controlled clock, jobs survive a restart and a job due while
the scheduler was down runs once, and the lease keeps a second scheduler from running jobs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry, verify
from integrity.audit_register import write_register
from integrity.clock import Clock, FastClock
from integrity.models import Channel
from integrity.reporting.models import Report
from integrity.scheduler import Scheduler, jobs_table
from integrity.scheduler_lease import SchedulerLease, lease_holder, release_lease, take_lease
from surveys.models import Survey, Wave, WaveState
from surveys.waves import create_wave
from surveys.waves import open_wave as open_it
from tests.conftest import cli_environment
from tests.helpers.reports import filed_report_id
from tests.helpers.results import RESULTS_DEFINITION
from tests.helpers.stored import kept_summaries
from tests.protocol_client import ReporterClient

INTEGRITY = str(Path(sys.executable).with_name("integrity"))
FIRST_DAY = date(2027, 3, 1)
SECONDS_PER_DAY = 2.5  # long enough for a loaded machine to keep to its days


def _wait_for(condition: Callable[[], bool], seconds: float = 120) -> bool:
    """Whether ``condition`` comes true; only a hang runs out the time, since a loaded machine
    may take long over a job."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _state(db: Session, wave_id: int) -> str:
    db.expire_all()
    wave = db.get(Wave, wave_id)
    assert wave is not None
    state = wave.state
    db.rollback()  # hold no transaction open while the scheduler works
    return state


def _audited(db: Session, action: str) -> int:
    count = db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action)) or 0
    db.rollback()
    return count


def _wave(db: Session, opens: int, closes: int, first_day: date = FIRST_DAY) -> int:
    """A survey with one wave open from day ``opens`` to day ``closes`` after ``first_day``."""
    survey = Survey(title="Integrity drill", introduction="",
                    definition=json.dumps(RESULTS_DEFINITION))
    db.add(survey)
    db.flush()
    wave = create_wave(db, survey, first_day + timedelta(days=opens),
                       first_day + timedelta(days=closes))
    db.commit()
    return wave.id


def test_the_lease_admits_one_holder_at_a_time(db: Session) -> None:
    start = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    assert take_lease(db, "first", 60, now=start)
    assert not take_lease(db, "second", 60, now=start + timedelta(seconds=10))
    assert take_lease(db, "first", 60, now=start + timedelta(seconds=30))  # renewed
    assert not take_lease(db, "second", 60, now=start + timedelta(seconds=80))
    assert lease_holder(db, now=start + timedelta(seconds=80)) == "first"
    # Once it runs out, the standby takes it.
    assert take_lease(db, "second", 60, now=start + timedelta(seconds=91))
    assert not take_lease(db, "first", 60, now=start + timedelta(seconds=92))
    release_lease(db, "second")
    assert lease_holder(db, now=start + timedelta(seconds=93)) is None
    assert take_lease(db, "first", 60, now=start + timedelta(seconds=93))
    assert db.scalar(select(func.count()).select_from(SchedulerLease)) == 1


def test_a_wave_opens_and_closes_on_its_days(app, db: Session) -> None:
    wave_id = _wave(db, opens=1, closes=2)
    clock = FastClock(FIRST_DAY, SECONDS_PER_DAY)
    scheduler = Scheduler(app, clock=clock, lease_seconds=3)
    scheduler.start()
    try:
        assert scheduler.wait_until_running()
        assert _state(db, wave_id) == WaveState.SCHEDULED.value
        assert _wait_for(lambda: _state(db, wave_id) == WaveState.OPEN.value)
        # Opened on day 1, not before.
        assert clock.today() >= FIRST_DAY + timedelta(days=1)
        assert _wait_for(lambda: _state(db, wave_id) == WaveState.CLOSED.value)
        # Closed once its last day (day 2) was over.
        assert clock.today() >= FIRST_DAY + timedelta(days=3)
        # The dashboard's summary of the closed wave is worked out and kept as it closes.
        assert _wait_for(lambda: bool(kept_summaries(app, wave_id)))
    finally:
        scheduler.shutdown()
    assert _audited(db, "wave_opened") == 1 and _audited(db, "wave_closed") == 1
    assert verify(db).ok


def test_jobs_survive_a_restart_and_a_missed_one_runs_once(app, db: Session) -> None:
    # A clock that stands still at today's noon (real days: the jobs' run times are real
    # instants), so that no job falls due while the test has not said so, however slow the
    # machine.
    clock = StoppedClock(datetime.combine(Clock().today(), dt_time(12), UTC))
    wave_id = _wave(db, opens=0, closes=1, first_day=clock.today())
    scheduler = Scheduler(app, clock=clock, lease_seconds=3)
    scheduler.start()
    try:
        assert scheduler.wait_until_running()
        assert _wait_for(lambda: _state(db, wave_id) == WaveState.OPEN.value)
        # Opening plans the close: a job stored in the database, with the standing jobs.
        assert _wait_for(lambda: f"wave-{wave_id}-close" in _stored_jobs(db))
    finally:
        scheduler.shutdown()
    db.expire_all()
    stored = set(db.scalars(select(jobs_table.c.id)))
    assert {f"wave-{wave_id}-close", "purge-uploads", "purge-cases", "plan-waves"} <= stored
    closing = _stored_jobs(db)[f"wave-{wave_id}-close"]
    assert closing == clock.start_of(clock.today() + timedelta(days=2)).timestamp()
    # Two days pass while no scheduler runs: the closing job falls due and nothing runs it.
    clock.moment += timedelta(days=2)
    _fall_due(app, f"wave-{wave_id}-close")
    assert _state(db, wave_id) == WaveState.OPEN.value
    # A new scheduler runs the missed job once, as soon as it holds the lease.
    again = Scheduler(app, clock=clock, lease_seconds=3)
    again.start()
    try:
        assert again.wait_until_running()
        assert _wait_for(lambda: _state(db, wave_id) == WaveState.CLOSED.value)
        assert _wait_for(lambda: bool(kept_summaries(app, wave_id)))
        # The planning run at start may have read the wave still open while the close ran,
        # and stored its close again, for the stopped clock's day: two real days ahead here.
        # Once no job is under way, that one is brought due; it finds the wave closed, does
        # nothing, and goes like the first.
        assert _wait_for(again.idle)
        if f"wave-{wave_id}-close" in _stored_jobs(db):
            again.aps.modify_job(f"wave-{wave_id}-close", next_run_time=datetime.now(UTC))
        assert _wait_for(lambda: f"wave-{wave_id}-close" not in _stored_jobs(db))
    finally:
        again.shutdown()
    assert _audited(db, "wave_opened") == 1 and _audited(db, "wave_closed") == 1
    db.expire_all()
    assert f"wave-{wave_id}-close" not in set(db.scalars(select(jobs_table.c.id)))


def _fall_due(app, job_id: str) -> None:
    """Move a stored job's run time into the past, as the days passing while no scheduler
    ran would have: through APScheduler's own job store, never started."""
    store = Scheduler(app).aps
    store.start(paused=True)
    try:
        store.modify_job(job_id, next_run_time=datetime.now(UTC) - timedelta(seconds=1))
    finally:
        store.shutdown(wait=True)


class StoppedClock(Clock):
    """A clock that stands still at ``moment``, moved by hand between starts."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def _closed_case(db: Session, reporter: ReporterClient, channel: str, closed_on: date) -> int:
    filed = reporter.file(channel, {"what": "Seized fuel sold on by the post commander."})
    report_id = filed_report_id(reporter.http.application, filed)
    report = db.get(Report, report_id)
    assert report is not None
    report.status, report.outcome, report.closed_on = "closed", "unsubstantiated", closed_on
    db.commit()
    return report_id


def _stored_jobs(db: Session) -> dict[str, float]:
    db.expire_all()
    jobs = {job_id: due for job_id, due in db.execute(
        select(jobs_table.c.id, jobs_table.c.next_run_time))}
    db.rollback()
    return jobs


def _exists(db: Session, report_id: int) -> bool:
    db.expire_all()
    found = db.get(Report, report_id) is not None
    db.rollback()
    return found


def test_a_nightly_purge_due_while_stopped_runs_once_at_the_next_start(
        app, db: Session, channel, reporter: ReporterClient) -> None:
    started = Clock().now()
    first = Scheduler(app, clock=StoppedClock(started), lease_seconds=3)
    first.start()
    try:
        assert first.wait_until_running()
    finally:
        first.shutdown()
    nightly = datetime.fromtimestamp(_stored_jobs(db)["purge-cases"], UTC)
    assert started < nightly <= started + timedelta(days=1)
    # While no scheduler runs, the clock moves past the night's purge; a closed case is due.
    clock = StoppedClock(nightly + timedelta(hours=1))
    retention = db.scalar(select(Channel.retention_days).where(Channel.slug == channel.slug))
    due = _closed_case(db, reporter, channel.slug,
                       clock.today() - timedelta(days=retention + 1))
    second = Scheduler(app, clock=clock, lease_seconds=3)
    second.start()
    try:
        assert second.wait_until_running()
        assert "purge-cases" in second.caught_up
        assert _wait_for(lambda: not _exists(db, due))
    finally:
        second.shutdown()
    assert _audited(db, "case_purged") == 1
    # The night's purge is done: the next one is due the following night, and a start at the
    # same moment runs nothing again (another due case stays for that night).
    assert _stored_jobs(db)["purge-cases"] == (nightly + timedelta(days=1)).timestamp()
    later = _closed_case(db, reporter, channel.slug,
                         clock.today() - timedelta(days=retention + 1))
    third = Scheduler(app, clock=clock, lease_seconds=3)
    third.start()
    try:
        assert third.wait_until_running()
        assert third.caught_up == []
    finally:
        third.shutdown()
    assert _exists(db, later)
    assert "purge-cases-now" not in _stored_jobs(db)
    assert _audited(db, "case_purged") == 1


def test_the_nightly_register_missed_while_stopped_is_written_at_the_next_start(
        app, db: Session, channel, reporter: ReporterClient) -> None:
    started = Clock().now()
    first = Scheduler(app, clock=StoppedClock(started), lease_seconds=3)
    first.start()
    try:
        assert first.wait_until_running()
    finally:
        first.shutdown()
    nightly = datetime.fromtimestamp(_stored_jobs(db)["verify-audit"], UTC)
    reporter.file(channel.slug, {"what": "Seized fuel sold on by the post commander."})
    filed_on = db.scalar(select(Report.created_on))
    assert filed_on is not None
    write_register(db, filed_on)  # the register is kept up to the day before the filing
    db.commit()
    # No scheduler runs through the night and two more days: at the next start the nightly
    # audit runs at once and registers every day it missed, the filing day included.
    clock = StoppedClock(max(nightly, started + timedelta(days=2)) + timedelta(hours=1))
    days = (clock.today() - filed_on).days
    second = Scheduler(app, clock=clock, lease_seconds=3)
    second.start()
    try:
        assert second.wait_until_running()
        assert "verify-audit" in second.caught_up
        assert _wait_for(lambda: _audited(db, "register") == 1 + days)
    finally:
        second.shutdown()
    registered = [(entry.facts["day"], entry.facts["reports"]) for entry in db.scalars(
        select(AuditEntry).where(AuditEntry.action == "register").order_by(AuditEntry.seq))]
    db.rollback()
    assert [day for day, _count in registered] == [
        (filed_on + timedelta(days=n)).isoformat() for n in range(-1, days)]
    assert registered[1] == (filed_on.isoformat(), 1)


def test_a_recurring_survey_gets_its_next_wave_planned(app, db: Session) -> None:
    survey = Survey(title="Quarterly", introduction="", definition=json.dumps(RESULTS_DEFINITION),
                    recurrence_months=3, open_days=21)
    db.add(survey)
    db.commit()
    clock = FastClock(FIRST_DAY, 3600)
    scheduler = Scheduler(app, clock=clock, lease_seconds=3)
    scheduler.start()
    try:
        assert scheduler.wait_until_running()
        assert _wait_for(lambda: bool(db.scalars(select(Wave).where(
            Wave.survey_id == survey.id)).all()))
        db.expire_all()
        [wave] = db.scalars(select(Wave).where(Wave.survey_id == survey.id)).all()
        assert (wave.opens_on, wave.closes_on) == (FIRST_DAY, FIRST_DAY + timedelta(days=20))
        assert _wait_for(lambda: _state(db, wave.id) == WaveState.OPEN.value)
    finally:
        scheduler.shutdown()


def _start(environment: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [INTEGRITY, "scheduler", "--lease-seconds", "2"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


def test_a_second_scheduler_waits_until_the_first_stops(tmp_path, database_url: str) -> None:
    from integrity.db import make_engine

    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    with cli_environment(tmp_path / "data", backend) as environment:
        url = environment.get("INTEGRITY_DATABASE_URL",
                              f"sqlite:///{tmp_path / 'data' / 'integrity.db'}")
        subprocess.run([INTEGRITY, "init"], env=environment,
                       check=True, capture_output=True)
        first = _start(environment)
        engine = make_engine(url)

        def holder() -> str | None:
            with Session(engine) as session:
                return lease_holder(session)

        try:
            assert _wait_for(lambda: holder() is not None, seconds=30)
            first_holder = holder()
            second = _start(environment)
            time.sleep(3)  # longer than a lease: the first keeps renewing it
            assert holder() == first_holder
            first_output = _stop(first)
            assert "holds the lease" in first_output
            # The first gave the lease back; the standby takes over and runs the jobs.
            assert _wait_for(lambda: holder() not in (None, first_holder), seconds=90)
            second_output = _stop(second)
        finally:
            for process in (first, locals().get("second")):
                if process is not None and process.poll() is None:
                    process.kill()
            engine.dispose()
    assert "holds the lease" in second_output
    assert first_holder is not None and first_holder.split("-")[0] == str(first.pid)


def test_a_wave_that_cannot_open_yet_is_not_tried_again_and_again(app, db: Session,
                                                                  caplog) -> None:
    clock = StoppedClock(datetime.combine(Clock().today(), dt_time(12), UTC))
    earlier = _wave(db, opens=-10, closes=5, first_day=clock.today())
    survey_id = db.get(Wave, earlier).survey_id
    open_it(db, db.get(Wave, earlier), clock.today() - timedelta(days=10))
    db.commit()
    # A second wave due to open today, while the first is still open: it cannot open.
    later = create_wave(db, db.get(Survey, survey_id), clock.today() + timedelta(days=6),
                        clock.today() + timedelta(days=9))
    later.opens_on = clock.today()
    db.commit()
    later_id = later.id
    scheduler = Scheduler(app, clock=clock, lease_seconds=3)
    scheduler.start()
    try:
        assert scheduler.wait_until_running()
        assert _wait_for(lambda: "was not opened" in caplog.text)
        # Tried once; the next planning (nightly, or the next start) tries again.
        assert _wait_for(lambda: f"wave-{later_id}-open" not in _stored_jobs(db))
    finally:
        scheduler.shutdown()
    assert caplog.text.count(f"wave {later_id} was not opened") == 1
    assert _state(db, later_id) == WaveState.SCHEDULED.value
