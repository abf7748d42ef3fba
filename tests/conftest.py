"""Fixtures: a fresh application and database per test, on SQLite and on PostgreSQL, and what
more than one test module needs (accounts, the demo channel, a mail server, the command line's
environment, survey waves, the demo data). The browser's are in tests/browser/conftest.py."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from crypto import KeyPair
from integrity.app import create_app
from integrity.auth.services import Hasher, create_user
from integrity.config import INSTALLATION_SECRET_FILE, Settings
from integrity.db import dispose, new_session
from integrity.demo import DEMO_ACCOUNTS
from integrity.migrate import upgrade
from integrity.models import Role
from tests.helpers.cli import INTEGRITY
from tests.helpers.mail import Mailbox
from tests.helpers.results import closed_waves, fill_second_wave

POSTGRES_URL = os.environ.get("INTEGRITY_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
# The pytest-xdist worker this process is ("gw0", "gw1" ...), or "" in a run without workers.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _redis_url() -> str:
    """Where the tests that keep rate limits in Redis find it: database 15, or under xdist a
    database of the worker's own (14 for gw0, 13 for gw1 ...), since those tests empty it."""
    url = os.environ.get("INTEGRITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    base, _, number = url.rpartition("/")
    if not WORKER or not number.isdigit():
        return url
    return f"{base}/{(int(number) - 1 - int(WORKER.removeprefix('gw'))) % 16}"


REDIS_URL = _redis_url()
TEST_PASSWORD = "correct horse battery staple"
# Argon2 at its cheapest, so tests run fast; test_auth_services checks the real parameters.
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}
# The receipt derivation and proof of work at a cost tests can afford.
FAST_PROTOCOL = {"kdf_opslimit": 1, "kdf_memlimit": 65536, "pow_bits": 4}
# The demo data's inspector, who signs in with a second factor.
DEMO_INSPECTOR = next(a for a in DEMO_ACCOUNTS if a.role is Role.INSPECTOR)


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(POSTGRES_URL, autocommit=True)


def _pg_url(database: str) -> str:
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


def create_pg_database(template: str | None = None) -> str:
    """A new, uniquely named PostgreSQL database (cloned from ``template`` if given). The name
    carries the xdist worker's, so each worker's template is its own: PostgreSQL refuses to
    clone a database another session is connected to."""
    name = f"integrity_test_{WORKER or 'main'}_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        clause = f" TEMPLATE {template}" if template else ""
        conn.execute(f"CREATE DATABASE {name}{clause}")
    return name


def drop_pg_database(name: str) -> None:
    with _pg_admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def cli_environment(data_dir: Path, backend: str) -> Iterator[dict[str, str]]:
    """Environment variables for running the ``integrity`` command against a fresh database."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    environment["INTEGRITY_DATA_DIR"] = str(data_dir)
    environment.update({f"INTEGRITY_{k.upper()}": str(v) for k, v in FAST_ARGON2.items()})
    with contextlib.ExitStack() as stack:
        if backend == "postgresql":
            environment["INTEGRITY_DATABASE_URL"] = _pg_url(stack.enter_context(pg_database()))
        yield environment


@contextlib.contextmanager
def pg_database(template: str | None = None) -> Iterator[str]:
    """A PostgreSQL database of its own (a clone of ``template`` if given), dropped after."""
    name = create_pg_database(template)
    try:
        yield name
    finally:
        drop_pg_database(name)


# Under xdist, the folder where workers note the ports free_port has handed out in this run.
_handed_ports: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _handed_ports
    if WORKER and config.option.basetemp:
        # Each worker's basetemp is a folder of its own in the run's (popen-gw0 ...).
        _handed_ports = Path(config.option.basetemp).parent / "ports"
        _handed_ports.mkdir(parents=True, exist_ok=True)


def free_port() -> int:
    """A loopback port nothing listens on now. The port is only free until someone binds it;
    under xdist, a port one worker was given is never given to another in the same run."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if _handed_ports is None:
            return port
        try:
            (_handed_ports / str(port)).touch(exist_ok=False)
        except FileExistsError:
            continue
        return port


