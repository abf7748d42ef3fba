"""``integrity survey ...``: import and export definitions, run waves, issue access codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO

import click
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity import current
from integrity.cli_context import command_app, command_session, record_command
from integrity.config import Settings
from integrity.mail import MailError
from integrity.models import OrgUnit
from surveys.definitions import DefinitionError
from surveys.models import Wave
from surveys.waves import TIME_ORDER, SurveyError


@contextmanager
def _context() -> Iterator[tuple[Flask, Session]]:
    """The application and a session, with survey refusals turned into command errors."""
    app = command_app()
    with command_session(app) as session:
        try:
            yield app, session
        except (SurveyError, DefinitionError) as exc:
            raise click.ClickException(str(exc)) from exc


def _secret(app: Flask) -> bytes:
    secret = app.secret_key
    assert isinstance(secret, str)
    return secret.encode()


def _wave(session: Session, wave_id: int) -> Wave:
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise SurveyError(f"There is no wave number {wave_id}.")
    return wave


def _write_private(path: Path, data: bytes) -> None:
    """A new file readable by its owner only; never over an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@click.group()
def survey() -> None:
    """Integrity surveys: definitions, waves and access codes."""


@survey.command("list")
def survey_list() -> None:
    """Every survey with its waves and their responses."""
    from surveys.models import SurveyResponse, Wave
    from surveys.services import list_surveys

    with _context() as (_app, session):
        counts = dict(session.execute(
            select(SurveyResponse.wave_id, func.count()).group_by(SurveyResponse.wave_id)).all())
        surveys = list_surveys(session)
        if not surveys:
            click.echo("No surveys yet. Import one with 'integrity survey import'.")
        for item in surveys:
            kind = "open link" if item.open_link else "access codes"
            click.echo(f"{item.id:>4}  {item.title}  ({kind})")
            for wave in session.scalars(select(Wave).where(Wave.survey_id == item.id)
                                        .order_by(*TIME_ORDER)):
                click.echo(f"      wave {wave.number} [id {wave.id}]: {wave.opens_on} to "
                           f"{wave.closes_on}, {wave.state}, "
                           f"{counts.get(wave.id, 0)} response(s)")


@survey.command("templates")
def survey_templates() -> None:
    """The ready-made surveys of the question bank."""
    from surveys.bank import load_template, template_names

    for name in template_names():
        click.echo(f"{name}: {load_template(name).title}")


@survey.command("import")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path))
@click.option("--template", help="A template of the question bank instead of a file.")
def survey_import(file: Path | None, template: str | None) -> None:
    """Add a survey from a JSON definition (FILE, or '--template NAME')."""
    from surveys.bank import load_template
    from surveys.definitions import load_definition
    from surveys.services import create_survey

    if (file is None) == (template is None):
        raise click.UsageError("Give either a FILE or --template NAME.")
    with _context() as (_app, session):
        definition = (load_definition(file.read_bytes()) if file is not None
                      else load_template(str(template)))
        created = create_survey(session, definition)
        record_command(session, "survey_imported", f"survey:{created.id}",
               {"questions": len(definition.questions)})
        session.commit()
        click.echo(f"Added survey {created.id}: {created.title} "
                   f"({len(definition.questions)} questions).")


@survey.command("export")
@click.argument("survey_id", type=int)
def survey_export(survey_id: int) -> None:
    """Print a survey's definition as JSON (what 'survey import' reads)."""
    from surveys.services import export_survey, get_survey

    with _context() as (_app, session):
        click.echo(export_survey(get_survey(session, survey_id)))


@survey.group("wave")
def wave_group() -> None:
    """Waves: add, open and close them by hand (the scheduler does it on their days)."""


