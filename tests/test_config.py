"""Settings from the environment and the application factory."""

from pathlib import Path

import pytest

from integrity import create_app
from integrity.config import ConfigError, Settings, ensure_secret_key


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