def wait_for_port(port: int, seconds: float = 120) -> None:
    """Wait until something listens on ``port`` (a server started in another process)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of the ``integrity`` command, with an empty database of its own."""
    with cli_environment(tmp_path / "data", request.param) as environment:
        yield environment


@pytest.fixture(scope="session")
def schema_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Migrate once per backend; each test then clones the result."""
    folder = tmp_path_factory.mktemp("template")
    sqlite_file = folder / "template.db"
    upgrade(f"sqlite:///{sqlite_file}")
    templates = {"sqlite": str(sqlite_file)}
    if POSTGRES_URL:
        name = create_pg_database()
        upgrade(_pg_url(name).replace("postgresql://", "postgresql+psycopg://", 1))
        templates["postgresql"] = name
    yield templates
    if "postgresql" in templates:
        drop_pg_database(templates["postgresql"])


@dataclass(frozen=True)
class DemoTemplate:
    source: str  # the SQLite file, or the PostgreSQL database, that tests clone
    data_dir: Path  # its data folder: its installation secret keys the lookup hashes and sign-in
    ids: dict[str, object]  # what the ``demo`` fixture returns


@pytest.fixture(scope="session")
def demo_templates(schema_templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[Callable[[str], DemoTemplate]]:
    """The demo data with three reports (``demo``), loaded once per backend when a test first
    asks for it; each such test then starts from a clone, as the others do from the schema."""
    made: dict[str, DemoTemplate] = {}

    def template(backend: str) -> DemoTemplate:
        if backend not in made:
            folder = tmp_path_factory.mktemp(f"demo-{backend}")
            made[backend] = _demo_template(schema_templates[backend], backend, folder)
        return made[backend]

    yield template
    if "postgresql" in made:
        drop_pg_database(made["postgresql"].source)


def _clone(source: str, backend: str, folder: Path) -> tuple[str, str]:
    """A copy of the template database ``source``: its URL, and its file or database name."""
    if backend == "sqlite":
        target = folder / "data" / "integrity.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return f"sqlite:///{target}", str(target)
    name = create_pg_database(template=source)
    return _pg_url(name), name


def _demo_template(source: str, backend: str, folder: Path) -> DemoTemplate:
    from tests.helpers.dashboard import load_demo_with_reports  # it imports this module
    from tests.protocol_client import ReporterClient

    url, made = _clone(source, backend, folder)
    app = create_app(make_settings(folder, url))
    session = new_session(app)
    try:
        channel = _demo_channel(session)
        ids = load_demo_with_reports(app, session, channel, ReporterClient(app.test_client()))
    finally:
        session.close()
        dispose(app)  # no connection left: PostgreSQL clones only an unused database
    return DemoTemplate(made, folder / "data", ids)


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, schema_templates: dict[str, str],
    demo_templates: Callable[[str], DemoTemplate], tmp_path: Path
) -> Iterator[str]:
    """A migrated database of its own for one test: empty, or holding the demo data when the
    test asks for ``demo``."""
    backend = request.param
    if "demo" in request.fixturenames:
        template = demo_templates(backend)
        source = template.source
        (tmp_path / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy2(template.data_dir / INSTALLATION_SECRET_FILE, tmp_path / "data")
    else:
        source = schema_templates[backend]
    url, made = _clone(source, backend, tmp_path)
    yield url
    if backend == "postgresql":
        drop_pg_database(made)


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "secret_key": "test-secret-key",
        **FAST_ARGON2,
        **FAST_PROTOCOL,
    }
    values.update(overrides)
    # An empty environment: nothing from the machine leaks into the tests.
    return Settings.from_env(environ={}, **values)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to configure the app differently."""
    return {}