@wave_group.command("add")
@click.argument("survey_id", type=int)
@click.option("--opens", "opens_on", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--closes", "closes_on", required=True, type=click.DateTime(["%Y-%m-%d"]))
def wave_add(survey_id: int, opens_on: datetime, closes_on: datetime) -> None:
    """Schedule a wave of a survey between two days (inclusive)."""
    from surveys.services import get_survey
    from surveys.waves import create_wave

    with _context() as (_app, session):
        wave = create_wave(session, get_survey(session, survey_id), opens_on.date(),
                           closes_on.date())
        record_command(session, "wave_added", f"wave:{wave.id}", {"survey": survey_id})
        session.commit()
        click.echo(f"Added wave {wave.number} (id {wave.id}) from {wave.opens_on} to "
                   f"{wave.closes_on}.")


@wave_group.command("open")
@click.argument("wave_id", type=int)
def wave_open(wave_id: int) -> None:
    """Open a scheduled wave now."""
    from integrity.models import today
    from surveys.waves import open_wave

    with _context() as (_app, session):
        wave = _wave(session, wave_id)
        open_wave(session, wave, today())
        record_command(session, "wave_opened", f"wave:{wave_id}", {})
        session.commit()
        click.echo(f"Wave {wave.number} is open until {wave.closes_on}.")


@wave_group.command("close")
@click.argument("wave_id", type=int)
def wave_close(wave_id: int) -> None:
    """Close a wave now, then compact the survey tables."""
    from integrity.models import today
    from surveys.waves import close_wave, compact_storage

    with _context() as (app, session):
        wave = _wave(session, wave_id)
        close_wave(session, wave, today())
        record_command(session, "wave_closed", f"wave:{wave_id}", {})
        session.commit()
        session.close()
        compact_storage(current.engine(app))
        click.echo(f"Wave {wave.number} is closed; its codes are no longer accepted.")


@survey.command("codes")
@click.argument("wave_id", type=int)
@click.option("--unit", "org_unit_ids", type=int, multiple=True,
              help="A unit to issue codes for (repeatable).")
@click.option("--count", type=int, help="Codes per unit.")
@click.option("--headcount", is_flag=True,
              help="As many codes as each unit's headcount (every unit with one, if no --unit).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The PDF of printable slips to write (it holds the codes: print, then delete).")
@click.option("--language", help="The slips' language (one of INTEGRITY_LANGUAGES); "
              "the first one if not given.")
def survey_codes(wave_id: int, org_unit_ids: tuple[int, ...], count: int | None, headcount: bool,
                 out: Path, language: str | None) -> None:
    """Issue one-time access codes and write them as printable slips (PDF, 8 per A4 page)."""
    from surveys.codes import issue_codes, survey_title
    from surveys.slips import slips_pdf

    if (count is None) == (not headcount):
        raise click.UsageError("Give either --count N or --headcount.")
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite it.")
    with _context() as (app, session):
        wave = _wave(session, wave_id)
        org_units = ([_org_unit(session, uid) for uid in org_unit_ids] if org_unit_ids else
                     list(session.scalars(select(OrgUnit).where(OrgUnit.headcount > 0)
                                          .order_by(OrgUnit.name))) if headcount else [])
        if not org_units:
            raise click.UsageError("Name at least one --unit.")
        counts = {org_unit: (org_unit.headcount if headcount else count or 0)
                  for org_unit in org_units}
        settings = current.settings(app)
        language = _language(settings, language)
        issued = issue_codes(session, _secret(app), wave, counts)
        _write_private(out, slips_pdf(issued, survey_title(wave.survey, language),
                                      settings.public_url, language))
        record_command(session, "codes_issued", f"wave:{wave_id}",
               {"codes": len(issued), "units": [org_unit.id for org_unit in org_units]})
        session.commit()
    click.echo(f"Issued {len(issued)} code(s) for {len(org_units)} unit(s); slips in {out}.")
    click.echo("The codes exist only in that file: print it, then delete it.")


def _language(settings: Settings, language: str | None) -> str:
    """The --language asked for, which must be one the installation offers; else its first."""
    if language is None:
        return settings.languages[0]
    if language not in settings.languages:
        raise click.UsageError(f"--language must be one of {', '.join(settings.languages)}.")
    return language


def _org_unit(session: Session, org_unit_id: int) -> OrgUnit:
    org_unit = session.get(OrgUnit, org_unit_id)
    if org_unit is None:
        raise SurveyError(f"There is no unit number {org_unit_id}.")
    return org_unit


@survey.command("mail")
@click.argument("wave_id", type=int)
@click.option("--unit", "org_unit_id", required=True, type=int, help="The unit of these people.")
@click.option("--addresses", required=True, type=click.File("r"),
              help="A file with one e-mail address per line ('-' reads standard input).")
@click.option("--language", help="The language to write in to addresses that belong to no "
              "staff account (one of INTEGRITY_LANGUAGES; the first one if not given). A staff "
              "member is written to in the language of their account.")
def survey_mail(wave_id: int, org_unit_id: int, addresses: TextIO, language: str | None) -> None:
    """E-mail one fresh code to each address. The addresses are kept until the wave closes, for
    its reminders (halfway and 2 days before the closing day); not which code went where."""
    from surveys.codes import email_codes

    lines = addresses.read().splitlines()
    with _context() as (app, session):
        settings = current.settings(app)
        try:
            mailing = email_codes(session, _secret(app), settings, _wave(session, wave_id),
                                  _org_unit(session, org_unit_id), lines,
                                  _language(settings, language))
        except MailError as exc:
            raise click.ClickException(f"Nothing was sent: {exc}") from exc
        record_command(session, "codes_mailed", f"wave:{wave_id}",
               {"sent": mailing.sent, "failed": len(mailing.failed), "unit": org_unit_id})
        session.commit()
    click.echo(f"Sent {mailing.sent} code(s).")
    if mailing.failed:
        click.echo("Could not send to line(s) " + ", ".join(map(str, mailing.failed))
                   + "; no code was stored for them.", err=True)
        sys.exit(1)


@survey.command("rates")
@click.argument("wave_id", type=int)
def survey_rates(wave_id: int) -> None:
    """Response rate per unit so far: codes used / codes issued, withheld where too few have
    answered (INTEGRITY_SURVEY_MIN_RESPONSES), as on the waves page."""
    from surveys.results import shown_rates, thresholds_from

    with _context() as (app, session):
        settings = current.settings(app)
        for rate in shown_rates(session, _wave(session, wave_id), thresholds_from(settings)):
            if rate.used is None or rate.issued is None:
                click.echo(f"{rate.name}: withheld (fewer than "
                           f"{settings.survey_min_responses} answers)")
            else:
                click.echo(f"{rate.name}: {rate.used}/{rate.issued} ({rate.rate or 0:.0%})")


@survey.command("compact")
def survey_compact() -> None:
    """Rewrite the survey tables so their storage keeps no order of arrival."""
    from surveys.waves import compact_storage

    with _context() as (app, _session):
        compact_storage(current.engine(app))
    click.echo("Survey tables compacted.")
