"""`.ci/run` runs exactly the commands the README tells people to run."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_build_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Build\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)[:2]


def test_ci_runs_the_readme_build_and_test_commands():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    build_cmd, test_cmd = readme_build_commands()
    assert f'BUILD_CMD="{build_cmd}"' in script
    assert f'TEST_CMD="{test_cmd}"' in script
    assert 'bash -c "$BUILD_CMD"' in script and 'bash -c "$TEST_CMD"' in script
    assert "python build.py" in build_cmd and "pytest" in test_cmd


def test_ci_script_is_executable_and_strict():
    path = ROOT / ".ci" / "run"
    assert os.access(path, os.X_OK)
    assert "set -euo pipefail" in path.read_text(encoding="utf-8")


def test_plain_pytest_collects_the_build_tests():
    """pytest skips dirs named build by default (norecursedirs); pyproject.toml undoes that."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "tests/build/test_ci.py::test_plain_pytest_collects_the_build_tests" in result.stdout