@pytest.fixture
def app(
    tmp_path: Path, database_url: str, settings_overrides: dict[str, object]
) -> Iterator[Flask]:
    application = create_app(make_settings(tmp_path, database_url, **settings_overrides))
    yield application
    dispose(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session of the test's own; no application context stays pushed (that would share g)."""
    session = new_session(app)
    yield session
    session.close()


@dataclass
class Account:
    id: int
    email: str
    password: str
    totp_secret: str | None
    role: Role


@pytest.fixture
def make_account(app: Flask, db: Session):
    """Create a staff account; admins and inspectors get a second factor unless told not to."""
    counter = iter(range(1, 1000))

    def make(role: Role, *, totp: bool | None = None, must_change: bool = False,
             key: bool = True) -> Account:
        secret = pyotp.random_base32() if (role.requires_totp if totp is None else totp) else None
        email = f"{role.value}{next(counter)}@example.org"
        hasher: Hasher = app.extensions["integrity.hasher"]
        user = create_user(
            db, hasher, email=email, name=f"Test {role.value}", role=role,
            password=TEST_PASSWORD, totp_secret=secret, must_change_password=must_change,
        )
        if role is Role.INSPECTOR and key:
            # As if made at first sign-in (tests that need the real thing pass key=False).
            user.public_key = KeyPair.generate().public_key
            user.wrapped_secret_key = os.urandom(72)
        db.commit()
        return Account(user.id, email, TEST_PASSWORD, secret, role)

    return make


@pytest.fixture
def admin(make_account):
    """An administrator's account."""
    return make_account(Role.ADMIN)


@pytest.fixture
def keyed_inspector(db: Session, make_account, channel) -> tuple[Account, KeyPair]:
    """An inspector who signs in, with a key pair whose secret half the test holds, a
    recipient of ``channel`` beside its two offline inspectors."""
    from sqlalchemy import select

    from integrity.models import Channel, User

    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    account = make_account(Role.INSPECTOR)
    pair = KeyPair.generate()
    user = db.get(User, account.id)
    user.public_key = pair.public_key
    row.recipients.append(user)  # the channel held in a name until the commit
    db.commit()
    return account, pair


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                        r'type="hidden" name="csrf_token" value="([^"]+)"|'
                        r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form on the page at ``url``."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_FIELD.search(html)
    assert match, f"no CSRF token on {url}"
    return next(group for group in match.groups() if group)


def login_value(client: FlaskClient, email: str, passphrase: str) -> str:
    """What the sign-in page's script sends: the passphrase split with the account's salt."""
    import crypto

    token = csrf_token(client, "/staff/login")
    params = client.post("/staff/login/params", json={"email": email},
                         headers={"X-CSRFToken": token}).get_json()
    keys = crypto.derive_staff_keys(passphrase, crypto.b64decode(params["salt"]),
                                    params["opslimit"], params["memlimit"])
    return crypto.login_value(keys)


def sign_in_form(client: FlaskClient, email: str, passphrase: str) -> dict[str, str]:
    """The sign-in form as the page's script submits it."""
    value = login_value(client, email, passphrase)
    return {"csrf_token": csrf_token(client, "/staff/login"), "email": email,
            "password": value, "derived": "1"}


def totp_now(secret: str) -> str:
    return pyotp.TOTP(secret).now()


@pytest.fixture
def login(client: FlaskClient):
    """Sign ``account`` in through both steps, as a browser would."""

    def do(account: Account) -> None:
        response = client.post(
            "/staff/login", data=sign_in_form(client, account.email, account.password)
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        if account.totp_secret:
            assert response.headers["Location"].endswith("/staff/login/code")
            token = csrf_token(client, "/staff/login/code")
            response = client.post(
                "/staff/login/code",
                data={"csrf_token": token, "code": totp_now(account.totp_secret)},
            )
            assert response.status_code == 302, response.get_data(as_text=True)

    return do


@pytest.fixture(scope="session")
def demo_installations(tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[Callable[[str], dict[str, str]]]:
    """`integrity init` and `integrity demo` run once per backend, when a test first asks for
    the installation they make; the command's environment for it."""
    made: dict[str, dict[str, str]] = {}
    with contextlib.ExitStack() as stack:
        def environment(backend: str) -> dict[str, str]:
            if backend not in made:
                folder = tmp_path_factory.mktemp(f"demo-installed-{backend}")
                installed = stack.enter_context(cli_environment(folder / "data", backend))
                for command in ("init", "demo"):
                    done = subprocess.run([INTEGRITY, command], env=installed,
                                          capture_output=True, text=True, timeout=300)
                    assert done.returncode == 0, done.stderr
                made[backend] = installed
            return made[backend]

        yield environment


@contextlib.contextmanager
def copied_installation(installed: dict[str, str], data_dir: Path) -> Iterator[dict[str, str]]:
    """A copy of the installation `integrity init` and `integrity demo` made, as `make run`
    makes it: its data folder (secrets, keys, files) and, on PostgreSQL, its database; the
    command's environment for the copy."""
    shutil.copytree(installed["INTEGRITY_DATA_DIR"], data_dir)
    environment = {**installed, "INTEGRITY_DATA_DIR": str(data_dir)}
    with contextlib.ExitStack() as stack:
        if "INTEGRITY_DATABASE_URL" in installed:
            template = installed["INTEGRITY_DATABASE_URL"].rsplit("/", 1)[1]
            environment["INTEGRITY_DATABASE_URL"] = _pg_url(
                stack.enter_context(pg_database(template)))
        yield environment


@contextlib.contextmanager
def demo_installation(installed: dict[str, str], data_dir: Path) -> Iterator[Flask]:
    """The application of a copy of the demo installation."""
    with copied_installation(installed, data_dir) as environment:
        app = create_app(Settings.from_env(environ=environment))
        yield app
        dispose(app)


@pytest.fixture(params=BACKENDS)
def demo_env(request: pytest.FixtureRequest, tmp_path: Path,
             demo_installations: Callable[[str], dict[str, str]]) -> Iterator[dict[str, str]]:
    """The ``integrity`` command's environment for a copy of the demo installation."""
    with copied_installation(demo_installations(request.param), tmp_path / "data") as env:
        yield env


@pytest.fixture(params=BACKENDS)
def demo_app(request: pytest.FixtureRequest, tmp_path: Path,
             demo_installations: Callable[[str], dict[str, str]]) -> Iterator[Flask]:
    """An installation after `integrity init` and `integrity demo`, as `make run` makes it."""
    with demo_installation(demo_installations(request.param), tmp_path / "data") as app:
        yield app


@pytest.fixture(scope="module", params=BACKENDS)
def shared_demo_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                    demo_installations: Callable[[str], dict[str, str]]) -> Iterator[Flask]:
    """The same installation, made once for a module's tests that read the demo data and
    change nothing the others read."""
    with demo_installation(demo_installations(request.param),
                           tmp_path_factory.mktemp("demo") / "data") as app:
        yield app


@dataclass
class ChannelSetup:
    slug: str
    inspectors: dict[str, KeyPair]  # recipient id -> key pair


@pytest.fixture
def channel(db: Session) -> ChannelSetup:
    """The demo channel (questionnaire, categories) with two offline inspectors as recipients."""
    return _demo_channel(db)


def _demo_channel(db: Session) -> ChannelSetup:
    from integrity.channels import add_offline_inspector
    from integrity.demo import load_channel, load_organisation

    load_organisation(db)
    ch = load_channel(db)
    inspectors = {}
    for n in (1, 2):
        pair = KeyPair.generate()
        user = add_offline_inspector(db, name=f"Inspector {n}", email=f"insp{n}@example.org",
                                     public_key=pair.public_key, channel=ch)
        inspectors[str(user.id)] = pair
    db.commit()
    return ChannelSetup(ch.slug, inspectors)


@pytest.fixture
def reporter(client: FlaskClient):
    from tests.protocol_client import ReporterClient

    return ReporterClient(client)


@pytest.fixture
def smtp_port() -> int:
    """The port the test's mail server listens on (settings may name it before it starts)."""
    return free_port()


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[Mailbox]:
    """A real mail server on loopback; ``smtp.messages`` holds what it received."""
    from aiosmtpd.controller import Controller

    handler = Mailbox(smtp_port)
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def survey_wave(db: Session):
    """A survey of every kind of figure with two closed waves (tests/helpers/results.py)."""
    return closed_waves(db)


@pytest.fixture
def filled(db: Session, survey_wave):
    """The survey's second wave answered: a large crossing of 30 responses, two posts of 7 and 6."""
    return fill_second_wave(db, survey_wave)


@pytest.fixture
def demo(database_url: str, demo_templates: Callable[[str], DemoTemplate]) -> dict[str, object]:
    """The test's database holds the demo data and three reports with a reply
    (tests/helpers/dashboard.py); the ids of the first campaign and the first survey wave."""
    return demo_templates("sqlite" if database_url.startswith("sqlite") else "postgresql").ids
