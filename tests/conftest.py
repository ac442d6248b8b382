"""Mark e2e by path (the import paths come from pythonpath in pyproject.toml)."""

import pytest

from tests.markers import is_e2e_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e gets the ``e2e`` marker; no other test does."""
    for item in items:
        if is_e2e_path(item.path):
            item.add_marker(pytest.mark.e2e)
