"""What a successful build writes: manifest, pages, scripts, icons, zip."""

import json
import re
import shutil
import struct
import subprocess
import tomllib
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import buildtool.transpile
from buildtool.cli import main
from buildtool.config import load_project
from buildtool.layout import ENTRIES, SCRIPT_ENTRIES
from buildtool.sources import build_config_source
from buildtool.transpile import COMPILE_HINT, TRANSCRYPT_FLAGS, transcrypt_command
from buildtool.validate import manifest_references
import pytest

ROOT = Path(__file__).resolve().parents[2]

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
ZIP_NAME = f"keypool-{VERSION}-chrome.zip"


@pytest.fixture(scope="module")
def ext(dev_build):
    return dev_build / "chrome-mv3"


@pytest.fixture(scope="module")
def manifest(ext):
    return json.loads((ext / "manifest.json").read_text(encoding="utf-8"))


class TestManifest:
    def test_is_mv3_with_a_module_service_worker(self, manifest, ext):
        """MV3; the service worker is js/background.js, a classic script (one bundle)."""
        assert manifest["manifest_version"] == 3
        assert manifest["background"] == {"service_worker": "js/background.js"}
        assert (ext / "js" / "background.js").is_file()

    def test_name_version_description_come_from_pyproject(self, manifest):
        assert manifest["name"] == "Keypool"
        assert manifest["version"] == VERSION
        assert manifest["description"] == PYPROJECT["project"]["description"]
        assert len(manifest["description"]) <= 132
        assert manifest["minimum_chrome_version"] == "116"

    def test_pages(self, manifest, ext):
        assert manifest["action"]["default_popup"] == "popup.html"
        assert manifest["action"]["default_title"] == "Keypool"
        assert manifest["options_ui"] == {"page": "options.html", "open_in_tab": True}
        assert (ext / "popup.html").is_file() and (ext / "options.html").is_file()

    @pytest.mark.parametrize("size", [16, 32, 48, 128])
    def test_icons_exist_as_pngs_of_their_size(self, manifest, ext, size):
        rel = manifest["icons"][str(size)]
        assert rel == f"icons/icon{size}.png"
        assert manifest["action"]["default_icon"][str(size)] == rel
        data = (ext / rel).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (size, size)

    def test_permissions(self, manifest):
        assert manifest["permissions"] == ["storage", "alarms", "contextMenus", "activeTab", "scripting"]
        assert manifest["optional_host_permissions"] == ["http://*/*", "https://*/*"]

    def test_host_permissions_cover_default_servers_and_provider(self, manifest):
        """The five localhost:300x servers share one pattern (a pattern's port is a wildcard)."""
        assert manifest["host_permissions"] == [
            "http://localhost/*",
            "https://generativelanguage.googleapis.com/*",
        ]

    def test_analyze_tab_command(self, manifest):
        assert manifest["commands"] == {
            "analyze-tab": {
                "suggested_key": {"default": "Ctrl+Shift+Y", "mac": "Command+Shift+Y"},
                "description": "Analyze the visible tab",
            }
        }

    def test_every_referenced_file_exists(self, manifest, ext):
        refs = manifest_references(manifest)
        assert len(refs) == 11  # worker, popup, options page, 4 + 4 icons
        for ref, field in refs:
            assert (ext / ref).is_file(), f"{field} -> {ref}"


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))


@pytest.mark.parametrize("page", ["popup", "options"])
def test_pages_load_their_entry_as_a_module(ext, page):
    parser = _Scripts()
    parser.feed((ext / f"{page}.html").read_text(encoding="utf-8"))
    srcs = [s["src"] for s in parser.scripts if s.get("type") == "module" and s.get("src")]
    assert f"js/{page}.js" in srcs
    for src in srcs:
        assert (ext / src).is_file()


def test_static_files_keep_their_subpaths(ext):
    for path in (ROOT / "extension_src" / "static").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(ROOT / "extension_src" / "static")
            assert (ext / rel).read_bytes() == path.read_bytes(), rel


