"""The page strings of reports of retaliation, risk assessments, protective measures and
check-ins, for the mailbox (static/js/mailbox-retaliation.mjs) and the case page
(static/js/case-protection.mjs)."""

from __future__ import annotations

from flask_babel import gettext as _

from integrity.cases.check_ins import CHECK_IN_TEXT
from integrity.cases.retaliation import WHAT_HAPPENED


def mailbox_retaliation_strings() -> dict[str, str]:
    return {
        "checkIns": _("Check-ins"),
        "fromService": _("From the reporting service"),
        "checkInText": str(CHECK_IN_TEXT),
        "backToReport": _("Back to your first report"),
        "linkedHeading": _("Your reports of retaliation"),
        "linkedItem": _("Report of retaliation sent on %(day)s"),
        "yourRetaliation": _("Your report of retaliation"),
        "reportRetaliation": _("Report retaliation"),
        "whatHappened": str(WHAT_HAPPENED.label),
        "retaliationHint": _("If you were treated badly because of your report (moved, refused "
                             "leave or promotion, threatened, isolated), tell the inspectors "
                             "here. It becomes a case of its own, sealed to the same inspectors, "
                             "and you follow it in this mailbox with the same receipt."),
        "sendRetaliation": _("Send the report of retaliation"),
        "sendingRetaliation": _("Sealing and sending your report of retaliation…"),
        "emptyRetaliation": _("Say what happened to you."),
        "retaliationSent": _("Your report of retaliation was sent. It is a case of its own, in "
                             "this same mailbox."),
        "stopHint": _("After a case is closed, this mailbox asks you a few times whether "
                      "anything has happened to you since your report. You can turn this off."),
        "stopCheckIns": _("No more check-ins"),
        "checkInsStopped": _("You will get no more check-ins in this mailbox."),
    }


def case_protection_strings() -> dict[str, str]:
    return {
        "riskAssessment": _("Risk assessment"),
        "measure": _("Protective measure"),
        "risk_low": _("Low risk"),
        "risk_medium": _("Medium risk"),
        "risk_high": _("High risk"),
        "measure_transfer": _("Transfer"),
        "measure_confidentiality_reminder": _("Confidentiality reminder"),
        "measure_support": _("Support offered"),
        "measure_other": _("Other measure"),
        "measure_lifted": _("Measure lifted"),
        "measureOn": _("From %(day)s"),
        "noProtection": _("No risk assessment or measure recorded yet."),
        "chooseLevel": _("Choose the level of risk."),
        "emptyReasoning": _("Give the reasons for the assessment."),
        "chooseMeasure": _("Choose the measure."),
        "measureDay": _("Give the day of the measure."),
        "riskSaved": _("The risk assessment was sealed and saved."),
        "measureSaved": _("The measure was sealed and saved."),
        "writtenBy": _("Recorded by %(name)s"),
    }
