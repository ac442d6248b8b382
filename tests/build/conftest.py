"""Fixtures for the build tests: buildtool.cli.main([...]) in-process, output in tmp dirs.

Successful builds are shared per session (`dev_build`, `release_build`); tests
that break something work on a copy of the project (`project`), passed to
build.py with --root.
"""

import shutil
from pathlib import Path

import pytest

from buildtool.cli import main
from buildtool.layout import ENTRIES, SCRIPT_ENTRIES

ROOT = Path(__file__).resolve().parents[2]


class Result:
    """What one main() call returned and printed."""

    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    @property
    def error_lines(self):
        return [line for line in self.err.splitlines() if line.strip()]

    def __repr__(self):
        return f"Result(rc={self.rc}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def run_build(capsys):
    """Call main(argv) and capture its output: run_build("--out", DIR, ...)."""

    def run(*argv):
        capsys.readouterr()
        rc = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(rc, captured.out, captured.err)

    return run


def _build_once(tmp_path_factory, name, *extra):
    out = tmp_path_factory.mktemp(name)
    rc = main(["--out", str(out), "-q", *extra])
    assert rc == 0, f"main(['--out', {str(out)!r}, '-q', *{extra!r}]) returned {rc}"
    return out


@pytest.fixture(scope="session")
def dev_build(tmp_path_factory):
    """Output root of one default (development) build of the real project."""
    return _build_once(tmp_path_factory, "dev")


@pytest.fixture(scope="session")
def release_build(tmp_path_factory):
    """Output root of one --release build of the real project."""
    return _build_once(tmp_path_factory, "release", "--release")


TINY_ENTRY = """import jsfix  # noqa: F401
import build_config

console.log(build_config.NAME, '{entry}')
"""


@pytest.fixture
def project(tmp_path):
    """A throw-away copy of the project to break; build it with --root.

    The copy keeps pyproject.toml, templates/, static/ and jsfix.py, but its
    entry modules are one-liners and core/ and glue/ are left out: these tests
    are about build.py, and a tiny project transpiles in a fraction of a second.
    """
    dest = tmp_path / "project"
    src = dest / "extension_src"
    src.mkdir(parents=True)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "templates", dest / "templates", ignore=ignore)
    shutil.copytree(ROOT / "extension_src" / "static", src / "static", ignore=ignore)
    shutil.copy2(ROOT / "extension_src" / "jsfix.py", src / "jsfix.py")
    for entry in ENTRIES:
        (src / f"{entry}.py").write_text(TINY_ENTRY.format(entry=entry), encoding="utf-8")
    for entry in SCRIPT_ENTRIES:
        (src / f"{entry}.js").write_text(f"globalThis.__{entry} = true;\n", encoding="utf-8")
    return dest
