"""build.py's command line: options, its one success line, its one-line errors."""

import json
import logging
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from buildtool.layout import BUNDLE_BUDGETS_KB, DEV_BUDGET_FACTOR, ENTRIES, log
import pytest

ROOT = Path(__file__).resolve().parents[2]


def insert_line(path, line_no, text):
    """Put `text` at 1-based line `line_no` of `path`, padding a short file with blank lines."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    while len(lines) < line_no - 1:
        lines.append("\n")
    lines.insert(line_no - 1, text.rstrip("\n") + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def snapshot(directory):
    """{relative path: (bytes, mtime_ns)} of every file under `directory`."""
    return {
        p.relative_to(directory).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def assert_one_error(result, *fragments):
    """Exit code 1 and exactly one `error: ...` line on stderr holding every fragment."""
    assert result.rc == 1, result
    assert len(result.error_lines) == 1, result
    line = result.error_lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


def test_servers_option_sets_host_permissions_and_defaults(run_build, tmp_path):
    result = run_build(
        "--out", tmp_path, "--servers", "http://a.example:8080/api, https://b.example/api/"
    )
    assert result.rc == 0, result
    assert result.err == ""
    assert re.fullmatch(
        r"Built \S*chrome-mv3 \(\d+ files, \d+ KB; js/background\.js \d+\.\d KB,"
        r" js/popup\.js \d+\.\d KB, js/options\.js \d+\.\d KB(, js/\w+\.js \d+\.\d KB)*\)"
        r" and \S*keypool-0\.1\.0-chrome\.zip"
        r" in \d+\.\d s\n",
        result.out,
    ), result.out
    manifest = json.loads((tmp_path / "chrome-mv3" / "manifest.json").read_text())
    assert manifest["host_permissions"] == [
        "http://a.example/*",
        "https://b.example/*",
        "https://generativelanguage.googleapis.com/*",
    ]
    worker = (tmp_path / "chrome-mv3" / "js" / "background.js").read_text()
    assert '"servers": ["http://a.example:8080/api", "https://b.example/api"]' in worker


@pytest.mark.parametrize(
    "servers, fragment",
    [
        pytest.param("ftp://a.example/api", "not an http:// or https:// URL", id="ftp"),
        pytest.param("localhost:3000/api", "not an http:// or https:// URL", id="no-scheme"),
        pytest.param("http://a.example/api,,http://b.example", "empty entry", id="empty-entry"),
        pytest.param("", "empty entry", id="empty"),
        pytest.param("http://u:p@a.example/api", "credentials", id="credentials"),
        pytest.param("http://a.example/api?x=1", "query or fragment", id="query"),
        pytest.param("http://a.example:99999/api", "not a valid URL", id="bad-port"),
        pytest.param("http://a.example/api,http://a.example/api/", "listed twice", id="duplicate"),
        pytest.param(
            ",".join(f"http://s{i}.example/api" for i in range(21)), "at most 20", id="21-servers"
        ),
    ],
)
def test_bad_servers_fail_with_one_line(run_build, tmp_path, servers, fragment):
    result = run_build("--out", tmp_path / "out", "--servers", servers)
    assert_one_error(result, "error: --servers: ", fragment)
    assert not (tmp_path / "out").exists()


def test_script_exit_code_and_error_line(tmp_path):
    """Run as a script, a failure exits 1 with one line on stderr and nothing on stdout."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--out", str(tmp_path), "--servers", "ftp://x"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: --servers: 'ftp://x' is not an http:// or https:// URL"
    ]


def test_broken_template_syntax_names_file_and_line(run_build, project, tmp_path):
    insert_line(project / "templates" / "popup.html.j2", 3, "{% if %}")
    result = run_build("--root", project, "--out", tmp_path / "out")
    assert_one_error(result, "error: templates/popup.html.j2:3: ", "syntax")


