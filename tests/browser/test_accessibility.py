"""Every page, for every role, checked with axe-core in real Chromium: a reporter's pages with
and without the page scripts, the survey, the inspectors' workspace, the managers' dashboard and the
administration. Any violation axe finds fails the test, with the page, the rule and the element.

axe's own source is evaluated in the page: a <script> tag of it would be refused by the
Content-Security-Policy, which runs the application's own scripts only. One Chromium and one
served application with the demo data are shared by the whole module; the database does not
change what a page looks like, so SQLite alone is used.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integrity.app import create_app
from tests.helpers.browser import browser_settings
from tests.helpers.catalogs import ROOT
from tests.helpers.walks import (
    NOT_PAGES,
    PAGES,
    Site,
    Walk,
    demo_database,
    serve_demo,
    walk_administration_pages,
    walk_inspector_pages,
    walk_manager_pages,
    walk_reporter_pages,
    walk_survey_pages,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory,
         schema_templates: dict[str, str]) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("accessibility")
    app = create_app(browser_settings(folder, demo_database(folder, schema_templates)))
    with serve_demo(app) as served:
        yield served


@pytest.fixture
def walk(site: Site, browser: Any) -> Walk:
    return Walk(site, browser)


def test_every_page_template_belongs_to_a_walk() -> None:
    templates = {str(path.relative_to(ROOT / "templates"))
                 for path in (ROOT / "templates").rglob("*.html")
                 if not path.name.startswith("_") and "_macros" not in path.parts}
    walked = set().union(*PAGES.values())
    assert templates - NOT_PAGES == walked


def test_reporter_pages_pass_axe(walk: Walk) -> None:
    walk_reporter_pages(walk)


def test_survey_pages_pass_axe(walk: Walk) -> None:
    walk_survey_pages(walk)


def test_inspector_pages_pass_axe(walk: Walk) -> None:
    walk_inspector_pages(walk)


def test_manager_pages_pass_axe(walk: Walk) -> None:
    walk_manager_pages(walk)


def test_administration_pages_pass_axe(walk: Walk) -> None:
    walk_administration_pages(walk)
