"""The settings page: values stored over the environment's, and a test of the mail server."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin import settings as stored_settings
from admin.blueprint import actor, bp
from admin.forms import MailTestForm, settings_form
from admin.mail import MailError, send_test_message
from integrity import current
from integrity.access import readable_by
from integrity.audit import record
from integrity.db import get_session
from integrity.models import Installation, Role


def _page(form: object, mail_form: MailTestForm) -> str:
    db = get_session()
    installation = db.get(Installation, 1)
    return render_template(
        "admin/settings.html", form=form, mail_form=mail_form,
        editable=stored_settings.EDITABLE, stored=stored_settings.stored(db),
        environment=stored_settings.environment_settings(current_app),
        recovery_key=installation.recovery_public_key if installation else None,
        mail=current.settings())


@bp.route("/settings", methods=["GET", "POST"])
@readable_by(Role.AUDITOR)  # shown, not sent: integrity/access.py refuses an auditor's POST
def settings_page() -> str | Response:
    in_force = current.settings()
    form = settings_form(stored_settings.EDITABLE)(
        data={name: getattr(in_force, name) for name in stored_settings.EDITABLE})
    mail_form = MailTestForm(address=actor().email)
    if form.validate_on_submit():
        db = get_session()
        environment = stored_settings.environment_settings(current_app)
        values = {name: form[name].data for name in stored_settings.EDITABLE}
        problems = stored_settings.problems(values, environment)
        for name, problem in problems.items():
            form[name].errors = [*form[name].errors, problem]
        if not problems:
            changed = stored_settings.save(db, environment, values)
            if changed:
                record(db, actor=actor(), action="settings_changed", subject="settings",
                       details={"changed": changed})
            db.commit()
            stored_settings.refresh(current_app, force=True)
            flash(_("The settings were saved; they apply at once.") if changed
                  else _("Nothing was changed."), "success")
            return redirect(url_for("admin.settings_page"))
    return _page(form, mail_form)


@bp.route("/settings/mail-test", methods=["POST"])
def mail_test() -> str | Response:
    """Send a test message with the mail settings and say what happened."""
    mail_form = MailTestForm()
    if mail_form.validate_on_submit():
        address = (mail_form.address.data or "").strip()
        try:
            send_test_message(current.settings(), address)
        except MailError as exc:
            flash(_("The test message could not be sent: %(reason)s", reason=str(exc)), "error")
            sent = False
        else:
            flash(_("A test message was sent to %(address)s.", address=address), "success")
            sent = True
        db = get_session()
        mail = current.settings()
        record(db, actor=actor(), action="mail_test_sent", subject="settings",
               details={"sent": sent, "server": f"{mail.mail_host}:{mail.mail_port}"})
        db.commit()
        return redirect(url_for("admin.settings_page"))
    in_force = current.settings()
    form = settings_form(stored_settings.EDITABLE)(
        formdata=None, data={name: getattr(in_force, name) for name in stored_settings.EDITABLE})
    return _page(form, mail_form)
