"""Administration pages; administrators never see report content."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from admin import (  # noqa: F401 (routes)
    audit_views,
    channel_views,
    questionnaire_views,
    recipients,
    rights_views,
    settings_views,
    translation_views,
    unit_views,
    user_views,
)
from admin.blueprint import bp
from integrity.access import readable_by
from integrity.audit import entries, verify
from integrity.audit_names import names_for
from integrity.audit_register import check_register
from integrity.db import get_session
from integrity.models import Channel, OrgUnit, Role, User
from integrity.notifications.health import health

__all__ = ["AUDIT_ACTIONS", "bp"]

# What the audit page's filter offers: every action the system records. An action missing
# here still shows, under its code (tests/test_admin_audit.py checks the list is complete).
AUDIT_ACTIONS = {
    "login": _l("Signed in"),
    "login_failed": _l("Failed sign-in"),
    "logout": _l("Signed out"),
    "password_changed": _l("Passphrase changed"),
    "second_factor_enrolled": _l("Two-factor sign-in set up"),
    "second_factor_removed": _l("Two-factor sign-in removed"),
    "key_changed": _l("Key changed"),
    "key_rewrapped": _l("Key protected with the server's share"),
    "case_opened": _l("Case opened"),
    "status_changed": _l("Status changed"),
    "assigned": _l("Case assigned"),
    "case_shared": _l("Case shared"),
    "case_recused": _l("Inspector stepped away from a case"),
    "reader_removed": _l("Inspector taken off a case"),
    "closing_requested": _l("Closing of a case requested"),
    "closing_confirmed": _l("Closing of a case confirmed"),
    "closing_declined": _l("Closing of a case declined"),
    "message_sent": _l("Message sent to the reporter"),
    "note_written": _l("Internal note written"),
    "person_added": _l("Person concerned added"),
    "person_informed": _l("Person concerned informed"),
    "person_information_deferred": _l("Information of a person concerned deferred"),
    "person_heard": _l("Person concerned heard"),
    "person_outcome_notified": _l("Outcome notified to a person concerned"),
    "person_cleared": _l("Person concerned cleared"),
    "person_data_deleted": _l("Data of a person concerned deleted"),
    "risk_assessed": _l("Risk to a reporter assessed"),
    "protective_measure_recorded": _l("Protective measure recorded"),
    "export": _l("Export"),
    "case_purged": _l("Case deleted after retention"),
    "case_held": _l("Legal hold placed"),
    "case_hold_lifted": _l("Legal hold lifted"),
    "attachment_deleted": _l("File deleted from a case"),
    "message_deleted": _l("Message deleted from a case"),
    "message_redacted": _l("Passage removed from a message"),
    "voice_transcribed": _l("Voice message transcribed"),
    "meeting_answered": _l("Request for a meeting or a call answered"),
    "oral_report_recorded": _l("Oral report recorded"),
    "record_agreed": _l("Record agreed by the reporter"),
    "check_in_posted": _l("Check-in posted to the reporter"),
    "user_added": _l("Account added"),
    "user_invited": _l("Account invited"),
    "invitation_renewed": _l("New set-up link"),
    "invitation_accepted": _l("Account set up"),
    "user_deactivated": _l("Account deactivated"),
    "user_reactivated": _l("Account reactivated"),
    "role_changed": _l("Role changed"),
    "second_factor_reset": _l("Second factor reset"),
    "key_added": _l("Inspector key added"),
    "recovery_key_created": _l("Recovery key made"),
    "backup_made": _l("Backup made"),
    "backup_restored": _l("Installation restored from a backup"),
    "attachments_moved": _l("Attachments moved between the data folder and the database"),
    "org_key_pinned": _l("Organisation key pinned"),
    "key_certified": _l("Key certified by the organisation key"),
    "channel_added": _l("Channel added"),
    "channel_changed": _l("Channel changed"),
    "recipient_change_proposed": _l("Change of recipients proposed"),
    "recipient_change_confirmed": _l("Change of recipients confirmed"),
    "recipient_change_declined": _l("Change of recipients declined"),
    "channel_state_changed": _l("Channel opened, hidden or closed"),
    "question_added": _l("Question added"),
    "question_changed": _l("Question changed"),
    "question_moved": _l("Question moved"),
    "question_removed": _l("Question removed"),
    "questionnaire_imported": _l("Questionnaire imported"),
    "category_added": _l("Category added"),
    "category_renamed": _l("Category renamed"),
    "category_moved": _l("Category moved"),
    "category_retired": _l("Category retired"),
    "category_restored": _l("Category restored"),
    "unit_added": _l("Unit added"),
    "unit_changed": _l("Unit changed"),
    "units_imported": _l("Units imported"),
    "settings_changed": _l("Settings changed"),
    "rights_page_changed": _l("Rights page changed"),
    "mail_test_sent": _l("Test message sent"),
    "survey_created": _l("Survey created"),
    "survey_imported": _l("Survey imported"),
    "survey_exported": _l("Survey exported"),
    "survey_changed": _l("Survey changed"),
    "survey_question_added": _l("Survey question added"),
    "survey_question_changed": _l("Survey question changed"),
    "survey_question_moved": _l("Survey question moved"),
    "survey_question_removed": _l("Survey question removed"),
    "survey_section_changed": _l("Survey section changed"),
    "survey_translated": _l("Survey translated"),
    "wave_added": _l("Survey wave planned"),
    "wave_opened": _l("Survey wave opened"),
    "wave_closed": _l("Survey wave closed"),
    "codes_issued": _l("Survey codes issued"),
    "codes_mailed": _l("Survey codes e-mailed"),
    "campaign_added": _l("Campaign added"),
    "campaign_changed": _l("Campaign changed"),
    "campaign_deleted": _l("Campaign deleted"),
    "translations_changed": _l("Translations changed"),
    "register": _l("Reports of the day registered"),
    "report_figures_kept": _l("Figures of deleted cases kept for the dashboard"),
    "audit_staff_pseudonymised": _l("Staff names removed from old audit entries"),
    "audit_chain_upgraded": _l("Audit chain hashed again at an upgrade"),
}


@bp.route("/")
def index() -> str:
    """The overview: what can be set up, with a few counts."""
    db = get_session()
    counts = {
        "users": db.scalar(select(func.count(User.id))) or 0,
        "channels": db.scalar(select(func.count(Channel.id))) or 0,
        "units": db.scalar(select(func.count(OrgUnit.id))) or 0,
    }
    return render_template("admin/index.html", counts=counts,
                           health=health(db, datetime.now(UTC)),
                           pending=recipients.pending(db))


@bp.route("/audit")
@readable_by(Role.AUDITOR)
def audit() -> str:
    """The audit log, newest first; the whole chain is checked when asked (?check=1)."""
    page = request.args.get("page", 1, type=int) or 1
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip()[:254]
    session = get_session()
    shown = entries(session, page=page, action=action or None, actor=actor or None)
    checking = bool(request.args.get("check"))
    return render_template(
        "admin/audit.html",
        # Reading every entry takes seconds at a million: only when the admin asks.
        check=verify(session) if checking else None,
        register=check_register(session) if checking else None,
        entries=shown,
        names=names_for(session, shown.items),
        action=action,
        actor=actor,
        actions=AUDIT_ACTIONS,
    )
