"""The load and crash run (bench/load.py), small: its workers killed once, no report lost."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs INTEGRITY_TEST_POSTGRES_URL")


def test_a_small_run_with_its_workers_killed_loses_no_report() -> None:
    environment = {**os.environ, "INTEGRITY_TEST_POSTGRES_URL": POSTGRES_URL,
                   "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--reports", "40", "--clients", "4", "--kill", "1",
         "--attachment-bytes", "100"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^\s+count\s+per second\s+p50 ms\s+p99 ms$", out, re.M), out
    assert re.search(r"^filing\s+40\s", out, re.M), out
    assert re.search(r"^mailbox opening\s+40\s", out, re.M), out
    assert "answered 201 but missing or unreadable: 0\n" in out, out
    assert "kill -9 rounds 1, workers killed 2" in out, out
    assert re.search(r"^reports stored by the run 40, opened with the inspector's key 40$",
                     out, re.M), out
