"""Settings from the environment and the application factory."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import integrity.app
from integrity.app import create_app
from integrity.config import ConfigError, Settings, ensure_secret_key
from integrity.paths import TRANSLATIONS

INTEGRITY = str(Path(sys.executable).with_name("integrity"))


def test_defaults_put_sqlite_under_the_data_folder(tmp_path: Path) -> None:
    settings = Settings.from_env({"INTEGRITY_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'integrity.db'}"
    assert settings.redis_url == ""
    assert not settings.https


def test_environment_variables_are_parsed_by_type(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "INTEGRITY_DATA_DIR": str(tmp_path),
            "INTEGRITY_POW_BITS": "20",
            "INTEGRITY_MAIL_STARTTLS": "yes",
            "INTEGRITY_LANGUAGES": "en, ar",
            "INTEGRITY_PUBLIC_URL": "https://report.example.org",
            "INTEGRITY_DATABASE_URL": "postgresql://u@db/integrity",
        }
    )
    assert settings.pow_bits == 20
    assert settings.mail_starttls is True
    assert settings.languages == ("en", "ar")
    assert settings.https
    assert settings.database_url == "postgresql+psycopg://u@db/integrity"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INTEGRITY_POW_BITS", "25"),
        ("INTEGRITY_POW_BITS", "many"),
        ("INTEGRITY_MAIL_STARTTLS", "perhaps"),
    ],
)
def test_unusable_values_are_refused_with_the_setting_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({name: value})


def test_keyword_overrides_win_over_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({"INTEGRITY_POW_BITS": "20"}, pow_bits=4, data_dir=tmp_path)
    assert settings.pow_bits == 4


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings.from_env({}, data_dir=tmp_path)
    with pytest.raises(ConfigError, match="integrity init"):
        settings.load_secret_key()
    path = ensure_secret_key(settings)
    assert path is not None and path.stat().st_mode & 0o077 == 0
    key = settings.load_secret_key()
    assert len(key) >= 48
    assert ensure_secret_key(settings) is None
    assert settings.load_secret_key() == key


def test_factory_takes_overrides_and_has_no_side_effects(tmp_path: Path) -> None:
    app = create_app({"data_dir": tmp_path, "secret_key": "k" * 32})
    assert app.secret_key == "k" * 32
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is False
    # Building the app neither creates the database nor migrates it.
    assert not (tmp_path / "integrity.db").exists()
    https = create_app({"data_dir": tmp_path, "secret_key": "k", "public_url": "https://x.example"})
    assert https.config["SESSION_COOKIE_SECURE"] is True


def test_every_supported_language_is_offered_by_default(client) -> None:
    assert Settings.from_env({}).languages == ("en", "fr", "ar", "ru", "tr", "uk", "es")
    html = client.get("/").get_data(as_text=True)
    for name in ("English", "Français", "العربية", "Русский", "Türkçe", "Українська", "Español"):
        assert f">{name}<" in html
    # A browser that states no preference gets the first language, English.
    assert '<html lang="en" dir="ltr">' in html
    for code in ("fr", "ar", "ru", "tr", "uk", "es"):
        page = client.get("/", headers={"Accept-Language": f"{code},en;q=0.5"}).get_data(
            as_text=True)
        direction = "rtl" if code == "ar" else "ltr"
        assert f'<html lang="{code}" dir="{direction}">' in page
        assert '<label for="language">Language</label>' not in page  # from the catalog


def test_an_unsupported_language_is_refused_at_start_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^INTEGRITY_LANGUAGES: xx is not a supported language"):
        Settings.from_env({"INTEGRITY_LANGUAGES": "en, xx"})
    environment = cli_environment_for(tmp_path, INTEGRITY_LANGUAGES="en,xx")
    init = subprocess.run([INTEGRITY, "init"], env=environment, capture_output=True, text=True,
                          timeout=120, check=False)
    assert init.returncode != 0
    assert init.stderr.strip() == (
        "Error: INTEGRITY_LANGUAGES: xx is not a supported language "
        "(supported: en, fr, ar, ru, tr, uk, es)"
    )
    assert not (tmp_path / "data" / "integrity.db").exists()


def test_a_language_without_a_compiled_complete_catalog_is_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    translations = tmp_path / "translations"
    folder = translations / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "messages.po"
    shutil.copy(TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po", po)
    monkeypatch.setattr(integrity.app, "TRANSLATIONS", translations)
    config = {"data_dir": tmp_path, "secret_key": "k" * 32, "languages": ("en", "fr")}

    with pytest.raises(ConfigError, match=r"fr cannot be offered, because .* is not compiled"):
        create_app(config)
    compile_catalog(po)
    assert create_app(config)

    # A string left untranslated (as make babel-update leaves a new one), then compiled.
    text = po.read_text()
    po.write_text(text.replace('msgstr "Connexion du personnel"', 'msgstr ""', 1))
    compile_catalog(po)
    with pytest.raises(ConfigError, match="untranslated or fuzzy entries, such as 'Staff sign-in'"):
        create_app(config)
    # Translated again, but not compiled since.
    po.write_text(text)
    with pytest.raises(ConfigError, match="compiled from an older messages.po"):
        create_app(config)
    # English is the source language: it needs no catalog.
    assert create_app({**config, "languages": ("en",)})


def compile_catalog(po: Path) -> None:
    with po.open("rb") as source:
        catalog = read_po(source)
    with po.with_suffix(".mo").open("wb") as target:
        write_mo(target, catalog)


def cli_environment_for(tmp_path: Path, **variables: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    return {**environment, "INTEGRITY_DATA_DIR": str(tmp_path / "data"), **variables}
