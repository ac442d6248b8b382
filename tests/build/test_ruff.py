"""ruff is part of the suite: the whole repository lints clean, with one rule per place."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ruff(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_the_repository_lints_clean():
    result = ruff("check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_transcrypt_code_may_compare_with_none_but_nothing_else_may():
    """The per-file ignore replaces the `# noqa: E711` comments, and only where Transcrypt runs."""
    source = "import os\n\n\ndef f(x):\n    return x == None\n"
    browser = ruff("check", "--no-cache", "--stdin-filename", "extension_src/core/x.py", "-",
                   stdin=source)
    assert "E711" not in browser.stdout
    assert "F401" in browser.stdout                 # the rest of the rules still apply there
    elsewhere = ruff("check", "--no-cache", "--stdin-filename", "tests/unit/x.py", "-",
                     stdin=source)
    assert "E711" in elsewhere.stdout
