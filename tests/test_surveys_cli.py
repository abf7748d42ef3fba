"""``integrity survey ...`` run as an administrator would run it."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from surveys.codes import code_hash
from surveys.models import AccessCode, SurveyResponse
from tests.helpers.cli import count, run
from tests.helpers.surveys import EVERY_TYPE


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """The command's environment after ``integrity init``."""
    result = run(env, "init")
    assert result.returncode == 0, result.stderr
    return env


def test_import_export_round_trip_and_refusals(env, tmp_path: Path) -> None:
    source = tmp_path / "survey.json"
    source.write_text(json.dumps(EVERY_TYPE))
    added = run(env, "survey", "import", str(source))
    assert added.returncode == 0, added.stderr
    assert "Added survey 1: Every kind of question (9 questions)." in added.stdout
    exported = run(env, "survey", "export", "1")
    assert exported.returncode == 0 and json.loads(exported.stdout) == EVERY_TYPE
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**EVERY_TYPE, "title": ""}))
    refused = run(env, "survey", "import", str(broken))
    assert refused.returncode != 0 and "A survey needs a title." in refused.stderr
    assert "Error: There is no survey number 7." in run(env, "survey", "export", "7").stderr
    listed = run(env, "survey", "list").stdout
    assert "Every kind of question  (access codes)" in listed


def test_the_template_is_installed_from_the_question_bank(env) -> None:
    assert "border-integrity-perception: Border integrity perception survey" in run(
        env, "survey", "templates").stdout
    added = run(env, "survey", "import", "--template", "border-integrity-perception")
    assert added.returncode == 0, added.stderr
    assert "Border integrity perception survey" in added.stdout
    exported = json.loads(run(env, "survey", "export", "1").stdout)
    assert exported["recurrence"] == {"months": 6, "open_days": 21}
    assert run(env, "survey", "import").returncode != 0  # neither a file nor a template


def test_a_wave_with_printed_codes_from_the_command_line(demo_env, tmp_path: Path) -> None:
    env = demo_env  # after `integrity init` and `integrity demo`
    source = tmp_path / "survey.json"
    source.write_text(json.dumps(EVERY_TYPE))
    assert run(env, "survey", "import", str(source)).returncode == 0
    survey_id = re.search(r"^\s*(\d+)\s+Every kind", run(env, "survey", "list").stdout,
                          re.MULTILINE).group(1)
    added = run(env, "survey", "wave", "add", survey_id, "--opens", "2026-01-05",
                "--closes", "2099-01-25")
    assert added.returncode == 0, added.stderr
    wave_id = re.search(r"\(id (\d+)\)", added.stdout).group(1)
    assert run(env, "survey", "wave", "open", wave_id).returncode == 0
    before = count(env, AccessCode)
    slips = tmp_path / "slips.pdf"
    issued = run(env, "survey", "codes", wave_id, "--unit", "3", "--unit", "4", "--count", "9",
                 "--out", str(slips))
    assert issued.returncode == 0, issued.stderr
    assert "Issued 18 code(s) for 2 unit(s)" in issued.stdout
    assert count(env, AccessCode) == before + 18
    pdf = slips.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 3  # 9 + 9 slips, 8 a page
    assert stat.S_IMODE(slips.stat().st_mode) == 0o600
    again = run(env, "survey", "codes", wave_id, "--unit", "3", "--count", "1", "--out",
                str(slips))
    assert again.returncode != 0 and "refusing to overwrite" in again.stderr
    unknown = run(env, "survey", "codes", wave_id, "--unit", "3", "--count", "1", "--out",
                  str(tmp_path / "klingon.pdf"), "--language", "tlh")
    assert unknown.returncode != 0 and "--language must be one of" in unknown.stderr
    assert count(env, AccessCode) == before + 18 and not (tmp_path / "klingon.pdf").exists()
    arabic = tmp_path / "arabic.pdf"
    assert run(env, "survey", "codes", wave_id, "--unit", "3", "--count", "1", "--out",
               str(arabic), "--language", "ar").returncode == 0
    assert b"NotoSansArabic" in arabic.read_bytes()
    # No code used yet: under the threshold, so each unit's counts are withheld.
    rates = run(env, "survey", "rates", wave_id).stdout
    assert re.search(r": withheld \(fewer than 10 answers\)", rates), rates
    assert "0/10" not in rates
    closed = run(env, "survey", "wave", "close", wave_id)
    assert closed.returncode == 0, closed.stderr
    refused = run(env, "survey", "codes", wave_id, "--unit", "3", "--count", "1", "--out",
                  str(tmp_path / "more.pdf"))
    assert "Codes cannot be issued for a closed wave." in refused.stderr
    assert run(env, "survey", "compact").returncode == 0


def test_the_demo_has_a_closed_wave_with_responses_and_an_open_wave(demo_env) -> None:
    env = demo_env  # after `integrity init` and `integrity demo`
    listed = run(env, "survey", "list").stdout
    assert re.search(r"wave 1 \[id \d+\]: .* closed, \d{3} response\(s\)", listed), listed
    assert re.search(r"wave 2 \[id \d+\]: .* open, 0 response\(s\)", listed), listed
    assert count(env, SurveyResponse) >= 200
    # The published demo codes open the open wave on this installation.
    secret = (Path(env["INTEGRITY_DATA_DIR"]) / "secret_key").read_text().strip().encode()
    assert count(env, AccessCode, AccessCode.code_hash == code_hash(secret, "DEMO-CODE-0001"),
                  AccessCode.used.is_(False)) == 1
    assert run(env, "demo").returncode == 0  # again: nothing added twice
    assert run(env, "survey", "list").stdout == listed
