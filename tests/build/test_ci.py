"""`.ci/run` runs exactly the commands the README tells people to run."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert build_cmd == "bash tools/setup.sh" and "pytest" in test_cmd
    setup = (ROOT / "tools" / "setup.sh").read_text(encoding="utf-8")
    assert setup.rstrip().endswith("python build.py")  # the set-up command also builds


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


STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$SETUP_LOG"
{extra}
"""


@pytest.fixture
def fresh_machine(tmp_path):
    """A copy of tools/setup.sh in an empty project, with every tool it calls stubbed.

    The stubs log their arguments; PATH holds only them and the basic tools.
    No Chromium anywhere: KEYPOOL_CHROMIUM unset, its default paths point
    nowhere, and no `chromium` on PATH until the stubbed apt-get installs one.
    """
    project = tmp_path / "project"
    (project / "tools").mkdir(parents=True)
    shutil.copy2(ROOT / "tools" / "setup.sh", project / "tools" / "setup.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    venv_python = STUB.format(extra="")
    stubs = {
        # `python3.11 -m venv .venv` makes .venv/bin/python, itself a stub
        "python3.11": STUB.format(extra=(
            'if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin"; '
            f"printf '%s' '{venv_python}' > \"$3/bin/python\"; chmod +x \"$3/bin/python\"; fi"
        )),
        "npm": STUB.format(extra=""),
        "apt-get": STUB.format(extra=(
            'case "$*" in *install*chromium*) printf "#!/bin/sh\\n" > "$STUB_BIN/chromium"; '
            'chmod +x "$STUB_BIN/chromium";; esac'
        )),
        "id": "#!/bin/sh\necho 0\n",  # root, as on CI
    }
    for name, text in stubs.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    for tool in ("bash", "dirname", "basename", "mkdir", "chmod", "env", "cat", "printf"):
        found = shutil.which(tool)
        if found and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "SETUP_LOG": str(log), "STUB_BIN": str(bin_dir),
           "KEYPOOL_CHROMIUM_PATHS": str(tmp_path / "no-chromium-here"), "HOME": str(tmp_path)}
    return project, env, log


def test_setup_installs_chromium_venv_and_npm_packages_then_builds(fresh_machine):
    project, env, log = fresh_machine
    result = subprocess.run(["bash", "tools/setup.sh"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines()
    assert calls == [
        "apt-get update",
        "apt-get install -y chromium",
        "python3.11 -c import ensurepip",
        "python3.11 -m venv .venv",
        "python -m pip install --quiet -e .[test]",
        "npm ci --no-audit --no-fund",
        "python build.py",
    ]
    assert "no Chromium found: installing Debian's chromium package" in result.stdout


def test_setup_without_apt_says_what_to_install_in_one_line(fresh_machine):
    project, env, log = fresh_machine
    (Path(env["STUB_BIN"]) / "apt-get").unlink()
    result = subprocess.run(["bash", "tools/setup.sh"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "Chromium" in line]
    assert lines == ["setup: no Chromium found: install Chromium, or set "
                     "KEYPOOL_CHROMIUM=/path/to/chromium, before running the end-to-end tests"]
    assert log.read_text().splitlines()[-1] == "python build.py"


def test_setup_keeps_a_chromium_it_finds(fresh_machine, tmp_path):
    project, env, log = fresh_machine
    chromium = tmp_path / "my-chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    env["KEYPOOL_CHROMIUM"] = str(chromium)
    result = subprocess.run(["bash", "tools/setup.sh"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [c for c in log.read_text().splitlines() if c.startswith("apt-get")]
    assert f"setup: Chromium: {chromium}" in result.stdout
