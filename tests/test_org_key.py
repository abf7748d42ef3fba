"""The organisation key (integrity/org_key.py, integrity/org_key_cli.py): pinning, signing
requests, certificates made offline and imported all or nothing, each one audited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

import crypto
from crypto.certificates import OrgKey, verify_inspector_key
from integrity import current
from integrity.audit import AuditEntry, verify
from integrity.installation import get_installation
from integrity.models import User
from integrity.org_key import (
    OrgKeyError,
    certified,
    import_certificates,
    pin_org_key,
    recovery_certified,
    sign_requests,
    signing_requests,
)


@pytest.fixture
def org(app) -> OrgKey:
    """An organisation key, pinned in the app's data folder."""
    key = OrgKey.generate()
    assert pin_org_key(current.settings(app), key.public_key)
    return key


def _inspectors(db, channel) -> list[User]:
    return [db.get(User, int(rid)) for rid in sorted(channel.inspectors, key=int)]


def test_requests_list_the_keys_waiting_and_certificates_make_them_certified(
    app, db, channel, org
) -> None:
    settings = current.settings(app)
    get_installation(db, settings).recovery_public_key = crypto.KeyPair.generate().public_key
    db.commit()
    requests = signing_requests(db, settings)
    assert sorted(e["id"] for e in requests["inspectors"]) == sorted(channel.inspectors)
    assert requests["recovery"] is not None
    first = requests["inspectors"][0]
    assert first["fingerprint"] == crypto.fingerprint(crypto.b64decode(first["public_key"]))

    certificates = sign_requests(json.loads(json.dumps(requests)), org)
    assert import_certificates(db, settings, certificates) == 3
    db.commit()
    for user in _inspectors(db, channel):
        assert certified(user, org.public_key)
        assert verify_inspector_key(org.public_key, str(user.id), user.public_key,
                                    user.key_certificate)
    assert recovery_certified(get_installation(db, settings), org.public_key)
    again = signing_requests(db, settings)
    assert again["inspectors"] == [] and again["recovery"] is None
    actions = db.scalars(select(AuditEntry.action).where(
        AuditEntry.action == "key_certified")).all()
    assert len(actions) == 3 and verify(db).ok


def test_a_new_key_waits_for_its_own_certificate(app, db, channel, org) -> None:
    settings = current.settings(app)
    import_certificates(db, settings, sign_requests(signing_requests(db, settings), org))
    db.commit()
    user = _inspectors(db, channel)[0]
    user.public_key = crypto.KeyPair.generate().public_key
    db.commit()
    assert user.key_certificate is None and not certified(user, org.public_key)
    assert [e["id"] for e in signing_requests(db, settings)["inspectors"]] == [str(user.id)]


def test_certificates_for_a_key_replaced_since_are_refused_and_nothing_is_stored(
    app, db, channel, org
) -> None:
    settings = current.settings(app)
    certificates = sign_requests(signing_requests(db, settings), org)
    first, second = _inspectors(db, channel)
    second.public_key = crypto.KeyPair.generate().public_key
    db.commit()
    with pytest.raises(OrgKeyError, match="no longer has the key"):
        import_certificates(db, settings, certificates)
    db.rollback()
    assert db.get(User, first.id).key_certificate is None


@pytest.mark.parametrize("tamper", ["signature", "id", "org"])
def test_a_forged_or_foreign_certificate_file_is_refused(app, db, channel, org,
                                                         tamper: str) -> None:
    settings = current.settings(app)
    requests = signing_requests(db, settings)
    if tamper == "org":
        other = OrgKey.generate()
        certificates = sign_requests({**requests,
                                      "org_public_key": crypto.b64encode(other.public_key)},
                                     other)
        expected = "another organisation key"
    else:
        certificates = sign_requests(requests, org)
        entries = certificates["inspectors"]
        if tamper == "signature":
            raw = bytearray(crypto.b64decode(entries[1]["certificate"]))
            raw[5] ^= 1
            entries[1]["certificate"] = crypto.b64encode(bytes(raw))
        else:  # a certificate moved to another inspector
            entries[0]["certificate"], entries[1]["certificate"] = (
                entries[1]["certificate"], entries[0]["certificate"])
        expected = "does not verify"
    with pytest.raises(OrgKeyError, match=expected):
        import_certificates(db, settings, certificates)
    db.rollback()
    assert all(user.key_certificate is None for user in _inspectors(db, channel))