def test_undefined_template_variable_names_file_and_line(run_build, project, tmp_path):
    insert_line(project / "templates" / "manifest.json.j2", 4, '  "x": {{ no_such_value | tojson }},')
    result = run_build("--root", project, "--out", tmp_path / "out")
    assert_one_error(result, "error: templates/manifest.json.j2:4: ", "no_such_value")


def test_python_syntax_error_names_file_and_line(run_build, project, tmp_path):
    (project / "extension_src" / "core").mkdir()
    (project / "extension_src" / "core" / "zz_broken.py").write_text("x = 1\ndef f(:\n    pass\n")
    result = run_build("--root", project, "--out", tmp_path / "out")
    assert_one_error(result, "error: extension_src/core/zz_broken.py:2: SyntaxError")


def test_walrus_is_rejected_before_transcrypt_miscompiles_it(run_build, project, tmp_path):
    """Transcrypt 3.9.5 compiles `:=` without complaint into broken JS; the build refuses it."""
    insert_line(project / "extension_src" / "popup.py", 3, "if (n := 3):\n    pass")
    result = run_build("--root", project, "--out", tmp_path / "out")
    assert_one_error(result, "error: extension_src/popup.py:3: ", "walrus")


def test_transcrypt_import_error_names_file_and_line(run_build, project, tmp_path):
    """A module Transcrypt cannot import: its report is mapped back to extension_src/."""
    insert_line(project / "extension_src" / "options.py", 2, "import json")
    result = run_build("--root", project, "--out", tmp_path / "out")
    line = assert_one_error(result, "error: extension_src/options.py:2: ", "'json'")
    assert ".staging" not in line


def test_unknown_module_names_file_and_line(run_build, project, tmp_path):
    (project / "extension_src" / "glue").mkdir()
    (project / "extension_src" / "glue" / "__init__.py").write_text("")
    (project / "extension_src" / "glue" / "thing.py").write_text("x = 1\nimport no_such_module\n")
    insert_line(project / "extension_src" / "background.py", 2, "import glue.thing")
    result = run_build("--root", project, "--out", tmp_path / "out")
    assert_one_error(result, "error: extension_src/glue/thing.py:2: ", "'no_such_module'")


def test_missing_asset_fails_the_build(run_build, project, tmp_path):
    (project / "extension_src" / "static" / "icons" / "icon48.png").unlink()
    result = run_build("--root", project, "--out", tmp_path / "out")
    assert_one_error(result, "missing icons/icon48.png", "manifest.json")


def test_bad_setting_in_pyproject_names_it(run_build, project, tmp_path):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("keyTimeoutMs = 10000", 'keyTimeoutMs = "10s"'))
    result = run_build("--root", project, "--out", tmp_path / "out")
    assert_one_error(result, "error: pyproject.toml: [tool.keypool] keyTimeoutMs")


@pytest.mark.parametrize("line, expected", [
    pytest.param("keyTimeoutMs = 50", "keyTimeoutMs: must be between 100 and 120000 ms",
                 id="keyTimeoutMs-50"),
    pytest.param("probeIntervalMs = 1", "probeIntervalMs: must be between 500 and 86400000 ms",
                 id="probeIntervalMs-1"),
    pytest.param("ejectionBaseMs = 400000", "ejectionBaseMs: must not exceed failedResetMs",
                 id="ejection-over-reset"),
    pytest.param("keyTimeoutMz = 10000", "keyTimeoutMz: unknown setting", id="typo"),
])
def test_a_default_the_worker_would_warn_about_fails_the_build(run_build, project, tmp_path,
                                                               line, expected):
    """core.settings checks [tool.keypool]: whatever the worker would ignore, the build refuses."""
    pyproject = project / "pyproject.toml"
    name = line.split(" = ")[0]
    text = pyproject.read_text()
    if f"\n{name} = " in text:
        text = re.sub(rf"\n{name} = [^\n]*", "\n" + line, text)
    else:
        text = text.replace("\nprobeIntervalMs = 30000", "\nprobeIntervalMs = 30000\n" + line)
    pyproject.write_text(text)
    result = run_build("--root", project, "--out", tmp_path / "out")
    assert_one_error(result, "error: pyproject.toml: [tool.keypool] " + expected)


