"""Sign-in in two steps (passphrase, then code), enrolment, sign-out, passphrase change."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh
from werkzeug.wrappers import Response

import crypto
from integrity import current, i18n
from integrity.access import current_user, login_required, public, safe_next
from integrity.audit import record
from integrity.auth import invitations, services, strings
from integrity.auth.forms import (
    CodeForm,
    EmptyForm,
    LoginForm,
    NotificationsForm,
    PasswordChangeForm,
    SetupForm,
)
from integrity.changes import flash_form_errors
from integrity.db import get_session
from integrity.extensions import address_key, limiter
from integrity.models import Invitation, Role, User
from integrity.notifications.outbox import batch_hours

bp = public(Blueprint("auth", __name__, url_prefix="/staff"))

PENDING_SECONDS = 300
HOME_BY_ROLE = {
    Role.ADMIN: "admin.index",
    Role.INSPECTOR: "cases.inbox",
    Role.MANAGER: "dashboard.index",
    Role.AUDITOR: "admin.audit",
}


def _login_key() -> str:
    # Keyed hash of the account name: this limit follows the account, whoever asks.
    email = services.normalise_email(request.form.get("email", ""))
    secret = current_app.secret_key
    assert isinstance(secret, str)
    return "login:" + hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()


def _pending_key() -> str:
    return f"totp:{(session.get('pending') or {}).get('uid', 'none')}"


def _pending_user() -> User | None:
    """The user who passed the passphrase step in the last few minutes, if any."""
    pending = session.get("pending")
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop("pending", None)
        return None
    user = get_session().get(User, pending["uid"])
    return user if user is not None and user.active else None


def home_for(user: User) -> str:
    return url_for(HOME_BY_ROLE[user.role])


def _complete_login(user: User) -> Response:
    """Open the session and send the user on; the caller has checked every factor."""
    next_url = safe_next((session.get("pending") or {}).get("next"))
    db = get_session()
    token = services.open_session(db, user)
    record(db, actor=user, action="login")
    db.commit()
    session.clear()
    session["sid"] = token
    if user.must_change_password:
        return redirect(url_for("auth.password"))
    if user.role == Role.INSPECTOR:
        # The page there completes the wrapping key with the server's share (and re-wraps a
        # scheme-1 key) before the inspector's pages need it.
        return redirect(url_for("auth.key_unlock", next=next_url or None))
    return redirect(next_url or home_for(user))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current.settings().ratelimit_login, key_func=_login_key, methods=["POST"])
@limiter.limit(lambda: current.settings().ratelimit_login_address, key_func=address_key,
               methods=["POST"])
def login() -> str | Response:
    """The sign-in page. Its script sends a login value split from the passphrase on the
    device (``derived``); the form without JavaScript (``?form=plain``) sends the passphrase,
    which only administrators and managers may do."""
    if current_user() is not None:
        return redirect(home_for(current_user()))  # type: ignore[arg-type]
    form = LoginForm(next=request.args.get("next", ""))
    plain = _plain(form.derived.data)
    if form.validate_on_submit():
        db = get_session()
        try:
            user = services.authenticate(db, current.hasher(), form.email.data, form.password.data,
                                         derived=not plain)
        except services.AccountError:
            user = None
        refusal = (str(services.PLAIN_REFUSAL) if plain
                   else _("That e-mail address and passphrase do not match."))
        if user is None:
            # An unknown address is not written down: people type passphrases into it.
            known = services.find_user(db, form.email.data)
            record(db, actor=known, actor_label=None if known else "unknown account",
                   action="login_failed", details={"step": "passphrase"})
            db.commit()
            form.password.errors.append(refusal)
        else:
            db.commit()
            session.clear()
            session["pending"] = {"uid": user.id, "at": time.time(), "next": form.next.data}
            if user.totp_enabled:
                return redirect(url_for("auth.code"))
            if user.role.requires_totp:
                return redirect(url_for("auth.enrol"))
            return _complete_login(user)
    return render_template("auth/login.html", form=form, plain=plain,
                           page_strings=strings.login_strings(),
                           needs_script=services.INSPECTOR_NEEDS_SCRIPT)


def _plain(derived: str | None) -> bool:
    """Whether to answer with the form without JavaScript: asked for, or posted from it."""
    if request.method == "POST":
        return derived != "1"
    return request.args.get("form") == "plain"


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current.settings().ratelimit_totp, key_func=_pending_key, methods=["POST"])
def code() -> str | Response:
    user = _pending_user()
    if user is None or not user.totp_enabled:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if services.verify_totp(get_session(), current.hasher(), user, form.code.data):
            return _complete_login(user)
        db = get_session()
        record(db, actor=user, action="login_failed", details={"step": "second factor"})
        db.commit()
        form.code.errors.append(_("That code is not valid. Wait for a new one and retry."))
    return render_template("auth/code.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(lambda: current.settings().ratelimit_totp, key_func=_pending_key, methods=["POST"])
def enrol() -> str | Response:
    """First sign-in of an admin or inspector: set up the authenticator before going on."""
    user = _pending_user()
    if user is None or user.totp_enabled:
        return redirect(url_for("auth.login"))
    return _enrolment(user, on_success=lambda: _complete_login(user))


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
def two_factor() -> str | Response:
    """A signed-in user (a manager, typically) turns the optional second factor on."""
    user = g.user
    if user.totp_enabled:
        return redirect(url_for("auth.account"))

    def done() -> Response:
        get_session().commit()
        flash(_("Two-factor sign-in is now on."), "success")
        return redirect(url_for("auth.account"))

    return _enrolment(user, on_success=done)


def _enrolment_secret(user: User) -> str:
    """The second-factor secret being enrolled. Between the page and the code it is kept in
    the session cookie sealed like a stored one, so that the cookie does not show it."""
    hasher = current.hasher()
    kept = session.get("enrol_secret")
    if isinstance(kept, str):
        try:
            return hasher.open_sealed_totp(user.id, crypto.b64decode(kept))
        except (ValueError, crypto.CryptoError):
            pass  # another account's, or from before the secret changed: a new one
    secret = services.new_totp_secret()
    session["enrol_secret"] = crypto.b64encode(hasher.seal_totp(user.id, secret))
    return secret


def _enrolment(user: User, on_success: Callable[[], Response]) -> str | Response:
    secret = _enrolment_secret(user)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            services.confirm_totp(current.hasher(), user, secret, form.code.data)
        except services.AccountError as exc:
            form.code.errors.append(str(exc))
        else:
            session.pop("enrol_secret", None)
            record(get_session(), actor=user, action="second_factor_enrolled")
            return on_success()
    return render_template(
        "auth/enrol.html",
        form=form,
        secret=secret,
        qr_svg=services.totp_qr_svg(secret, user.email),
    )


@bp.route("/account")
@login_required
def account() -> str:
    notifications = NotificationsForm(notify=g.user.notify, digest_hour=str(g.user.digest_hour))
    return render_template("auth/account.html", user=g.user, form=EmptyForm(),
                           notifications=notifications,
                           batch_hours=", ".join(f"{hour:02d}:00"
                                                 for hour in batch_hours(current.settings())))


@bp.route("/notifications", methods=["POST"])
@login_required
def notifications() -> Response:
    """Keep how the inspector is told of new cases, messages and deadlines."""
    form = NotificationsForm()
    if form.validate_on_submit():
        try:
            services.set_notifications(g.user, form.notify.data or "",
                                       int(form.digest_hour.data or 0))
        except (services.AccountError, ValueError) as exc:
            flash(str(exc), "error")
        else:
            get_session().commit()
            flash(_("Your choice of notifications is saved."), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("auth.account"))


@bp.route("/language", methods=["POST"])
@login_required
def language() -> Response:
    """Keep the language chosen in the footer or on "My account" with the account."""
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            services.set_language(g.user, request.form.get("language", ""), i18n.languages())
        except services.AccountError as exc:
            flash(str(exc), "error")
        else:
            get_session().commit()
            refresh()  # this request's message already in the new language
            flash(_("Your language is saved: your pages and the e-mails sent to you use it."),
                  "success")
    return redirect(safe_next(request.form.get("next")) or url_for("auth.account"))


@bp.route("/two-factor/off", methods=["POST"])
@login_required
def two_factor_off() -> Response:
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            services.disable_totp(g.user)
        except services.AccountError as exc:
            flash(str(exc), "error")
        else:
            record(get_session(), actor=g.user, action="second_factor_removed")
            get_session().commit()
            flash(_("Two-factor sign-in is now off."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> str | Response:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            services.change_password(current.hasher(), g.user, _passphrase_change(form))
        except services.AccountError as exc:
            form.new.errors.append(str(exc))
        else:
            services.close_other_sessions(db, g.user, keep_token=session.get("sid"))
            record(db, actor=g.user, action="password_changed")
            db.commit()
            flash(_("Your passphrase has been changed. Other sessions were signed out."), "success")
            return redirect(home_for(g.user))
    inspector = g.user.role == Role.INSPECTOR
    return render_template("auth/password.html", form=form, forced=g.user.must_change_password,
                           plain=_plain(form.derived.data) and not inspector,
                           page_strings=strings.passphrase_strings(),
                           needs_script=_("Inspectors need JavaScript to change their "
                                          "passphrase, because it also protects their key."))


def _passphrase_change(form: PasswordChangeForm) -> services.PassphraseChange:
    derived = form.derived.data == "1"

    def optional_b64(value: str | None) -> bytes | None:
        try:
            return crypto.b64decode(value) if value else None
        except crypto.EncodingError:
            return None

    return services.PassphraseChange(
        current=form.current.data, new=form.new.data, derived=derived,
        new_salt=optional_b64(form.new_salt.data) if derived else None,
        new_wrapped_key=optional_b64(form.new_wrapped_key.data) if derived else None,
    )


@bp.route("/setup/<token>")
def setup_link(token: str) -> str | Response | tuple[str, int]:
    """A set-up link: remember which invitation in the session, and drop the token from the
    address bar (and so from what the next pages could leak)."""
    invitation = invitations.find(get_session(), token)
    if invitation is None:
        return render_template("admin/setup_invalid.html"), 404
    session.clear()
    session["setup"] = {"id": invitation.id, "at": time.time()}
    return redirect(url_for("auth.setup"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> str | Response | tuple[str, int]:
    """The invitee chooses a passphrase, then goes on to the second factor and the key."""
    db = get_session()
    invitation_id = (session.get("setup") or {}).get("id")
    invitation = db.get(Invitation, invitation_id) if invitation_id else None
    if not invitations.is_live(invitation):
        session.pop("setup", None)
        return render_template("admin/setup_invalid.html"), 404
    assert invitation is not None
    user = invitation.user
    form = SetupForm()
    if form.validate_on_submit():
        try:
            invitations.accept(db, current.hasher(), invitation, _first_passphrase(form))
        except services.AccountError as exc:
            form.new.errors.append(str(exc))
        else:
            record(db, actor=user, action="invitation_accepted", subject=f"user:{user.id}")
            db.commit()
            session.clear()
            session["pending"] = {"uid": user.id, "at": time.time(), "next": ""}
            if user.role.requires_totp:
                return redirect(url_for("auth.enrol"))
            return _complete_login(user)
    return render_template("admin/setup.html", form=form, user=user,
                           opslimit=current.hasher().login_opslimit,
                           memlimit=current.hasher().login_memlimit,
                           plain=_plain(form.derived.data) and user.role != Role.INSPECTOR,
                           page_strings=strings.setup_strings())


def _first_passphrase(form: SetupForm) -> invitations.FirstPassphrase:
    derived = form.derived.data == "1"
    salt = None
    if derived:
        try:
            salt = crypto.b64decode(form.new_salt.data or "")
        except crypto.EncodingError:
            salt = None
    return invitations.FirstPassphrase(new=form.new.data, derived=derived, salt=salt)


# Limited per client address only: the answer reveals nothing (unknown addresses and
# deactivated accounts get stable made-up parameters) and guessing still goes through the
# limited sign-in itself. No limit shared by all: a flood from one client would then keep
# every other one from signing in.
@bp.route("/login/params", methods=["POST"])
@limiter.limit(lambda: current.settings().ratelimit_login_address, key_func=address_key)
def login_params() -> Response:
    """The salt and cost the sign-in page needs to split a passphrase on the device."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not email.strip():
        return jsonify(error=_("Enter your e-mail address.")), 400  # type: ignore[return-value]
    secret = current_app.secret_key
    assert isinstance(secret, str)
    params = services.login_params(current.hasher(), secret, get_session(), email)
    return jsonify(params.as_json())


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    form = EmptyForm()
    token = session.get("sid")
    if form.validate_on_submit() and token:
        db = get_session()
        services.close_session(db, token)
        record(db, actor=g.get("user"), action="logout")
        db.commit()
    session.clear()
    flash(_("You are signed out."), "info")
    response = redirect(url_for("auth.login"))
    # The browser drops what this site kept on the device (the tab's wrapping key among it).
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


