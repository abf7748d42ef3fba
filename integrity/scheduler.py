"""The one scheduler: APScheduler 3 with its jobs in the application database.

It opens and closes survey waves on their days, plans the next wave of recurring surveys,
e-mails the reminders of open waves, removes uploads no report claimed, deletes cases past
their retention period, sends the outbox's notifications, writes the day's deadline reminders,
and registers the day's reports in the audit chain and verifies it.

Jobs live in the ``scheduler_jobs`` table (APScheduler's SQLAlchemy job store), so a restart
loses none; every job coalesces and has no misfire limit, so a job that fell due while the
scheduler was down runs once when it is back. The standing jobs (the purges, the nightly
planning) are stored afresh at each start, so before that the start compares the next run each
has stored with the clock and runs once, at once, every one that fell due meanwhile. Exactly
one scheduler runs jobs: a lease row
in ``scheduler_lease`` names the holder until a time, renewed while it lives. Another
scheduler started beside it waits as a standby and takes over once the lease runs out.

Run it as ``integrity scheduler`` (one process for the whole installation), or in-process
under ``integrity serve`` for the embedded default.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import (
    Column,
    Engine,
    Float,
    LargeBinary,
    Table,
    Unicode,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from integrity import current
from integrity.clock import Clock
from integrity.db import Base, make_engine, new_session
from integrity.scheduler_lease import release_lease, take_lease

log = logging.getLogger(__name__)

JOBS_TABLE = "scheduler_jobs"


# APScheduler's job store table, declared here as APScheduler makes it, so that migrations
# create it and the schema checks know it.
jobs_table = Table(
    JOBS_TABLE,
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


# --- jobs -----------------------------------------------------------------------------------
#
# Jobs are stored by reference ("integrity.scheduler:open_wave") with plain arguments, and run
# against the scheduler of this process.

_current: Scheduler | None = None


F = TypeVar("F", bound=Callable[..., Any])


def _job(function: F) -> F:
    """A job: skipped unless this process's scheduler holds the lease, and counted while it
    runs, so that shutting down waits for it before APScheduler takes its own locks."""
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        scheduler = _current
        if scheduler is None or not scheduler.begin_job():
            log.warning("a job came due in a scheduler that does not hold the lease; skipped")
            return None
        try:
            return function(*args, **kwargs)
        finally:
            scheduler.end_job()

    return cast(F, run)


def _run(task: Callable[[Scheduler, Session], Any]) -> Any:
    scheduler = _current
    if scheduler is None or not scheduler.holds_lease():
        # Not the lease holder (any more): leave the job to the scheduler that is.
        log.warning("a job came due in a scheduler that does not hold the lease; skipped")
        return None
    with scheduler.app.app_context():
        session = new_session(scheduler.app)
        try:
            result = task(scheduler, session)
            session.commit()
            return result
        finally:
            session.close()


@_job
def open_wave(wave_id: int) -> None:
    """Open one wave on its first day (nothing if it is no longer scheduled). A wave that
    cannot open yet (an earlier wave of its survey is still open) is tried again when the
    waves are next planned, nightly or at a start, not at once: planning at once would store
    the same job, due already, again and again."""
    from surveys.models import Wave, WaveState
    from surveys.waves import SurveyError
    from surveys.waves import open_wave as open_it

    def task(scheduler: Scheduler, session: Session) -> bool:
        wave = session.get(Wave, wave_id)
        if wave is None or wave.state != WaveState.SCHEDULED:
            return True
        try:
            open_it(session, wave, scheduler.clock.today())
        except SurveyError as exc:
            log.warning("wave %s was not opened: %s", wave_id, exc)
            return False
        _audit(session, "wave_opened", wave_id)
        return True

    if _run(task):
        _plan()


@_job
def close_wave(wave_id: int) -> None:
    """Close one wave the day after its last day, then plan what follows."""
    from surveys.models import Wave, WaveState
    from surveys.waves import close_wave as close_it

    def task(scheduler: Scheduler, session: Session) -> None:
        wave = session.get(Wave, wave_id)
        if wave is None or wave.state == WaveState.CLOSED:
            return
        close_it(session, wave, scheduler.clock.today())
        _audit(session, "wave_closed", wave_id)
        scheduler.compact_after_close = True

    _run(task)
    _plan()
    scheduler = _current
    if scheduler is not None and scheduler.compact_after_close:
        from surveys.waves import compact_storage

        scheduler.compact_after_close = False
        try:
            compact_storage(scheduler.engine)
        except Exception:  # the wave is closed; compaction is tidying and can run again
            log.exception("the survey tables could not be compacted after a wave closed")
    _run(_summarise_wave(wave_id))


def _summarise_wave(wave_id: int) -> Callable[[Scheduler, Session], None]:
    """The dashboard's summary of a closed wave, worked out once now rather than on the
    first manager's visit."""
    def task(scheduler: Scheduler, session: Session) -> None:
        from integrity.dashboard.pages import store_wave_summary
        from surveys.models import Wave

        wave = session.get(Wave, wave_id)
        if wave is not None:
            try:
                store_wave_summary(session, wave)
            except Exception:  # a figure for later; the next visit computes it instead
                log.exception("the summary of wave %s could not be stored", wave_id)

    return task


