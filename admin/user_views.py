"""Staff accounts: the list, invitations, roles, deactivation, second-factor resets."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin import users
from admin.blueprint import actor, bp, list_args
from admin.forms import ConfirmForm, InviteForm, ResetForm, RoleForm, SendLinkForm
from admin.mail import MailError, send_setup_link
from integrity import current
from integrity.auth.invitations import pending
from integrity.auth.services import AccountError
from integrity.changes import Change, commit_unless
from integrity.db import get_or_404, get_session
from integrity.i18n import language_choices, language_of, languages
from integrity.models import Role, User


def _setup_url(token: str, user: User) -> str:
    # The installation's public address, not the one this request came in on; in the
    # invitee's language, which the pages before sign-in take from the address.
    return current.settings().public_url.rstrip("/") + url_for(
        "auth.setup_link", token=token, lang=language_of(user))


@bp.route("/users")
def user_list() -> str:
    query, page = list_args()
    role = request.args.get("role", "")
    db = get_session()
    found = users.list_users(db, query=query, role=role, page=page)
    return render_template("admin/users.html", users=found, query=query, role=role,
                           invitations=users.invitations_of(db, found.items),
                           expired=users.invitation_expired)


def _link_page(user: User, token: str, send: bool) -> str:
    """The set-up link, shown this once (it is stored only as a hash)."""
    link = _setup_url(token, user)
    mailed = None
    if send:
        try:
            send_setup_link(current.settings(), user, link, current.settings().invitation_hours)
            mailed = True
        except MailError:
            mailed = False
    return render_template("admin/link.html", user=user, link=link, mailed=mailed,
                           hours=current.settings().invitation_hours)


@bp.route("/users/invite", methods=["GET", "POST"])
def invite() -> str:
    form = InviteForm(language=languages()[0])
    form.language.choices = language_choices()
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, AccountError, form.email) as change:
            user, token = users.invite(db, actor(), email=form.email.data, name=form.name.data,
                                       role=Role(form.role.data),
                                       hours=current.settings().invitation_hours,
                                       language=form.language.data)
        if change.stored:
            return _link_page(user, token, bool(form.send.data))
    return render_template("admin/invite.html", form=form,
                           hours=current.settings().invitation_hours)


@bp.route("/users/<int:user_id>")
def user(user_id: int) -> str:
    account = get_or_404(User, user_id)
    db = get_session()
    invitation = pending(db, account)
    return render_template(
        "admin/user.html", user=account, invitation=invitation,
        expired=users.invitation_expired(invitation), role_form=RoleForm(role=account.role),
        last_admin=users.is_last_admin(db, account),
        cases=users.cases_at_stake(db, account) if account.role == Role.INSPECTOR else [],
    )


def _back(account: User, change: Change, done: str) -> Response:
    """The user page again, saying ``done`` if the change was stored."""
    if change.stored:
        flash(done, "success")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.route("/users/<int:user_id>/link", methods=["GET", "POST"])
def new_link(user_id: int) -> str | Response:
    """A new set-up link for an account not set up yet; the old link stops working."""
    account = get_or_404(User, user_id)
    form = SendLinkForm()
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, AccountError) as change:
            token = users.renew_link(db, actor(), account, current.settings().invitation_hours)
        if not change.stored:
            return redirect(url_for("admin.user", user_id=account.id))
        return _link_page(account, token, bool(form.send.data))
    return render_template("admin/confirm_link.html", user=account, form=form,
                           hours=current.settings().invitation_hours)


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate(user_id: int) -> str | Response:
    account = get_or_404(User, user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with commit_unless(get_session(), AccountError) as change:
            users.deactivate(get_session(), actor(), account)
        return _back(account, change, _("%(name)s can no longer sign in.", name=account.name))
    return render_template("admin/confirm_user.html", user=account, form=form,
                           action="deactivate",
                           last_admin=users.is_last_admin(get_session(), account))


@bp.route("/users/<int:user_id>/reactivate", methods=["GET", "POST"])
def reactivate(user_id: int) -> str | Response:
    account = get_or_404(User, user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with commit_unless(get_session(), AccountError) as change:
            users.reactivate(get_session(), actor(), account)
        return _back(account, change, _("%(name)s can sign in again.", name=account.name))
    return render_template("admin/confirm_user.html", user=account, form=form,
                           action="reactivate", last_admin=False)


@bp.route("/users/<int:user_id>/role", methods=["GET", "POST"])
def role(user_id: int) -> str | Response:
    """Step one (GET, from the user page) says what the change does; step two makes it."""
    account = get_or_404(User, user_id)
    form = RoleForm(request.form if request.method == "POST" else request.args,
                    meta={"csrf": request.method == "POST"})
    if not form.validate():
        flash(_("Choose one of the roles."), "error")
        return redirect(url_for("admin.user", user_id=account.id))
    new_role = Role(form.role.data)
    if request.method == "POST":
        with commit_unless(get_session(), AccountError) as change:
            users.change_role(get_session(), actor(), account, new_role)
        return _back(account, change, _("%(name)s has a new role.", name=account.name))
    return render_template("admin/confirm_role.html", user=account,
                           form=RoleForm(role=new_role), new_role=new_role,
                           last_admin=users.is_last_admin(get_session(), account))


@bp.route("/users/<int:user_id>/reset", methods=["GET", "POST"])
def reset(user_id: int) -> str | Response:
    """Reset a lost second factor (and, for an inspector, the key pair), with a reason."""
    account = get_or_404(User, user_id)
    db = get_session()
    form = ResetForm()
    if form.validate_on_submit():
        with commit_unless(db, AccountError, form.reason) as change:
            outcome = users.reset_second_factor(
                db, actor(), account, form.reason.data,
                passphrase_lost=bool(form.passphrase_lost.data),
                hours=current.settings().invitation_hours)
        if change.stored:
            link = _setup_url(outcome.token, account) if outcome.token else None
            return render_template("admin/reset_done.html", user=account, outcome=outcome,
                                   open_cases=users.open_cases, link=link,
                                   hours=current.settings().invitation_hours)
    cases = users.cases_at_stake(db, account) if account.role == Role.INSPECTOR else []
    return render_template("admin/reset.html", user=account, form=form,
                           to_share=users.open_cases([c for c in cases if c.others]),
                           unreadable=users.open_cases([c for c in cases if not c.others]))
