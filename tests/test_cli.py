"""The ``integrity`` command, run as an administrator would run it."""

from pathlib import Path

from integrity.db import dispose
from integrity.models import Category, Channel, OrgUnit, User
from tests.helpers.cli import count, run


def test_init_is_idempotent_and_writes_a_secret_key_once(env) -> None:
    first = run(env, "init")
    assert first.returncode == 0, first.stderr
    assert "Wrote a new secret key" in first.stdout
    key = (Path(env["INTEGRITY_DATA_DIR"]) / "secret_key").read_text()
    second = run(env, "init")
    assert second.returncode == 0, second.stderr
    assert "Wrote a new secret key" not in second.stdout
    assert (Path(env["INTEGRITY_DATA_DIR"]) / "secret_key").read_text() == key


def test_user_add_prints_a_one_time_passphrase(env) -> None:
    run(env, "init")
    result = run(env, "user", "add", "--role", "inspector", "--email", "Ana@Example.org",
                 "--name", "Ana")
    assert result.returncode == 0, result.stderr
    assert "One-time passphrase" in result.stdout
    assert "two-factor" in result.stdout
    duplicate = run(env, "user", "add", "--role", "manager", "--email", "ana@example.org",
                    "--name", "Ana again")
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr
    assert count(env, User) == 1


def test_user_add_reads_a_passphrase_from_stdin(env) -> None:
    run(env, "init")
    result = run(env, "user", "add", "--role", "manager", "--email", "m@example.org",
                 "--name", "M", "--password-stdin", stdin="a long enough passphrase\n")
    assert result.returncode == 0, result.stderr
    assert "One-time passphrase" not in result.stdout
    short = run(env, "user", "add", "--role", "manager", "--email", "n@example.org",
                "--name", "N", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr


def test_demo_loads_once_however_often_it_runs(env) -> None:
    run(env, "init")
    first = run(env, "demo")
    assert first.returncode == 0, first.stderr
    assert "admin@demo.invalid" in first.stdout
    counts = [count(env, model) for model in (User, OrgUnit, Channel, Category)]
    assert counts[0] == 3 and counts[1] >= 15 and counts[2] == 1 and counts[3] == 11
    second = run(env, "demo")
    assert second.returncode == 0, second.stderr
    assert "already present" in second.stdout
    assert [count(env, model) for model in (User, OrgUnit, Channel, Category)] == counts


def test_commands_without_init_explain_what_to_do(env) -> None:
    result = run(env, "demo")
    assert result.returncode != 0
    assert "integrity init" in result.stderr


def test_offline_inspector_export_and_decrypt_round_trip(env, tmp_path: Path) -> None:
    """keygen, channel add, inspector add, a report through the API, export, decrypt."""
    import json as jsonlib

    from integrity.app import create_app
    from tests.conftest import FAST_PROTOCOL
    from tests.protocol_client import ReporterClient, Upload

    assert run(env, "init").returncode == 0
    key_file = tmp_path / "inspector.key"
    made = run(env, "keygen", "--out", str(key_file))
    assert made.returncode == 0, made.stderr
    public_key = made.stdout.split("Public key: ")[1].split()[0]
    assert key_file.stat().st_mode & 0o077 == 0
    assert run(env, "keygen", "--out", str(key_file)).returncode != 0  # never overwrites
    assert run(env, "channel", "add", "customs", "--name", "Customs integrity",
               "--allow-exclusion").returncode == 0
    added = run(env, "inspector", "add", "--name", "Offline Olga", "--email", "olga@example.org",
                "--public-key", public_key, "--channel", "customs")
    assert added.returncode == 0, added.stderr
    bad = run(env, "inspector", "add", "--name", "X", "--email", "x@example.org",
              "--public-key", "AAAA", "--channel", "customs")
    assert bad.returncode != 0 and "32 bytes" in bad.stderr

    overrides = {k.removeprefix("INTEGRITY_").lower(): v for k, v in env.items()
                 if k.startswith("INTEGRITY_")}
    overrides.update(FAST_PROTOCOL)
    overrides.update({k: int(v) for k, v in overrides.items() if str(v).isdigit()})
    app = create_app(overrides)
    reporter = ReporterClient(app.test_client())
    reporter.file("customs", {"what": "Seized cigarettes resold"},
                  uploads=[Upload("ledger.csv", "text/csv", b"date,boxes\n2026-11-01,40\n")],
                  language="tr")
    dispose(app)

    out = tmp_path / "export.json"
    exported = run(env, "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "Seized" not in out.read_text()
    files = tmp_path / "files"
    opened = run(env, "decrypt", "--key-file", str(key_file), "--files", str(files), str(out))
    assert opened.returncode == 0, opened.stderr
    result = jsonlib.loads(opened.stdout)
    (report,) = result["reports"]
    assert report["document"]["answers"] == {"what": "Seized cigarettes resold"}
    assert report["document"]["language"] == "tr"  # the optional language, passed on as sealed
    (written,) = report["files"]
    assert Path(written).read_bytes() == b"date,boxes\n2026-11-01,40\n"

    other_key = tmp_path / "other.key"
    run(env, "keygen", "--out", str(other_key))
    refused = run(env, "decrypt", "--key-file", str(other_key), str(out))
    assert refused.returncode != 0
    assert "opens none of the 1 report" in refused.stderr
    assert "Traceback" not in refused.stderr
    garbage = tmp_path / "garbage.key"
    garbage.write_text("{}")
    refused = run(env, "decrypt", "--key-file", str(garbage), str(out))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr


def test_purge_uploads_command_runs(env) -> None:
    run(env, "init")
    result = run(env, "purge-uploads")
    assert result.returncode == 0, result.stderr
    assert "Removed 0 unclaimed" in result.stdout