@bp.route("/")
@login_required
def home() -> Response:
    return redirect(home_for(g.user))


def load_user() -> None:
    """Before each request: who is signed in, with the idle timeout applied."""
    g.user = None
    if request.blueprint == "api":
        return  # the reporting API takes no cookie and has no ambient authority
    token = session.get("sid")
    if not token:
        return
    db = get_session()
    user = services.resolve_session(
        db, token, timedelta(minutes=current.settings().idle_timeout_minutes)
    )
    if db.dirty or db.deleted:
        db.commit()
    if user is None:
        session.clear()
        flash(_("Your session has ended. Please sign in again."), "info")
        return
    g.user = user


@bp.route("/key")
@login_required
def key() -> str | Response:
    """An inspector's key: made in the browser at first sign-in, wrapped there."""
    if g.user.role != Role.INSPECTOR:
        return redirect(home_for(g.user))
    return render_template("auth/key.html", user=g.user, form=EmptyForm())


@bp.route("/key", methods=["POST"])
@login_required
def key_save() -> tuple[Response, int] | Response:
    """Store the public key and the wrapped private key the page made (form token in a header)."""
    body = request.get_json(silent=True) if request.mimetype == "application/json" else None
    db = get_session()
    try:
        if g.user.role != Role.INSPECTOR:
            raise services.AccountError(_("Only inspectors have keys."))
        if not isinstance(body, dict):
            raise services.AccountError(_("The request body must be a JSON object."))
        services.set_inspector_key(g.user, body.get("public_key"), body.get("wrapped_key"))
    except services.AccountError as exc:
        return jsonify(error=str(exc)), 400
    record(db, actor=g.user, action="key_changed", subject=f"user:{g.user.id}",
           details={"fingerprint": crypto.fingerprint(g.user.public_key or b"")})
    db.commit()
    return jsonify(status="saved", next=home_for(g.user)), 201


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/key/share")
def key_share() -> tuple[Response, int] | Response:
    """The server's share of the signed-in inspector's wrapping key (docs/inspector-keys.md).

    Only for a complete session (passphrase and second factor): a sign-in waiting for its
    code has no session yet, and is refused like an anonymous request, with no redirect.
    """
    user = current_user()
    if user is None:
        return _no_store(jsonify(error=_("Please sign in again."))), 401
    if user.role != Role.INSPECTOR:
        return _no_store(jsonify(error=_("Only inspectors have keys."))), 403
    return _no_store(jsonify(share=crypto.b64encode(current.wrap_share(user.id)),
                             scheme=user.key_scheme))


