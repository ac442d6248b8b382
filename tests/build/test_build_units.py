"""The build's stages (buildtool/), one function at a time, without running a build."""

import ast
import shutil

from buildtool.config import Project, chrome_version, host_permissions, match_pattern
from buildtool.errors import ConfigError, ToolError, ValidationError
from buildtool.lint import TranscryptLint
from buildtool.sources import build_config_source, py_literal
from buildtool.transpile import transcrypt_error
from buildtool.validate import check_html, check_js
import pytest
from hypothesis import given
from hypothesis import strategies as st


class TestHostPermissions:
    @pytest.mark.parametrize(
        "url, pattern",
        [
            ("http://localhost:3000/api", "http://localhost/*"),
            ("https://Keys.Example.com/v1/api", "https://keys.example.com/*"),
            ("http://127.0.0.1:8080", "http://127.0.0.1/*"),
            ("http://[::1]:3000/api", "http://[::1]/*"),
        ],
    )
    def test_match_pattern_drops_port_and_path(self, url, pattern):
        assert match_pattern(url) == pattern

    def test_servers_and_provider_are_deduplicated_and_sorted(self):
        defaults = {
            "servers": ["https://b.example/api", "http://a.example:1/api", "http://a.example:2/x"],
            "provider": {"baseUrl": "https://b.example/v1"},
        }
        assert host_permissions(defaults) == ["http://a.example/*", "https://b.example/*"]


@pytest.mark.parametrize(
    "version, chrome",
    [("0.1.0", "0.1.0"), ("1.2.0rc1", "1.2.0"), ("2.0.0.post3", "2.0.0"), ("07.1", "7.1")],
)
def test_chrome_version_is_simplified(version, chrome):
    assert chrome_version(version) == chrome


@pytest.mark.parametrize("version", ["abc", "70000.1", "v1.0"])
def test_chrome_version_rejects(version):
    with pytest.raises(ConfigError, match="Chrome version"):
        chrome_version(version)


_literals = st.recursive(
    st.none().map(lambda _: 0) | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(min_size=1), _literals, max_size=6))
def test_py_literal_round_trips(value):
    """build_config.DEFAULTS is written as a plain literal that reads back equal."""
    source = py_literal(value)
    assert ast.literal_eval(source) == value


def test_build_config_source_is_plain_assignments():
    project = Project("keypool", "0.1.0", "d", {"servers": ["http://x/api"]}, "3.9.5")
    tree = ast.parse(build_config_source(project, project.defaults, release=True))
    names = [node.targets[0].id for node in tree.body if isinstance(node, ast.Assign)]
    assert names == ["NAME", "DISPLAY_NAME", "VERSION", "RELEASE", "DEFAULTS"]


class TestTranscryptLint:
    @pytest.mark.parametrize(
        "source, fragment",
        [
            ("if (n := 1):\n    pass\n", "walrus"),
            ("match x:\n    case 1:\n        pass\n", "match"),
            ("from __future__ import annotations\n", "__future__"),
            ("y = {**a, **b}\n", "dict unpacking"),
            ("async def f(xs):\n    return [await x for x in xs]\n", "await inside a comprehension"),
        ],
    )
    def test_rejects(self, source, fragment):
        lint = TranscryptLint()
        lint.visit(ast.parse(source))
        assert lint.problems and fragment in lint.problems[0][1]

    def test_await_in_a_function_inside_a_comprehension_is_fine(self):
        source = "async def f(xs):\n    return [g(x) for x in xs]\n\nasync def g(x):\n    return await x\n"
        lint = TranscryptLint()
        lint.visit(ast.parse(source))
        assert lint.problems == []


