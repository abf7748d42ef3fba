"""Where the project's own files are."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "integrity" / "translations"