def test_js_holds_one_bundle_per_entry_and_its_map(ext):
    """No module graph to load: js/ has <entry>.js and, in development, <entry>.js.map."""
    js = ext / "js"
    expected = set()
    for entry in ENTRIES + SCRIPT_ENTRIES:
        expected |= {f"{entry}.js", f"{entry}.js.map"}
    assert {p.name for p in js.iterdir()} == expected
    for entry in ENTRIES:
        text = (js / f"{entry}.js").read_text(encoding="utf-8")
        assert text.startswith(COMPILE_HINT + "\n")
        assert not re.search(r"^\s*(import|export)\b.* from ", text, re.M), f"{entry}.js imports"
        assert text.rstrip().endswith(f"//# sourceMappingURL={entry}.js.map")
        assert "Transcrypt'ed from Python, " not in text  # no timestamp: reproducible output


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_build_config_carries_tool_keypool_through_transcrypt(tmp_path):
    """build_config.DEFAULTS, compiled by Transcrypt and read by node, equals [tool.keypool]."""
    project = load_project(ROOT)
    src = tmp_path / "src"
    src.mkdir()
    (src / "build_config.py").write_text(
        build_config_source(project, project.defaults, release=False), encoding="utf-8"
    )
    js = tmp_path / "js"
    subprocess.run(
        [*transcrypt_command(), *TRANSCRYPT_FLAGS, "-od", str(js), "build_config.py"],
        cwd=src, capture_output=True, check=True,
    )
    (js / "package.json").write_text('{"type": "module"}')
    script = (
        "const m = await import('./js/build_config.js');"
        "console.log(JSON.stringify({name: m.NAME, version: m.VERSION, release: m.RELEASE,"
        " defaults: m.DEFAULTS}));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(result.stdout)
    assert got == {
        "name": "keypool",
        "version": VERSION,
        "release": False,
        "defaults": PYPROJECT["tool"]["keypool"],
    }
    assert "hedgeDelayMs" not in got["defaults"]


def test_bundles_carry_the_default_settings(ext, release_build):
    servers = json.dumps(PYPROJECT["tool"]["keypool"]["servers"], separators=(", ", ": "))
    assert f'"servers": {servers}' in (ext / "js" / "background.js").read_text(encoding="utf-8")
    minified = (release_build / "chrome-mv3" / "js" / "background.js").read_text(encoding="utf-8")
    assert "servers:" + json.dumps(PYPROJECT["tool"]["keypool"]["servers"], separators=(",", ":")) \
        in minified


def test_zip_holds_the_extension_at_its_root(dev_build):
    ext = dev_build / "chrome-mv3"
    with zipfile.ZipFile(dev_build / ZIP_NAME) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert "manifest.json" in names
        files = sorted(p.relative_to(ext).as_posix() for p in ext.rglob("*") if p.is_file())
        assert names == files
        for name in names:
            assert zf.read(name) == (ext / name).read_bytes()
            assert ".staging" not in name and not name.startswith("/")
    assert sorted(p.name for p in dev_build.iterdir()) == ["chrome-mv3", ZIP_NAME]


def test_release_build_has_no_maps_or_python(release_build):
    js = release_build / "chrome-mv3" / "js"
    assert (js / "background.js").is_file()
    assert not list(js.glob("*.map"))
    assert not list(js.glob("*.py"))
    assert sorted(p.name for p in js.iterdir()) == sorted(f"{e}.js" for e in ENTRIES + SCRIPT_ENTRIES)
    for path in js.glob("*.js"):
        assert "sourceMappingURL" not in path.read_text(encoding="utf-8"), path.name
    with zipfile.ZipFile(release_build / ZIP_NAME) as zf:
        assert not [n for n in zf.namelist() if n.endswith((".map", ".py"))]


def test_same_sources_give_the_same_zip(dev_build, tmp_path):
    """Builds are reproducible: no timestamps in the JS or in the zip."""
    assert main(["--out", str(tmp_path), "-q"]) == 0
    assert (tmp_path / ZIP_NAME).read_bytes() == (dev_build / ZIP_NAME).read_bytes()


def test_memoizing_transcrypt_runner_gives_identical_output(dev_build, tmp_path, monkeypatch):
    """The build speeds Transcrypt up by memoizing a pure function; plain Transcrypt agrees."""
    monkeypatch.setattr(buildtool.transpile, "FAST_TRANSCRYPT", False)
    assert buildtool.transpile.transcrypt_command()[1:] == ["-m", "transcrypt"]
    assert main(["--out", str(tmp_path), "-q"]) == 0
    ext = dev_build / "chrome-mv3"
    plain = tmp_path / "chrome-mv3"
    names = sorted(p.relative_to(ext).as_posix() for p in ext.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(plain).as_posix() for p in plain.rglob("*") if p.is_file())
    for name in names:
        assert (ext / name).read_bytes() == (plain / name).read_bytes(), name