@bp.route("/key/unlock")
@login_required
def key_unlock() -> str | Response:
    """After sign-in: the page completes this tab's wrapping key with the share, re-wraps a
    scheme-1 key under scheme 2, then goes on to ``next``."""
    if g.user.role != Role.INSPECTOR:
        return redirect(home_for(g.user))
    response = current_app.make_response(render_template(
        "auth/key_unlock.html", user=g.user, form=EmptyForm(),
        next_url=safe_next(request.args.get("next")) or home_for(g.user)))
    return _no_store(response)


@bp.route("/key/upgrade", methods=["POST"])
@login_required
def key_upgrade() -> tuple[Response, int]:
    """Store a scheme-1 key re-wrapped under scheme 2 by the page (form token in a header)."""
    body = request.get_json(silent=True) if request.mimetype == "application/json" else None
    db = get_session()
    try:
        if not isinstance(body, dict):
            raise services.AccountError(_("The request body must be a JSON object."))
        services.upgrade_wrapped_key(g.user, body.get("wrapped_key"))
    except services.AccountError as exc:
        return jsonify(error=str(exc)), 400
    record(db, actor=g.user, action="key_rewrapped", subject=f"user:{g.user.id}",
           details={"scheme": 2})
    db.commit()
    return jsonify(status="saved"), 200
