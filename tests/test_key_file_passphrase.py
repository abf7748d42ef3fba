"""Offline key files protected with a passphrase: ``integrity keygen --passphrase`` stores the
secret key only wrapped under Argon2id of the passphrase, and ``integrity decrypt`` asks for
it (docs/inspector-keys.md#the-offline-alternative-a-key-file)."""

import json
from pathlib import Path

import pytest

import crypto
from crypto.keys import dump_key_file, load_key_file
from integrity.db import dispose
from tests.helpers.cli import run

PASSPHRASE = "blue mango river ticket"
CHEAP = {"opslimit": 2, "memlimit": 8388608}


def test_a_protected_key_file_holds_no_readable_secret_key_and_opens_with_its_passphrase() -> None:
    pair = crypto.KeyPair.generate()
    text = dump_key_file(pair, "offline", PASSPHRASE, **CHEAP)
    data = json.loads(text)
    assert "secret_key" not in data and data["version"] == 2 and data["kdf"] == "argon2id13"
    assert crypto.b64encode(pair.secret_key) not in text
    assert crypto.key_file_needs_passphrase(text)
    assert not crypto.key_file_needs_passphrase(dump_key_file(pair, "plain"))
    assert load_key_file(text, PASSPHRASE).secret_key == pair.secret_key
    # NFKC, as for the staff passphrase: the same words typed in fullwidth letters open it.
    assert load_key_file(text, "ｂｌｕｅ mango river ticket").secret_key == pair.secret_key
    with pytest.raises(crypto.KeyFileError, match="protected with a passphrase"):
        load_key_file(text)
    with pytest.raises(crypto.KeyFileError, match="does not open"):
        load_key_file(text, "blue mango river tickets")
    # A public key swapped for another is noticed.
    swapped = json.dumps({**data, "public_key": crypto.b64encode(
        crypto.KeyPair.generate().public_key)})
    with pytest.raises(crypto.KeyFileError):
        load_key_file(swapped, PASSPHRASE)
    # The file without a passphrase reads as before.
    assert load_key_file(dump_key_file(pair, "plain")).secret_key == pair.secret_key


def test_keygen_with_a_passphrase_then_decrypt_asks_for_it(env, tmp_path: Path) -> None:
    from integrity.app import create_app
    from tests.conftest import FAST_PROTOCOL
    from tests.protocol_client import ReporterClient

    assert run(env, "init").returncode == 0
    key_file = tmp_path / "inspector.key"
    weak = run(env, "keygen", "--passphrase", "--out", str(key_file),
               stdin="password1234\npassword1234\n")
    assert weak.returncode != 0 and "harder to guess" in weak.stderr and not key_file.exists()
    made = run(env, "keygen", "--passphrase", "--out", str(key_file),
               stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert made.returncode == 0, made.stderr
    assert key_file.stat().st_mode & 0o077 == 0
    assert "secret_key" not in json.loads(key_file.read_text())
    public_key = made.stdout.split("Public key: ")[1].split()[0]
    assert run(env, "channel", "add", "customs", "--name", "Customs integrity").returncode == 0
    assert run(env, "inspector", "add", "--name", "Offline Olga", "--email", "olga@example.org",
               "--public-key", public_key, "--channel", "customs").returncode == 0
    overrides = {k.removeprefix("INTEGRITY_").lower(): v for k, v in env.items()
                 if k.startswith("INTEGRITY_")}
    overrides.update(FAST_PROTOCOL)
    overrides.update({k: int(v) for k, v in overrides.items() if str(v).isdigit()})
    app = create_app(overrides)
    ReporterClient(app.test_client()).file("customs", {"what": "Seized cigarettes resold"})
    dispose(app)
    out = tmp_path / "export.json"
    assert run(env, "export", "--out", str(out)).returncode == 0
    opened = run(env, "decrypt", "--key-file", str(key_file), str(out), stdin=f"{PASSPHRASE}\n")
    assert opened.returncode == 0, opened.stderr
    (report,) = json.loads(opened.stdout)["reports"]
    assert report["document"]["answers"] == {"what": "Seized cigarettes resold"}
    wrong = run(env, "decrypt", "--key-file", str(key_file), str(out),
                stdin="not the right passphrase\n")
    assert wrong.returncode != 0 and "does not open this key file" in wrong.stderr
    assert "Traceback" not in wrong.stderr
