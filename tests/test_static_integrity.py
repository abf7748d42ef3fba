"""Subresource Integrity on stylesheets: every <link rel="stylesheet"> names the digest of the
bytes served at its address."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from flask.testing import FlaskClient

from integrity.models import Role

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class _Stylesheets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "link" and "stylesheet" in (found.get("rel") or "").split():
            self.links.append(found)


def _checked(client: FlaskClient, path: str) -> set[str]:
    """The stylesheets of the page at ``path``, each checked against the bytes served."""
    page = client.get(path)
    assert page.status_code == 200, path
    parser = _Stylesheets()
    parser.feed(page.get_data(as_text=True))
    assert parser.links, path
    for link in parser.links:
        served = client.get(link["href"])
        assert served.status_code == 200
        digest = base64.b64encode(hashlib.sha384(served.get_data()).digest()).decode()
        assert link.get("integrity") == f"sha384-{digest}", (path, link)
        served.close()
    # Each address carries the file's version: dist/site.<16 hex>.css names dist/site.css.
    return {re.sub(r"\.[0-9a-f]{16}(\.[a-z]+)$", r"\1", str(link["href"])) for link in parser.links}


def test_every_stylesheet_on_the_pages_carries_the_digest_of_its_bytes(
    client, make_account, login
) -> None:
    seen = set()
    for path in ("/", "/mailbox", "/staff/login"):
        seen |= _checked(client, path)
    login(make_account(Role.ADMIN))
    for path in ("/admin/", "/dashboard/"):
        seen |= _checked(client, path)
    assert {"/static/css/site.css", "/static/css/admin.css",
            "/static/css/dashboard.css"} <= seen


def test_every_stylesheet_link_in_the_templates_asks_for_integrity() -> None:
    links = [(path.name, tag) for path in TEMPLATES.rglob("*.html")
             for tag in re.findall(r"<link\b[^>]*>", path.read_text(encoding="utf-8"))
             if "stylesheet" in tag]
    assert len(links) >= 15
    assert [tag for _, tag in links if "integrity=\"{{ sri(" not in tag] == []


def test_a_digest_is_given_only_for_a_file_in_the_static_folder(app) -> None:
    from integrity.static_files import integrity_of

    folder = Path(app.static_folder)
    first = integrity_of(folder, "css/site.css")
    assert first.startswith("sha384-") and integrity_of(folder, "css/site.css") == first
    assert integrity_of(folder, "css/no-such.css") == ""
    assert integrity_of(folder, "../pyproject.toml") == ""
