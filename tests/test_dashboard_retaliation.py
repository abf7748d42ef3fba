"""Retaliation figures on the managers' dashboard, withheld below the threshold."""

from __future__ import annotations

import secrets
import subprocess
from datetime import date, timedelta
from pathlib import Path

from integrity.dashboard.kpis import Granularity, KpiQuery
from integrity.dashboard.retaliation import TOTAL, retaliation_table
from integrity.models import Role, today
from integrity.reporting.models import Report
from surveys.suppression import Reason
from tests.helpers.dashboard import build_report, needs_poppler
from tests.helpers.reports import filed_report_id
from tests.protocol_client import ReporterClient

JANUARY, FEBRUARY, MARCH = date(2027, 1, 10), date(2027, 2, 10), date(2027, 3, 10)


def _linked(app, db, channel, days: list[date]) -> None:
    """Reports of retaliation filed on ``days``, from as many receipts as needed."""
    reporter = ReporterClient(app.test_client())
    for start in range(0, len(days), 15):
        filed = reporter.file(channel.slug, {"what": "Cash at the gate."})
        root = db.get(Report, filed_report_id(app, filed))
        for day in days[start:start + 15]:
            report = Report(kind="retaliation", retaliation_of_id=root.id,
                            channel_id=root.channel_id, created_on=day, last_activity_on=day,
                            lookup_hash=secrets.token_bytes(32),
                            payload=bytes(1064), status="new", protocol=1, held=False,
                            acknowledged_on=day + timedelta(days=2))
            db.add(report)
        db.commit()


def test_retaliation_figures_are_withheld_below_the_threshold(app, db, channel) -> None:
    _linked(app, db, channel, [JANUARY] * 12 + [FEBRUARY] * 3 + [MARCH] * 11)
    query = KpiQuery(Granularity.MONTH, date(2027, 1, 1), date(2027, 3, 31))
    rows = {row.key: row for row in retaliation_table(db, query, date(2027, 4, 1), 10)}
    assert rows["2027-01"].received == 12
    assert rows["2027-01"].acknowledged_in_time.part == 12
    # February's 3 are too few; March's 11 are withheld with them, so that January's and the
    # total do not give February back.
    assert rows["2027-02"].received is None and rows["2027-02"].reason == Reason.TOO_FEW
    assert rows["2027-03"].received is None
    assert rows["2027-03"].reason == Reason.COMPLEMENTARY
    assert rows[TOTAL].received == 26
    # Below the threshold overall, nothing is shown.
    few = retaliation_table(db, KpiQuery(Granularity.MONTH, date(2027, 2, 1),
                                         date(2027, 2, 28)), date(2027, 4, 1), 10)
    assert all(row.received is None for row in few)


def test_the_dashboard_page_shows_the_retaliation_table(app, client, login, db, channel,
                                                        make_account) -> None:
    _linked(app, db, channel, [today()] * 3)
    login(make_account(Role.MANAGER))
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="retaliation-table"' in page
    table = page[page.index('id="retaliation-table"'):]
    table = table[:table.index("</table>")]
    assert "withheld" in table and "too few reports" in table and ">3<" not in table


def test_the_retaliation_table_downloads_as_csv_with_the_same_cells_withheld(
        app, client, login, db, channel, make_account) -> None:
    import csv
    import io

    _linked(app, db, channel, [JANUARY] * 12 + [FEBRUARY] * 3 + [MARCH] * 11)
    login(make_account(Role.MANAGER))
    page = client.get("/dashboard/?granularity=month&start=2027-01&end=2027-03")
    assert "/dashboard/export/retaliation.csv" in page.get_data(as_text=True)
    answer = client.get("/dashboard/export/retaliation.csv?granularity=month&start=2027-01"
                        "&end=2027-03")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(answer.get_data(as_text=True)))}
    assert rows["period"][0] == "reports_of_retaliation"
    assert rows["2027-01"][:3] == ["12", "12", "12"]
    # As on the page: February's 3 withheld, and March's with them; the total shown.
    assert rows["2027-02"][0] == "withheld" and rows["2027-03"][0] == "withheld"
    assert rows["All reports"][0] == "26"


@needs_poppler
def test_the_pdf_report_holds_the_retaliation_table_with_the_same_cells_withheld(
        app, client, login, db, channel, make_account, tmp_path: Path) -> None:
    _linked(app, db, channel, [JANUARY] * 12 + [FEBRUARY] * 3 + [MARCH] * 11)
    login(make_account(Role.MANAGER))
    _page, pdf = build_report(client, granularity="month", start="2027-01", end="2027-03")
    (tmp_path / "report.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout
    table = text[text.index("Reports of retaliation that reporters made"):]
    lines = {line.split()[0]: line.split() for line in table.splitlines()
             if line.strip() and line.split()[0] in {"Jan", "Feb", "Mar", "Total"}}
    assert lines["Jan"][2:5] == ["12", "100%", "(12/12)"], lines["Jan"]
    # As on the page: February's 3 withheld ("too few"), March's 11 with them; the total shown.
    assert lines["Feb"][2:5] == ["withheld"] * 3, lines["Feb"]
    assert lines["Mar"][2:5] == ["withheld"] * 3, lines["Mar"]
    assert lines["Total"][1] == "26", lines["Total"]