def test_failed_build_leaves_previous_output_untouched(run_build, project, tmp_path):
    out = tmp_path / "out"
    assert run_build("--root", project, "--out", out, "-q").rc == 0
    before = snapshot(out)
    insert_line(project / "templates" / "options.html.j2", 2, "{{ broken")
    assert run_build("--root", project, "--out", out).rc == 1
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["chrome-mv3", "keypool-0.1.0-chrome.zip"]


def test_rebuild_replaces_previous_output(run_build, project, tmp_path):
    """A second build swaps in a complete new tree: files gone from the sources go too."""
    out = tmp_path / "out"
    assert run_build("--root", project, "--out", out, "-q").rc == 0
    (out / "chrome-mv3" / "stale.txt").write_text("from an older build")
    (project / "extension_src" / "static" / "extra.css").write_text("body { margin: 0 }\n")
    result = run_build("--root", project, "--out", out, "--release", "-q")
    assert result.rc == 0 and result.out == "" and result.err == "", result
    assert not (out / "chrome-mv3" / "stale.txt").exists()
    assert (out / "chrome-mv3" / "extra.css").is_file()
    assert not list((out / "chrome-mv3" / "js").glob("*.map"))
    with zipfile.ZipFile(out / "keypool-0.1.0-chrome.zip") as zf:
        assert "extra.css" in zf.namelist()
    assert sorted(p.name for p in out.iterdir()) == ["chrome-mv3", "keypool-0.1.0-chrome.zip"]


def test_verbose_shows_steps(run_build, project, tmp_path):
    result = run_build("--root", project, "--out", tmp_path / "out", "-v")
    assert result.rc == 0, result
    for step in ("config", "sources", "templates", "transcrypt", "bundle", "validate", "zip"):
        assert f"  {step}: " in result.out
    assert result.out.splitlines()[-1].startswith("Built ")


def test_main_is_callable_repeatedly_without_piling_up_log_handlers(run_build, tmp_path):
    for _ in range(2):
        assert run_build("--out", tmp_path, "--servers", "nope").rc == 1
    assert [h for h in log.handlers if type(h) is logging.StreamHandler] == []


@pytest.mark.parametrize("release", [False, True], ids=["development", "release"])
def test_a_bundle_over_its_budget_fails_the_build(run_build, project, tmp_path, monkeypatch,
                                                  release):
    """The size budgets are the build's: over one, it fails and the previous dist/ stays."""
    out = tmp_path / "out"
    mode = ["--release"] if release else []
    assert run_build("--root", project, "--out", out, "-q", *mode).rc == 0
    before = (out / "chrome-mv3" / "js" / "popup.js").read_bytes()
    factor = 1 if release else DEV_BUDGET_FACTOR
    # A budget just under the tiny project's bundle (the budgets are in KB).
    monkeypatch.setitem(BUNDLE_BUDGETS_KB, "popup", (len(before) - 1) / 1024 / factor)
    result = run_build("--root", project, "--out", out, *mode)
    line = assert_one_error(result, "error: js/popup.js: ", "over its budget")
    assert ("--release (minified)" in line) == release
    assert (out / "chrome-mv3" / "js" / "popup.js").read_bytes() == before


def test_last_line_gives_each_bundle_size(run_build, project, tmp_path):
    result = run_build("--root", project, "--out", tmp_path / "out", "--release")
    assert result.rc == 0, result
    last = result.out.splitlines()[-1]
    js = tmp_path / "out" / "chrome-mv3" / "js"
    for entry in ENTRIES:
        size = (js / f"{entry}.js").stat().st_size
        assert f"js/{entry}.js {size / 1024:.1f} KB" in last
