"""Make the repo root importable (``import build``, ``tests.mock_servers``); mark e2e by path."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.markers import is_e2e_path  # noqa: E402  (needs ROOT on sys.path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e gets the ``e2e`` marker; no other test does."""
    for item in items:
        if is_e2e_path(item.path):
            item.add_marker(pytest.mark.e2e)
