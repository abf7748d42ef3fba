"""Rate-limit keys: an IPv6 client counts by its /64, an IPv4 one (mapped or not) by itself."""

from __future__ import annotations

import pytest
from flask import Flask

from integrity.extensions import address_key, limited_address


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"ratelimit_pow": "2 per hour"}


@pytest.mark.parametrize(("address", "counted"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:0db8:0001:0002::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::1", "::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("::ffff:cb00:7107", "203.0.113.7"),
    ("", ""),
    ("not an address", "not an address"),
])
def test_the_counted_part_of_an_address(address: str, counted: str) -> None:
    assert limited_address(address) == counted


def _key(app: Flask, address: str) -> str:
    with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
        return address_key()


def test_one_key_per_ipv6_slash_64_and_per_ipv4_address(app: Flask) -> None:
    same = {_key(app, f"2001:db8:1:2::{n:x}") for n in range(1, 50)}
    same.add(_key(app, "2001:db8:1:2:ffff:ffff:ffff:ffff"))
    assert len(same) == 1
    assert _key(app, "2001:db8:1:3::1") not in same
    assert _key(app, "203.0.113.7") == _key(app, "::ffff:203.0.113.7")
    assert _key(app, "203.0.113.7") != _key(app, "203.0.113.8")
    keys = same | {_key(app, "203.0.113.7")}
    assert all("2001" not in key and "203.0" not in key for key in keys)


def test_addresses_of_one_slash_64_share_a_budget(app: Flask) -> None:
    def status(address: str) -> int:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client.get("/api/v1/pow").status_code

    assert [status(f"2001:db8:1:2::{n}") for n in (1, 2, 3)] == [200, 200, 429]
    assert status("2001:db8:1:3::1") == 200  # the next /64
    assert [status(a) for a in ("203.0.113.7", "::ffff:203.0.113.7", "203.0.113.7")] == \
        [200, 200, 429]
    assert status("203.0.113.8") == 200