@_job
def plan_waves() -> None:
    """Plan the next wave of recurring surveys and a job for every wave's next step."""
    _plan()


def _plan() -> None:
    # Jobs are stored only once the waves are committed: on SQLite a job store write inside
    # an open write transaction would wait for itself.
    steps = _run(lambda scheduler, session: scheduler.plan_waves(session))
    scheduler = _current
    if scheduler is not None and steps:
        scheduler.add_wave_jobs(steps)


@_job
def purge_uploads() -> int:
    """Remove uploads no report claimed in time."""
    from integrity.reporting.attachments import purge_unclaimed_attachments

    def task(scheduler: Scheduler, session: Session) -> int:
        return purge_unclaimed_attachments(session, current.settings(scheduler.app),
                                           current.attachment_store(scheduler.app))

    return int(_run(task) or 0)


@_job
def purge_sessions() -> int:
    """Delete staff sessions idle for longer than the timeout: a session nobody signed out of
    leaves no row behind."""
    from integrity.auth.services import purge_idle_sessions

    def task(scheduler: Scheduler, session: Session) -> int:
        minutes = current.settings(scheduler.app).idle_timeout_minutes
        return purge_idle_sessions(session, timedelta(minutes=minutes), scheduler.clock.now())

    return int(_run(task) or 0)


@_job
def purge_cases() -> int:
    """Delete closed cases past their channel's retention period, and the data of persons
    concerned cleared longer ago than their channel keeps it."""
    from integrity.cases.persons import purge_cleared_persons
    from integrity.cases.retention import purge_cases as purge

    def task(scheduler: Scheduler, session: Session) -> int:
        store, today = current.attachment_store(scheduler.app), scheduler.clock.today()
        return len(purge(session, store, today)) + purge_cleared_persons(session, store, today)

    return int(_run(task) or 0)


@_job
def send_notifications() -> int:
    """Send the notices that are due (integrity/notifications/sender.py)."""
    from integrity.notifications.sender import purge_sent, send_due

    def task(scheduler: Scheduler, session: Session) -> int:
        now = scheduler.clock.now()
        result = send_due(session, current.settings(scheduler.app), now)
        purge_sent(session, now)
        return result.notices

    return int(_run(task) or 0)


