"""The dashboard as managers and admins use it: every page, chart, table export, the PDF report
and the posters; nobody else gets in, and no response ever carries what a reporter wrote."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import fingerprint
from crypto.certificates import OrgKey
from integrity.audit import AuditEntry
from integrity.demo import DEMO_ACCOUNTS
from integrity.models import Campaign, Role
from tests.conftest import csrf_token
from tests.helpers.dashboard import DEMO_MARKER, build_report, needs_poppler, needs_zbar
from tests.helpers.pages import sign_in

PUBLIC_URL = "http://report.border.example"  # https would make the cookies Secure
ONION_URL = "http://integrityexampleonionaddressxyzxyzxyzxyzxyzxyzxyzxyzxyz.onion"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"public_url": PUBLIC_URL, "onion_url": ONION_URL, "languages": ("en", "ar")}


def _manager(app: Flask, make_account, role: Role = Role.MANAGER) -> FlaskClient:
    client = app.test_client()
    sign_in(client, make_account(role))
    return client


def _dashboard_urls(demo: dict[str, object]) -> list[str]:
    campaign, wave = demo["campaign"], demo["wave"]
    return [
        "/dashboard/", "/dashboard/?granularity=month&dimension=category",
        "/dashboard/?dimension=channel&scope=unit:1", "/dashboard/trends",
        "/dashboard/campaigns/", "/dashboard/campaigns/new", f"/dashboard/campaigns/{campaign}",
        f"/dashboard/campaigns/{campaign}/edit", "/dashboard/surveys/",
        f"/dashboard/surveys/waves/{wave}", "/dashboard/report", "/dashboard/posters",
        "/dashboard/charts/reports.svg", "/dashboard/charts/deadlines.png",
        "/dashboard/charts/trend.svg?series=reporting_climate",
        "/dashboard/charts/trend.png?series=awareness",
        "/dashboard/export/periods.csv", "/dashboard/export/breakdown.csv?dimension=category",
        "/dashboard/export/trends.csv", "/dashboard/export/campaigns.csv",
        f"/dashboard/export/effects.csv?campaign={campaign}",
        "/dashboard/posters/poster.pdf?channel=integrity&language=en&size=A4",
        "/dashboard/posters/poster.png?channel=integrity&language=en&size=A3",
    ]


def test_managers_and_admins_reach_the_dashboard_and_nobody_else_does(
        app, make_account, demo) -> None:
    urls = _dashboard_urls(demo)
    for role in (Role.MANAGER, Role.ADMIN):
        client = _manager(app, make_account, role)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (role, url, response.status_code)
    inspector = _manager(app, make_account, Role.INSPECTOR)
    anonymous = app.test_client()
    for url in urls:
        assert inspector.get(url).status_code == 403, url
        refused = anonymous.get(url)
        assert refused.status_code == 302 and "/staff/login" in refused.headers["Location"], url
    token = csrf_token(inspector, "/cases/")
    assert inspector.post("/dashboard/campaigns/new", data={"csrf_token": token}).status_code \
        == 403


@needs_poppler
def test_no_dashboard_response_holds_what_a_reporter_wrote(app, make_account, demo,
                                                          tmp_path: Path) -> None:
    client = _manager(app, make_account)
    bodies = []
    for url in _dashboard_urls(demo):
        response = client.get(url)
        assert response.status_code == 200, url
        bodies.append((url, response.data))
    page, pdf = build_report(client, survey="1")
    bodies += [("progress", page.encode()), ("pdf", pdf)]
    (tmp_path / "report.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], check=True,
                          capture_output=True).stdout
    bodies.append(("pdf text", text))
    for url, body in bodies:
        assert DEMO_MARKER.encode() not in body, url
        assert b"cash at gate" not in body and b"more about it" not in body, url
    # The reports were counted all the same: three more than the demo's cases.
    csv_text = client.get("/dashboard/export/periods.csv?granularity=quarter&start=2020-01"
                          ).get_data(as_text=True)
    total = [line for line in csv_text.splitlines() if line.startswith("All reports")][0]
    assert int(total.split(",")[1]) >= 3


def test_charts_are_valid_svg_and_png_and_mirror_for_right_to_left(app, make_account,
                                                                   demo) -> None:
    client = _manager(app, make_account)
    svg = client.get("/dashboard/charts/trend.svg?series=reporting_climate")
    assert svg.mimetype == "image/svg+xml"
    root = ET.fromstring(svg.data)  # noqa: S314 (our own output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and "Reporting climate" in title.text
    # No inline style anywhere: the Content-Security-Policy would drop it.
    assert all("style" not in element.attrib for element in root.iter())
    assert root.find(".//{http://www.w3.org/2000/svg}style") is None
    page = client.get("/dashboard/trends").get_data(as_text=True)
    assert f'alt="{title.text.split(".")[0]}' in page.replace("&#39;", "'")
    for name in ("reports", "deadlines"):
        png = client.get(f"/dashboard/charts/{name}.png")
        assert png.mimetype == "image/png" and png.data[:8] == PNG_SIGNATURE
        width, height = struct.unpack(">II", png.data[16:24])
        assert (width, height) == (960, 570)
    ltr = client.get("/dashboard/charts/reports.svg").data
    client.post("/staff/language", data={"csrf_token": csrf_token(client, "/staff/account"),
                                         "language": "ar"})  # kept with the account
    assert '<html lang="ar" dir="rtl">' in client.get("/dashboard/").get_data(as_text=True)
    rtl = client.get("/dashboard/charts/reports.svg").data
    ET.fromstring(rtl)  # noqa: S314 (our own output)
    assert rtl != ltr
    assert client.get("/dashboard/charts/nothing.svg").status_code == 404
    assert client.get("/dashboard/charts/reports.gif").status_code == 404


def test_every_table_exports_as_csv_with_withheld_cells_marked(app, make_account, demo) -> None:
    client = _manager(app, make_account)
    periods = client.get("/dashboard/export/periods.csv")
    assert periods.mimetype == "text/csv"
    assert "attachment" in periods.headers["Content-Disposition"]
    lines = periods.get_data(as_text=True).splitlines()
    assert lines[0].startswith("period,reports,per_100_staff,acknowledged_in_7_days")
    units = client.get("/dashboard/export/breakdown.csv?dimension=unit").get_data(as_text=True)
    assert "withheld" in units  # the demo's small crossings
    html = client.get("/dashboard/?dimension=unit").get_data(as_text=True)
    withheld_rows = [line for line in units.splitlines() if line.split(",")[1] == "withheld"]
    assert withheld_rows and len(withheld_rows) == html.count('class="withheld-row"')
    trends = client.get("/dashboard/export/trends.csv").get_data(as_text=True)
    assert trends.splitlines()[0] == ("series,unit,wave,opens_on,value,low,high,answers,"
                                      "raw_share,response_rate")
    assert "Reporting climate" in trends
    effects = client.get(f"/dashboard/export/effects.csv?campaign={demo['campaign']}")
    assert effects.get_data(as_text=True).startswith("series,target_before")
    assert client.get("/dashboard/export/nothing.csv").status_code == 404


@needs_poppler
def test_the_pdf_report_renders_and_holds_its_headings(app, make_account, demo,
                                                       tmp_path: Path, db: Session) -> None:
    client = _manager(app, make_account)
    page, pdf = build_report(client, survey="1")
    # The progress page polls with a module script and refreshes without one; nothing inline.
    assert re.search(r'src="/static/dist/dashboard\.[0-9a-f]{16}\.js"', page)
    assert 'integrity="sha384-' in page
    assert "<script>" not in page and "http-equiv=\"refresh\"" in page
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")],
                   check=True, capture_output=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 6
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in pages)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    for heading in ("Integrity report", "Report figures", "Survey trends", "Campaign effects",
                    "Methods and withheld figures", "Speak-up posters at the northern crossings",
                    "Reporting climate"):
        assert heading in text, heading
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "export")).first()
    assert entry is not None and entry.subject == "dashboard:report"


def test_a_failed_report_says_so_and_another_user_cannot_see_a_job(
        app, make_account, demo, monkeypatch) -> None:
    from integrity.dashboard import report_pdf

    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(report_pdf, "build_report", broken)
    client = _manager(app, make_account)
    form = {"csrf_token": csrf_token(client, "/dashboard/report"), "granularity": "month",
            "start": "2026-01", "end": "2026-03", "scope": "", "survey": ""}
    progress_url = client.post("/dashboard/report", data=form).headers["Location"]
    deadline = time.monotonic() + 120  # only a hang stops it: the build loads matplotlib first
    while (status := client.get(progress_url + "/status").get_json())["state"] == "running" \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status["state"] == "failed" and "could not be built" in status["message"]
    page = client.get(progress_url)
    assert page.status_code == 200 and "Start again" in page.get_data(as_text=True)
    assert client.get(progress_url + ".pdf").status_code == 404
    other = _manager(app, make_account, Role.ADMIN)
    assert other.get(progress_url + "/status").status_code == 404
    assert other.get(progress_url).status_code == 404
    assert client.get("/dashboard/report/nosuchjob/status").status_code == 404


def _decode(image: Path) -> set[str]:
    found = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True,
                           text=True)
    return {line.strip() for line in found.stdout.splitlines() if line.strip()}


@needs_zbar
@needs_poppler
def test_posters_encode_the_configured_addresses(app, make_account, demo,
                                                 tmp_path: Path) -> None:
    client = _manager(app, make_account)
    form = client.get("/dashboard/posters").get_data(as_text=True)
    assert 'for="channel"' in form and 'for="language"' in form
    png = client.get("/dashboard/posters/poster.png?channel=integrity&language=en&size=A4")
    assert png.mimetype == "image/png" and png.data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", png.data[16:24])
    assert width == 1240 and abs(height / width - 11.69 / 8.27) < 0.005  # A4, upright
    (tmp_path / "poster.png").write_bytes(png.data)
    expected = {f"{PUBLIC_URL}/report/integrity?lang=en",
                f"{ONION_URL}/report/integrity?lang=en"}
    assert _decode(tmp_path / "poster.png") == expected
    for size in ("A4", "A3"):
        pdf = client.get(f"/dashboard/posters/poster.pdf?channel=integrity&language=en&"
                         f"size={size}")
        assert pdf.mimetype == "application/pdf"
        path = tmp_path / f"poster-{size}.pdf"
        path.write_bytes(pdf.data)
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(path),
                        str(tmp_path / f"render-{size}")], check=True, capture_output=True)
        assert _decode(tmp_path / f"render-{size}.png") == expected
        text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                              text=True).stdout
        assert "Seen corruption at the border?" in text and "receipt" in text
        assert "Integrity and anti-corruption" in text
        # Where else to report, and the reporter's rights: the channel's page.
        assert "Other ways to report, and your rights:" in text
        assert f"{PUBLIC_URL}/report/integrity/rights?lang=en" in text
    info = subprocess.run(["pdftoppm", "-r", "10", "-png", "-singlefile",
                           str(tmp_path / "poster-A3.pdf"), str(tmp_path / "small")],
                          check=True, capture_output=True)
    assert info.returncode == 0
    assert client.get("/dashboard/posters/poster.pdf?channel=nothing").status_code == 404


@needs_poppler
def test_a_poster_carries_the_pinned_organisation_key_fingerprint(app, make_account, demo,
                                                                   tmp_path: Path) -> None:
    client = _manager(app, make_account)
    path = tmp_path / "poster.pdf"
    url = "/dashboard/posters/poster.pdf?channel=integrity&size=A4&language="

    def text(language: str) -> str:
        path.write_bytes(client.get(url + language).data)
        return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                              text=True).stdout

    assert "Organisation key" not in text("en")  # none pinned
    org = OrgKey.generate()
    app.extensions["integrity.org_public_key"] = org.public_key  # pinned, then restarted
    english = text("en")
    assert "Organisation key: " + fingerprint(org.public_key) in english
    assert "مفتاح المؤسسة" in text("ar")


@needs_zbar
def test_a_poster_without_an_onion_address_has_one_code(app, make_account, demo,
                                                        tmp_path: Path) -> None:
    app.extensions["integrity.settings"] = type(app.extensions["integrity.settings"])(
        **{**app.extensions["integrity.settings"].__dict__, "onion_url": ""})
    client = _manager(app, make_account)
    png = client.get("/dashboard/posters/poster.png?channel=integrity&language=en")
    (tmp_path / "poster.png").write_bytes(png.data)
    assert _decode(tmp_path / "poster.png") == {f"{PUBLIC_URL}/report/integrity?lang=en"}


@needs_zbar
def test_an_arabic_poster_opens_the_reporting_page_in_arabic(app, make_account, demo,
                                                             tmp_path: Path) -> None:
    client = _manager(app, make_account)
    png = client.get("/dashboard/posters/poster.png?channel=integrity&language=ar")
    (tmp_path / "poster.png").write_bytes(png.data)
    addresses = _decode(tmp_path / "poster.png")
    assert addresses == {f"{PUBLIC_URL}/report/integrity?lang=ar",
                         f"{ONION_URL}/report/integrity?lang=ar"}
    # Opened by someone not signed in, whatever their browser prefers: the page is Arabic.
    page = app.test_client().get(f"{PUBLIC_URL}/report/integrity?lang=ar",
                                 headers={"Accept-Language": "en"})
    assert page.status_code == 200 and 'lang="ar" dir="rtl"' in page.get_data(as_text=True)


def test_pages_have_labels_captions_and_table_headers(app, make_account, demo) -> None:
    client = _manager(app, make_account)
    html = client.get("/dashboard/").get_data(as_text=True)
    for field_id in ("granularity", "start", "end", "scope", "dimension"):
        assert f'for="{field_id}"' in html and f'id="{field_id}"' in html
    assert html.count("<caption") >= 3 and 'scope="col"' in html and 'scope="row"' in html
    assert "<script>" not in html and "style=" not in html
    assert 'alt="Bar chart: Reports received per quarter.' in html


def test_chart_cache_serves_changed_data_fresh(app, make_account, demo, db: Session) -> None:
    client = _manager(app, make_account)
    before = client.get("/dashboard/export/periods.csv").get_data(as_text=True)
    first = client.get("/dashboard/charts/reports.png").data
    from integrity.dashboard.campaigns import delete_campaign
    from integrity.models import User

    manager = db.scalars(select(User).where(User.role == "admin")).first()
    delete_campaign(db, manager, db.get(Campaign, demo["campaign"]))
    db.commit()
    assert client.get("/dashboard/charts/reports.png").data != first  # the span is gone
    assert client.get("/dashboard/export/periods.csv").get_data(as_text=True) == before


def test_png_is_a_readable_image(app, make_account, demo) -> None:
    from PIL import Image

    client = _manager(app, make_account)
    image = Image.open(io.BytesIO(client.get("/dashboard/charts/trend.png?series=awareness"
                                             ).data))
    assert image.size == (960, 570) and image.format == "PNG"


def test_the_demo_manager_signs_in_on_the_test_s_copy_of_the_demo(app, demo) -> None:
    # Each test starts from a copy of one demo load, with the installation secret of the data
    # folder it was loaded in: that secret keys the sign-in, so the demo's accounts still work.
    manager = next(a for a in DEMO_ACCOUNTS if a.role is Role.MANAGER)
    client = app.test_client()
    sign_in(client, manager)
    assert client.get("/dashboard/").status_code == 200  # not sent to the sign-in page
