"""Which tests carry which marker: decided by where a test lives, never by its fixtures.

tests/e2e drives the built extension in Chromium; everything else (unit,
build, mocks) runs without a browser. A fixture name says nothing reliable:
tests/build has an `ext` fixture of its own.
"""
from __future__ import annotations

from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent / "e2e"


def is_e2e_path(path) -> bool:
    """Is the test file at path one of the browser tests (under tests/e2e)?"""
    return E2E_DIR in Path(path).resolve().parents