@_job
def daily_notices() -> int:
    """Write the day's deadline and meeting reminders, the warnings of cases nearing their
    maximum age, the reviews of deferred information of persons concerned, and the
    administrators' summary."""
    from integrity.cases.persons import remind_reviews
    from integrity.cases.retention import warn_before_max_age
    from integrity.notifications.reminders import (
        remind_deadlines,
        remind_meetings,
        summarise_for_admins,
    )

    def task(scheduler: Scheduler, session: Session) -> int:
        today, now = scheduler.clock.today(), scheduler.clock.now()
        return (remind_deadlines(session, today, now) + remind_meetings(session, today, now)
                + warn_before_max_age(session, today, now) + remind_reviews(session, today, now)
                + summarise_for_admins(session, today, now))

    return int(_run(task) or 0)


@_job
def post_check_ins() -> int:
    """Post the check-ins due in closed cases' mailboxes (integrity/cases/check_ins.py)."""
    from integrity.cases.check_ins import post_due_check_ins

    return int(_run(lambda scheduler, session: post_due_check_ins(
        session, scheduler.clock.today())) or 0)


@_job
def verify_audit() -> bool:
    """The nightly register and check of the audit log (integrity/notifications/checks.py),
    after the staff named in entries past their retention are pseudonymised."""
    from integrity.audit_retention import pseudonymise_staff
    from integrity.notifications.checks import verify_audit as verify

    def task(scheduler: Scheduler, session: Session) -> bool:
        now = scheduler.clock.now()
        pseudonymise_staff(session, now, current.settings(scheduler.app).audit_staff_years)
        return bool(verify(session, scheduler.clock.today(), now))

    return bool(_run(task))


@_job
def remind_waves() -> int:
    """E-mail the reminders of open waves that fell due (surveys/reminders.py): marked as
    sent and committed before they go, so that no run sends one twice."""
    from surveys.reminders import claim_reminders, send_reminders

    batches = _run(lambda scheduler, session: claim_reminders(session, scheduler.clock.today()))
    if not batches:
        return 0
    sending = _run(lambda scheduler, session: send_reminders(
        session, current.settings(scheduler.app), batches))
    if sending is not None and sending.failed:
        log.warning("%d survey reminder(s) could not be sent", sending.failed)
    return 0 if sending is None else int(sending.sent)


def _audit(session: Session, action: str, wave_id: int) -> None:
    from integrity.audit import record

    record(session, actor=None, action=action, subject=f"wave:{wave_id}")


# --- the scheduler --------------------------------------------------------------------------


def _standing_jobs(now: datetime) -> list[tuple[str, str, BaseTrigger]]:
    """The jobs every installation runs, by id, with their triggers counted from ``now``."""
    return [
        ("purge-uploads", "integrity.scheduler:purge_uploads",
         IntervalTrigger(minutes=15, start_date=now + timedelta(minutes=15), timezone=UTC)),
        ("purge-sessions", "integrity.scheduler:purge_sessions",
         IntervalTrigger(minutes=15, start_date=now + timedelta(minutes=15), timezone=UTC)),
        ("purge-cases", "integrity.scheduler:purge_cases",
         CronTrigger(hour=3, minute=0, timezone=UTC)),
        ("plan-waves", "integrity.scheduler:plan_waves",
         CronTrigger(hour=0, minute=5, timezone=UTC)),
        ("send-notifications", "integrity.scheduler:send_notifications",
         IntervalTrigger(minutes=5, start_date=now + timedelta(minutes=1), timezone=UTC)),
        ("daily-notices", "integrity.scheduler:daily_notices",
         CronTrigger(hour=5, minute=0, timezone=UTC)),
        ("post-check-ins", "integrity.scheduler:post_check_ins",
         CronTrigger(hour=5, minute=10, timezone=UTC)),
        ("verify-audit", "integrity.scheduler:verify_audit",
         CronTrigger(hour=2, minute=30, timezone=UTC)),
        ("remind-waves", "integrity.scheduler:remind_waves",
         CronTrigger(hour=6, minute=0, timezone=UTC)),
    ]


@dataclass(frozen=True)
class WaveStep:
    wave_id: int
    action: str  # "open" or "close"
    day: date