class TestTranscryptReport:
    """Transcrypt's 'Error while compiling' reports (captured from 3.9.5) -> one SourceError."""

    @pytest.fixture
    def src(self, tmp_path):
        (tmp_path / "core").mkdir()
        for rel in ("popup.py", "_entries.py", "core/__init__.py", "core/pool.py"):
            (tmp_path / rel).write_text("x = 1\n")
        return tmp_path

    def report(self, *frames, message):
        lines = ["", "Error while compiling (offending file last):"]
        lines += [f"\tFile '{file}', line {line}, {how}:" for file, line, how in frames]
        return "\n".join(lines + ["\t", f"\t{message}", "", "Aborted", ""])

    def test_syntax_error_in_a_module_named_by_module_name(self, src):
        output = self.report(
            (f"{src}/_entries.py", "None", "at import of"),
            ("core.pool", "0", "namely"),
            message="('EOF in multi-line statement', (4, 0))",
        )
        error = transcrypt_error(output, src, 5)
        assert str(error).startswith("extension_src/core/pool.py:4: ")

    def test_stdlib_module_points_at_our_import(self, src):
        output = self.report(
            (f"{src}/_entries.py", "None", "at import of"),
            (f"{src}/popup.py", "2", "at import of"),
            ("/usr/lib/python3.11/json/__init__.py", "108", "at import of"),
            ("codecs", "44", "namely"),
            message="Can't import module 'codecs'",
        )
        error = transcrypt_error(output, src, 5)
        assert str(error).startswith("extension_src/popup.py:2: Can't import module 'codecs'")

    def test_missing_module(self, src):
        output = self.report(
            (f"{src}/_entries.py", "None", "at import of"),
            ("popup", "1", "namely"),
            message="Import error, can't find any of:\n\t\t/x/nosuch.py\n\t\t/x/nosuch.js\n",
        )
        error = transcrypt_error(output, src, 5)
        assert str(error).startswith("extension_src/popup.py:1: can't import module 'nosuch'")

    def test_unrecognised_output_is_a_tool_error(self, src):
        error = transcrypt_error("Traceback...\nKeyError: 'x'\n", src, 1)
        assert isinstance(error, ToolError)
        assert "KeyError: 'x'" in str(error)


class TestCheckJs:
    def write(self, tmp_path, text):
        (tmp_path / "js").mkdir(exist_ok=True)
        (tmp_path / "js" / "a.js").write_text(text)

    @pytest.mark.parametrize(
        "text", ["let x = eval('1');\n", "const f = new Function('a', 'return a');\n", "Function('x')\n"]
    )
    def test_eval_and_function_constructor_are_rejected(self, tmp_path, text):
        self.write(tmp_path, "// ok\n" + text)
        with pytest.raises(ValidationError, match="MV3's CSP") as info:
            check_js(tmp_path)
        assert str(info.value).startswith("js/a.js:2: ")

    @pytest.mark.parametrize(
        "text",
        [
            "console.log('eval(x)');\n",
            "// new Function(\n",
            "/* eval( */ let a = 1;\n",
            "obj.eval(1); x instanceof Function;\n",
            "let t = `eval(${a})`;\n",
        ],
    )
    def test_strings_comments_and_members_are_fine(self, tmp_path, text):
        self.write(tmp_path, text)
        check_js(tmp_path)

    @pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
    def test_invalid_module_syntax_names_file_and_line(self, tmp_path):
        self.write(tmp_path, "export const a = 1;\nlet = ;\n")
        with pytest.raises(ValidationError, match=r"^js/a\.js:2: node --check: SyntaxError"):
            check_js(tmp_path)


class TestCheckHtml:
    def page(self, tmp_path, body):
        (tmp_path / "js").mkdir(exist_ok=True)
        (tmp_path / "js" / "popup.js").write_text("")
        (tmp_path / "popup.html").write_text(f"<!doctype html>\n<html><body>\n{body}\n</body></html>\n")

    def test_module_script_and_existing_files_pass(self, tmp_path):
        self.page(tmp_path, '<script type="module" src="js/popup.js"></script>')
        check_html(tmp_path, "popup.html", "templates/popup.html.j2")

    @pytest.mark.parametrize(
        "body, fragment",
        [
            ('<script type="module" src="js/nope.js"></script>', "missing js/nope.js"),
            ('<link rel="stylesheet" href="css/nope.css">', "missing css/nope.css"),
            ('<script src="js/popup.js"></script>', 'needs type="module"'),
            ("<script>alert(1)</script>", "inline <script>"),
            ('<button onclick="go()">go</button>', "inline handler onclick="),
            ('<script src="https://cdn.example/x.js"></script>', "remote code"),
            ('<a href="javascript:void(0)">x</a>', "javascript: URLs"),
        ],
    )
    def test_rejects(self, tmp_path, body, fragment):
        self.page(tmp_path, body)
        with pytest.raises(ValidationError, match="rendered popup.html line 3") as info:
            check_html(tmp_path, "popup.html", "templates/popup.html.j2")
        assert fragment in str(info.value)
        assert str(info.value).startswith("templates/popup.html.j2: ")