def test_requests_for_another_organisation_key_are_not_signed(app, db, channel, org) -> None:
    requests = signing_requests(db, current.settings(app))
    with pytest.raises(OrgKeyError, match="another organisation key"):
        sign_requests(requests, OrgKey.generate())
    with pytest.raises(OrgKeyError, match="not a file of the expected kind"):
        sign_requests({"format": "something else"}, org)


def test_without_a_pinned_key_nothing_is_requested(app, db, channel) -> None:
    with pytest.raises(OrgKeyError, match="No organisation key is pinned"):
        signing_requests(db, current.settings(app))


def test_replacing_the_pinned_key_needs_to_be_asked_for(app, org) -> None:
    settings = current.settings(app)
    assert not pin_org_key(settings, org.public_key)  # the same key: nothing to do
    other = OrgKey.generate()
    with pytest.raises(OrgKeyError, match="--replace"):
        pin_org_key(settings, other.public_key)
    assert pin_org_key(settings, other.public_key, replace=True)
    assert settings.load_org_public_key() == other.public_key


def test_the_org_key_file_round_trips_and_refuses_a_mismatch() -> None:
    from crypto.certificates import dump_org_key_file, load_org_key_file

    org = OrgKey.generate()
    assert load_org_key_file(dump_org_key_file(org)).seed == org.seed
    data = json.loads(dump_org_key_file(org))
    data["public_key"] = crypto.b64encode(OrgKey.generate().public_key)
    with pytest.raises(crypto.KeyFileError):
        load_org_key_file(json.dumps(data))
    with pytest.raises(crypto.KeyFileError):
        load_org_key_file(crypto.dump_key_file(crypto.KeyPair.generate(), "x"))


@pytest.mark.parametrize("demo_env", ["sqlite"], indirect=True)  # the commands, once
def test_the_whole_ceremony_on_the_command_line(tmp_path: Path, demo_env) -> None:
    integrity = str(Path(sys.executable).with_name("integrity"))
    env = demo_env  # after `integrity init` and `integrity demo`

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([integrity, *args], env=env, capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, input=stdin)

    lone = run("org-key", "init", "--witness", "Ana", "--sheet", "lone.html")
    assert lone.returncode != 0 and "Two different administrators" in lone.stderr
    made = run("org-key", "init", "--witness", "Ana", "--witness", "Bilal")
    assert made.returncode == 0, made.stderr
    sheet = tmp_path / "org-key-sheet.html"
    assert sheet.stat().st_mode & 0o077 == 0 and "Ana, Bilal" in sheet.read_text()
    key_file = sheet.read_text().split("<pre>")[1].split("</pre>")[0].replace("&quot;", '"')
    (tmp_path / "org.key").write_text(key_file)
    public = made.stdout.split("Public key: ")[1].split()[0]

    # `integrity demo` pinned the published demo key: the real one replaces it.
    refused = run("org-key", "pin", public)
    assert refused.returncode != 0 and "--replace" in refused.stderr
    assert run("org-key", "pin", public, "--replace").returncode == 0
    assert (tmp_path / "data" / "org_public_key").read_text().strip() == public
    assert run("org-key", "requests", "--out", "requests.json").returncode == 0
    waiting = json.loads((tmp_path / "requests.json").read_text())["inspectors"]
    assert waiting
    declined = run("org-key", "sign", "requests.json", "--key-file", "org.key",
                   "--out", "certs.json", stdin="n\n")
    assert declined.returncode != 0 and not (tmp_path / "certs.json").exists()
    signed = run("org-key", "sign", "requests.json", "--key-file", "org.key",
                 "--out", "certs.json", "--yes")
    assert signed.returncode == 0, signed.stderr
    assert all(entry["fingerprint"] in signed.stdout for entry in waiting)
    imported = run("org-key", "import", "certs.json")
    assert imported.returncode == 0 and f"{len(waiting)} certificate(s)" in imported.stdout
    status = run("org-key", "status")
    assert "waiting for a certificate: 0" in status.stdout
    assert "intact" in run("audit", "verify").stdout