class _StoreLockedScheduler(BackgroundScheduler):
    """APScheduler, whose loop looks at its state only while holding the job stores' lock.
    Its own loop checks for a pause before taking the lock; a shutdown in between marks it
    stopped, and the loop, removing a one-off job it has just run, then fails to find it
    (JobLookupError) and dies."""

    def _process_jobs(self) -> float | None:
        with self._jobstores_lock:
            if self.state != STATE_RUNNING:
                return None  # paused or stopped: wait to be woken
            return super()._process_jobs()


class Scheduler:
    """APScheduler with the database job store, run only while this process holds the lease."""

    def __init__(self, app: Flask, *, clock: Clock | None = None, lease_seconds: float = 60,
                 holder: str | None = None) -> None:
        self.app = app
        self.clock = clock or Clock()
        self.lease_seconds = lease_seconds
        self.holder = holder or f"{os.getpid()}-{secrets.token_hex(6)}"
        self.engine: Engine = current.engine(app)
        self.compact_after_close = False
        self._held = False
        self.caught_up: list[str] = []  # standing jobs run at the last start, having fallen due
        self._stop = threading.Event()
        self._jobs = threading.Condition()  # guards _running and the start of each job
        self._running = 0
        self._thread: threading.Thread | None = None
        # The job store gets an engine of its own, since APScheduler disposes of it on
        # shutdown; without a pool, as it connects rarely and leaves no connection behind.
        store_engine = make_engine(current.settings(app).database_url,
                                   poolclass=NullPool)
        self.aps = _StoreLockedScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=store_engine, tablename=JOBS_TABLE)},
            executors={"default": {"type": "threadpool", "max_workers": 2}},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )

    # The lease loop: take the lease, start jobs, renew; or wait as a standby.

    def start(self) -> None:
        """Start in the background: run jobs as soon as the lease is ours."""
        global _current
        if _current is not None and _current is not self:
            raise RuntimeError("A scheduler already runs in this process.")
        _current = self
        self._thread = threading.Thread(target=self._keep_lease, name="scheduler-lease",
                                        daemon=True)
        self._thread.start()

    def _keep_lease(self) -> None:
        interval = max(0.2, self.lease_seconds / 3)
        while not self._stop.is_set():
            try:
                with self.app.app_context():
                    session = new_session(self.app)
                    try:
                        held = take_lease(session, self.holder, self.lease_seconds)
                    finally:
                        session.close()
            except Exception:  # a database hiccup: keep trying, and stop running jobs
                log.exception("the scheduler could not reach its lease")
                held = False
            if self._stop.is_set():
                break  # shut down while the lease was being taken: start nothing more
            if held and not self._held:
                try:
                    self._begin()
                except Exception:  # the job store is out of reach: try again next round
                    log.exception("the scheduler could not store its jobs")
            elif not held and self._held:
                log.warning("the scheduler lost its lease; its jobs stop here")
                self._held = False
                self.aps.pause()
            self._stop.wait(interval)

    def _begin(self) -> None:
        # APScheduler stays paused until the standing jobs are caught up and stored afresh:
        # its own loop must neither run one of them a second time nor miss one. Under the
        # jobs' lock, as shutdown sets the stop: a scheduler shut down meanwhile must not
        # start APScheduler again beside its successor on the same job store.
        with self._jobs:
            if self._stop.is_set():
                return
            if not self.aps.running:
                self.aps.start(paused=True)
            self.caught_up = self.install_jobs()
            self._held = True
            self.aps.resume()
        log.info("the scheduler holds the lease and runs jobs")

    def begin_job(self) -> bool:
        with self._jobs:
            if not self.holds_lease():
                return False
            self._running += 1
            return True

    def end_job(self) -> None:
        with self._jobs:
            self._running -= 1
            self._jobs.notify_all()

    def idle(self) -> bool:
        """No job of this scheduler is under way (for tests)."""
        with self._jobs:
            return self._running == 0

    def holds_lease(self) -> bool:
        return self._held and not self._stop.is_set()

    def wait_until_running(self, seconds: float = 30) -> bool:
        """Block until this scheduler runs jobs (for the command line and tests)."""
        deadline = datetime.now(UTC) + timedelta(seconds=seconds)
        while datetime.now(UTC) < deadline:
            if self._held:
                return True
            self._stop.wait(0.05)
        return False

    def shutdown(self) -> None:
        """Stop running jobs and give the lease back; jobs stay stored for the next start."""
        global _current
        with self._jobs:
            self._stop.set()  # no job starts from here on
            # Jobs under way finish first: APScheduler's shutdown holds the lock their calls
            # into it need, and would wait for them forever.
            self._jobs.wait_for(lambda: self._running == 0, timeout=120)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.aps.running:
            # APScheduler's shutdown marks it stopped before it takes the job stores' lock; a
            # loop still processing a one-off job would then fail to remove it. Paused, the
            # loop starts no round (_StoreLockedScheduler); the lock is free once a round
            # under way ends.
            self.aps.pause()
            with self.aps._jobstores_lock:
                pass
            self.aps.shutdown(wait=True)
        if self._held:
            with self.app.app_context():
                session = new_session(self.app)
                try:
                    release_lease(session, self.holder)
                finally:
                    session.close()
        self._held = False
        if _current is self:
            _current = None

    # Jobs

    def install_jobs(self) -> list[str]:
        """Store the standing jobs under fixed ids, each next due after now, having first
        queued to run at once every one whose stored next run fell due while no scheduler ran
        it; returns the ids of those. Nightly planning also runs at once at every start, so
        waves made since the last start get their jobs."""
        now = self.clock.now()
        caught_up = []
        for job_id, function, trigger in _standing_jobs(now):
            stored = self.aps.get_job(job_id)
            next_run = stored.next_run_time if stored is not None else None
            missed = next_run is not None and next_run <= now
            if missed or job_id == "plan-waves":
                # Queued before the standing job moves on, so that a crash in between leaves
                # it still due for the next start; the fixed id makes it run once.
                self.aps.add_job(function, id=f"{job_id}-now", replace_existing=True)
            if missed:
                caught_up.append(job_id)
            if next_run is None or missed:
                next_run = trigger.get_next_fire_time(None, now)
            # A run still ahead is kept: restarts more often than every 15 minutes must not
            # keep pushing the upload purge back.
            self.aps.add_job(function, trigger, id=job_id, replace_existing=True,
                             next_run_time=next_run)
        if caught_up:
            log.info("the jobs that fell due while stopped run now: %s", ", ".join(caught_up))
        return caught_up

    def plan_waves(self, session: Session) -> list[WaveStep]:
        """Plan the next wave of recurring surveys; then the next step of every wave not yet
        closed: opening on its first day, closing the day after its last."""
        from surveys.models import Survey, Wave, WaveState
        from surveys.waves import plan_next_wave

        today = self.clock.today()
        for survey in session.scalars(select(Survey).where(
                Survey.recurrence_months.isnot(None))):
            plan_next_wave(session, survey, today)
        session.flush()
        steps = []
        for wave in session.scalars(select(Wave).where(Wave.state != WaveState.CLOSED)):
            if wave.state == WaveState.SCHEDULED:
                steps.append(WaveStep(wave.id, "open", wave.opens_on))
            else:
                steps.append(WaveStep(wave.id, "close", wave.closes_on + timedelta(days=1)))
        return steps

    def add_wave_jobs(self, steps: list[WaveStep]) -> list[str]:
        """A stored job per step; job ids are stable, so planning twice changes nothing."""
        planned = []
        for step in steps:
            job_id = f"wave-{step.wave_id}-{step.action}"
            if self.aps.get_job(job_id) is None:
                self.aps.add_job(f"integrity.scheduler:{step.action}_wave", "date",
                                 args=[step.wave_id], run_date=self.clock.start_of(step.day),
                                 id=job_id, replace_existing=True)
            planned.append(job_id)
        return planned
