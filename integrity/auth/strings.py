"""What the staff pages' scripts may say (translated here, read by ``pageStrings``)."""

from __future__ import annotations

from flask_babel import gettext as _

from integrity.auth.services import WEAK_PASSPHRASE


def _split_failures() -> dict[str, str]:
    # One sentence for each way the split on the device can fail; each says nothing was sent.
    return {
        "worker": _("This browser could not start the part of the page that splits your "
                    "passphrase on this device, so nothing was sent."),
        "limited": _("Too many sign-in requests came from this network just now, so nothing "
                     "was sent: wait a minute and try again."),
        "server": _("The server could not prepare the split of your passphrase, so nothing "
                    "was sent: try again in a moment."),
        "derive": _("This device could not split your passphrase (it may be short of memory), "
                    "so nothing was sent: close other tabs and try again."),
    }


def login_strings() -> dict[str, str]:
    return {**_split_failures(),
            "missing": _("Enter your e-mail address and your passphrase.")}


def passphrase_strings() -> dict[str, str]:
    return {**_split_failures(),
            "missing": _("Enter your current passphrase and the new one twice."),
            "mismatch": _("The two passphrases differ."),
            "weak": str(WEAK_PASSPHRASE),
            "relock": _("The current passphrase is not correct, or this browser could not "
                        "protect your key with the new passphrase, so nothing was "
                        "changed.")}


def setup_strings() -> dict[str, str]:
    return {**_split_failures(),
            "mismatch": _("The two passphrases differ."),
            "weak": str(WEAK_PASSPHRASE)}
