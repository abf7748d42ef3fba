"""What several test modules share: fixtures live in conftest.py, helpers here."""
