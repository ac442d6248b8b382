"""The e2e marker goes by path: tests/e2e only, whatever fixtures a test uses."""
from pathlib import Path

from tests.markers import is_e2e_path

TESTS = Path(__file__).resolve().parents[1]


def test_tests_under_e2e_are_e2e():
    assert is_e2e_path(TESTS / "e2e" / "test_failover.py")


def test_build_mocks_and_unit_tests_are_not_e2e_even_with_an_ext_fixture():
    for rel in ("build/test_build_output.py", "mocks/test_mock_servers.py", "unit/test_markers.py"):
        assert not is_e2e_path(TESTS / rel), rel


def test_a_directory_merely_named_like_e2e_is_not():
    assert not is_e2e_path(TESTS / "unit" / "e2e_like" / "test_x.py")
    assert not is_e2e_path(TESTS / "e2e_extra" / "test_x.py")


def test_collection_marks_every_e2e_test_and_keeps_every_build_test():
    """The hook in tests/conftest.py, as pytest runs it (a collect-only subprocess)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", "not e2e", "tests/e2e", "tests/build"],
        cwd=TESTS.parent, capture_output=True, text=True, timeout=120)
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert ids, out.stdout + out.stderr
    assert not [i for i in ids if i.startswith("tests/e2e/")]
    assert any(i.startswith("tests/build/test_build_output.py::") for i in ids)
