"""The audit log and the administration: the audit page names every action the system
records, and every change an administrator makes is recorded, with the chain intact."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select

from admin.views import AUDIT_ACTIONS
from integrity.audit import AuditEntry, verify
from integrity.models import Category, Channel, OrgUnit, Role, User
from tests.conftest import ChannelSetup
from tests.helpers.pages import post, signed_in

ROOT = Path(__file__).resolve().parent.parent
# Functions that record an entry: the audit log's own, and the helpers around it.
RECORDERS = {"record": "action", "_audit": 0, "_save": 2}


def _constants(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _action_table(node: ast.AST) -> list[str]:
    """The actions of a module's table of them by kind (``AUDIT_ACTIONS = {kind: "action"}``,
    recorded as ``action=AUDIT_ACTIONS[kind]``); the audit page's own has names for values."""
    if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
            isinstance(target, ast.Name) and target.id == "AUDIT_ACTIONS"
            for target in node.targets)):
        return []
    return [action for value in node.value.values for action in _constants(value)]


def recorded_actions() -> set[str]:
    """Every action name written literally where the code records an audit entry, or in a
    table of actions it records by kind."""
    found: set[str] = set()
    for folder in ("integrity", "admin", "surveys"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                found.update(_action_table(node))
                if not isinstance(node, ast.Call) or _name(node) not in RECORDERS:
                    continue
                where = RECORDERS[_name(node)]
                if isinstance(where, str):
                    values = [kw.value for kw in node.keywords if kw.arg == where]
                else:
                    strings = [arg for arg in node.args
                               if _constants(arg) or isinstance(arg, ast.IfExp)]
                    values = strings[:1] if where == 0 else node.args[where:where + 1]
                for value in values:
                    found.update(_constants(value))
    return found


def test_the_audit_page_names_every_action_the_system_records() -> None:
    actions = recorded_actions()
    # The scan itself finds actions from every part of the system.
    assert {"login", "case_shared", "message_sent", "note_written", "wave_opened",
            "wave_closed", "user_invited", "settings_changed", "case_purged",
            "risk_assessed", "person_heard"} <= actions
    assert actions - set(AUDIT_ACTIONS) == set()


def test_the_audit_filter_offers_the_administration_actions(app, make_account) -> None:
    client = signed_in(app, make_account(Role.ADMIN))
    page = client.get("/admin/audit").get_data(as_text=True)
    for code in ("case_shared", "message_sent", "note_written", "wave_opened", "wave_closed",
                 "second_factor_reset", "question_removed", "units_imported"):
        assert f'<option value="{code}"' in page


def test_every_administration_change_is_recorded_and_the_chain_holds(
        app, db, make_account, channel: ChannelSetup) -> None:
    admin = make_account(Role.ADMIN)
    manager = make_account(Role.MANAGER)
    client = signed_in(app, admin)
    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    question = row.questions[0]
    category = row.categories[0]
    org_unit = db.scalar(select(OrgUnit).order_by(OrgUnit.id))
    steps = [
        ("/admin/users/invite", {"name": "N", "email": "n@example.org", "role": "inspector"},
         "user_invited"),
        (f"/admin/users/{manager.id}/deactivate", {}, "user_deactivated"),
        (f"/admin/users/{manager.id}/reactivate", {}, "user_reactivated"),
        (f"/admin/users/{manager.id}/role", {"role": "inspector"}, "role_changed"),
        (f"/admin/users/{manager.id}/reset", {"reason": "lost"}, "second_factor_reset"),
        ("/admin/channels/new", {"slug": "c2", "name": "C2", "retention_days": "9"},
         "channel_added"),
        (f"/admin/channels/{row.id}", {"name": "Renamed", "retention_days": "99"},
         "channel_changed"),
        (f"/admin/channels/{row.id}/state/hidden", {}, "channel_state_changed"),
        (f"/admin/channels/{row.id}/questions/new", {"label": "L", "kind": "yes_no"},
         "question_added"),
        (f"/admin/questions/{question.id}", {"label": "New label", "kind": question.kind,
                                             "options": "\n".join(question.options)},
         "question_changed"),
        (f"/admin/questions/{question.id}/move", {"step": "1"}, "question_moved"),
        (f"/admin/questions/{question.id}/remove", {}, "question_removed"),
        (f"/admin/channels/{row.id}/categories", {"name": "New one"}, "category_added"),
        (f"/admin/categories/{category.id}", {"name": "Other"}, "category_renamed"),
        (f"/admin/categories/{category.id}/move", {"step": "1"}, "category_moved"),
        (f"/admin/categories/{category.id}/retire", {}, "category_retired"),
        (f"/admin/categories/{category.id}/restore", {}, "category_restored"),
        ("/admin/units/new", {"name": "U", "kind": "region", "headcount": "3", "parent_id": "",
                              "crossing_type": ""}, "unit_added"),
        (f"/admin/units/{org_unit.id}", {"name": org_unit.name, "kind": org_unit.kind,
                                         "headcount": "77",
                                         "parent_id": str(org_unit.parent_id or ""),
                                         "crossing_type": org_unit.crossing_type or ""},
         "unit_changed"),
        ("/admin/settings/mail-test", {"address": "a@example.org"}, "mail_test_sent"),
        (f"/admin/channels/{row.id}/translations/fr", {f"channel-{row.id}-name": "Canal"},
         "translations_changed"),
    ]
    for path, data, action in steps:
        before = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
        response = post(client, path, data, page="/admin/settings")
        assert response.status_code in (200, 302), (path, response.status_code)
        new = list(db.scalars(select(AuditEntry.action).where(AuditEntry.seq > before)))
        assert new == [action], (path, new)
        assert action in AUDIT_ACTIONS
    db.expire_all()
    assert db.get(User, manager.id).role == "inspector"
    assert db.get(Category, category.id).name == "Other"
    result = verify(db)
    assert result.ok and result.checked >= len(steps)
    # Whoever made each change is named.
    actors = set(db.scalars(select(AuditEntry.actor).where(
        AuditEntry.action.in_([action for _, _, action in steps]))))
    assert actors == {admin.email}
