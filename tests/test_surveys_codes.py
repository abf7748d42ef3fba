"""Access codes: random, easy to type, stored only as a keyed hash; slips; response rates."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess

import pytest
from sqlalchemy import select

from integrity.models import OrgUnit
from integrity.schema import metadata
from surveys.codes import (
    ALPHABET,
    IssuedCode,
    code_hash,
    find_code,
    generate_code,
    issue_codes,
    normalise_code,
    redeem_code,
    survey_link,
)
from surveys.models import AccessCode, Wave
from surveys.results import response_rates
from surveys.slips import SLIPS_PER_PAGE, slips_pdf
from surveys.waves import SurveyError, close_wave
from tests.helpers.surveys import SECRET, TODAY, open_survey

CODE_SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def test_codes_are_twelve_unambiguous_characters_in_three_groups() -> None:
    codes = {generate_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(CODE_SHAPE.match(code) for code in codes)
    used = set("".join(codes).replace("-", ""))
    assert used == set(ALPHABET) and not used & set("ILOU")


def test_typing_mistakes_that_do_not_matter_are_forgiven() -> None:
    assert normalise_code(" 7kq2 m9xd-4rtb ") == "7KQ2M9XD4RTB"
    assert normalise_code("OI2L-0000-0000") == "0121" + "0" * 8
    assert normalise_code("7KQ2-M9XD-4RT") is None
    assert normalise_code("7KQ2-M9XD-4RTU") is None  # U is not in the alphabet
    assert code_hash(SECRET, "7kq2 m9xd 4rtb") == code_hash(SECRET, "7KQ2-M9XD-4RTB")


def test_the_hash_is_keyed_with_the_installation_secret() -> None:
    code = generate_code()
    digest = code_hash(SECRET, code)
    assert len(digest) == 32
    assert digest != code_hash(b"another installation", code)
    for plain in (code, normalise_code(code)):
        assert digest != hashlib.sha256(plain.encode()).digest()


def test_issuing_stores_only_hashes_of_the_codes(db) -> None:
    setup = open_survey(db, per_unit=25)
    assert len(setup.codes) == 50 and len(set(setup.codes)) == 50
    stored = db.scalars(select(AccessCode)).all()
    assert len(stored) == 50 and not any(row.used for row in stored)
    assert {row.code_hash for row in stored} == {code_hash(SECRET, c) for c in setup.codes}
    assert {row.org_unit_id for row in stored} == set(setup.org_unit_ids)
    # Scan every cell of every table for the codes in clear, in any spelling.
    needles = set()
    for code in setup.codes:
        compact = normalise_code(code)
        needles |= {code.encode(), compact.encode(), compact.lower().encode(),
                    code.lower().encode()}
    cells = 0
    with db.get_bind().connect() as connection:
        for table in metadata().sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if value is None:
                        continue
                    cells += 1
                    data = value if isinstance(value, bytes) else str(value).encode()
                    for needle in needles:
                        assert needle not in data, f"a code in clear in {table.name}"
    assert cells > 200


def test_a_code_is_found_by_what_is_typed_and_redeemed_once(db) -> None:
    setup = open_survey(db)
    code = find_code(db, SECRET, setup.codes[0].lower())
    assert code is not None and code.wave_id == setup.wave_id
    assert find_code(db, SECRET, "0000-0000-0000") is None
    assert find_code(db, SECRET, "not a code") is None
    assert redeem_code(db, code) is True
    assert redeem_code(db, code) is False
    db.commit()
    db.expire_all()
    assert find_code(db, SECRET, setup.codes[0]).used is True


def test_no_codes_for_a_closed_wave_and_a_sane_number_per_unit(db) -> None:
    setup = open_survey(db)
    wave = db.get(Wave, setup.wave_id)
    org_unit = db.get(OrgUnit, setup.org_unit_ids[0])
    with pytest.raises(SurveyError, match="between 1 and 5000"):
        issue_codes(db, SECRET, wave, {org_unit: 0})
    close_wave(db, wave, TODAY)
    with pytest.raises(SurveyError, match="closed wave"):
        issue_codes(db, SECRET, wave, {org_unit: 3})


def test_response_rate_per_unit_is_codes_used_over_codes_issued(db) -> None:
    setup = open_survey(db, per_unit=4)
    for code in setup.codes[:3]:  # three of the first unit's four
        assert redeem_code(db, find_code(db, SECRET, code))
    db.commit()
    rates = {r.org_unit_id: (r.used, r.issued, r.rate)
             for r in response_rates(db, db.get(Wave, setup.wave_id))}
    assert rates == {setup.org_unit_ids[0]: (3, 4, 0.75), setup.org_unit_ids[1]: (0, 4, 0.0)}


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_slips_make_a_pdf_with_eight_slips_to_a_page() -> None:
    slips = [IssuedCode(generate_code(), 1, "Kalna road crossing")
             for _ in range(SLIPS_PER_PAGE * 2 + 1)]
    pdf = slips_pdf(slips, "Border integrity perception survey", "https://integrity.example",
                    "en")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert _pages(pdf) == 3
    assert _pages(slips_pdf(slips[:SLIPS_PER_PAGE], "T", "https://i.example", "en")) == 1
    # Nothing in the file says when the codes were made.
    assert b"/CreationDate" not in pdf


def test_the_link_carries_the_code_for_the_qr_code() -> None:
    assert survey_link("https://i.example/", "7kq2m9xd4rtb") == (
        "https://i.example/survey?code=7KQ2-M9XD-4RTB")
    assert survey_link("https://i.example") == "https://i.example/survey"
    assert survey_link("https://i.example", language="ar") == "https://i.example/survey?lang=ar"


@pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
                    reason="poppler-utils and zbar-tools are not installed")
def test_each_slips_qr_code_opens_the_survey_with_its_own_code(tmp_path) -> None:
    slips = [IssuedCode(generate_code(), 1, "Sotra airport cargo terminal")
             for _ in range(SLIPS_PER_PAGE + 2)]
    pdf = tmp_path / "slips.pdf"
    pdf.write_bytes(slips_pdf(slips, "Border integrity perception survey",
                              "https://integrity.example", "fr"))
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 2
    decoded = subprocess.run(["zbarimg", "--raw", "-q", *map(str, pages)], capture_output=True,
                             text=True, timeout=60).stdout.split()
    # Each opens the survey in the slips' language, for someone who is not signed in.
    assert sorted(decoded) == sorted(survey_link("https://integrity.example", s.code, "fr")
                                     for s in slips)
    assert all(link.endswith("&lang=fr") for link in decoded)
