"""Checks of the written extension: manifest, referenced files, MV3's CSP, node."""

import html.parser
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ValidationError
from .layout import ENTRIES, JS_DIR, SOURCE_DIR, TEMPLATE_DIR, log


NODE_CHECKER = r"""
import vm from 'node:vm';
import fs from 'node:fs';
const bad = [];
for (const f of JSON.parse(fs.readFileSync(0, 'utf8'))) {
  try { new vm.SourceTextModule(fs.readFileSync(f, 'utf8'), {identifier: f}); }
  catch (e) { bad.push(f); }
}
process.stdout.write(JSON.stringify(bad));
"""


def validate(out, rendered, chrome_ver):
    """Check the written extension before it replaces the previous build."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    where = f"{TEMPLATE_DIR}/manifest.json.j2"
    if manifest.get("manifest_version") != 3:
        raise ValidationError("manifest_version must be 3", path=where)
    if manifest.get("version") != chrome_ver or not re.fullmatch(
        r"(0|[1-9]\d{0,4})(\.(0|[1-9]\d{0,4})){0,3}", str(manifest.get("version"))
    ):
        raise ValidationError(
            f"version must be the Chrome version {chrome_ver!r}, got {manifest.get('version')!r}",
            path=where,
        )
    if len(manifest.get("description", "")) > 132:
        raise ValidationError("description is longer than Chrome's 132 characters", path=where)
    background = manifest.get("background", {})
    if background.get("type") is not None:
        raise ValidationError(
            'background.type must be left out: js/background.js is bundled as a classic script',
            path=where,
        )

    for ref, field in manifest_references(manifest):
        _require(out, ref, f"missing {ref}, referenced by manifest.json {field}", where)
    for entry in ENTRIES:
        _require(out, f"{JS_DIR}/{entry}.js", f"the bundler wrote no {JS_DIR}/{entry}.js", None)
    for target, template in rendered.items():
        if target.endswith(".html"):
            check_html(out, target, f"{TEMPLATE_DIR}/{template}")


def manifest_references(manifest):
    """(path, field) of every extension file the manifest points at."""
    refs = []

    def add(value, field):
        if isinstance(value, str):
            refs.append((value, field))
        elif isinstance(value, dict):
            for key, item in value.items():
                add(item, f"{field}.{key}")
        elif isinstance(value, list):
            for item in value:
                add(item, field)

    add(manifest.get("background", {}).get("service_worker"), "background.service_worker")
    action = manifest.get("action", {})
    add(action.get("default_popup"), "action.default_popup")
    add(action.get("default_icon"), "action.default_icon")
    add(manifest.get("options_ui", {}).get("page"), "options_ui.page")
    add(manifest.get("options_page"), "options_page")
    add(manifest.get("icons"), "icons")
    for script in manifest.get("content_scripts", []):
        add(script.get("js"), "content_scripts.js")
        add(script.get("css"), "content_scripts.css")
    return refs


def _require(out, ref, message, where):
    path = (out / ref.split("#")[0].split("?")[0].lstrip("/")).resolve()
    if not path.is_relative_to(out.resolve()) or not path.is_file():
        raise ValidationError(message, path=where)


class _PageScanner(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs = []  # (line, tag, attribute, value, attrs)
        self.problems = []  # (line, message)
        self._script_line = None
        self._script_text = ""

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        attrs = dict(attrs)
        for key, value in attrs.items():
            if key.startswith("on"):
                self.problems.append((line, f"inline handler {key}= is blocked by MV3's CSP"))
            if key in ("href", "src") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append((line, "javascript: URLs are blocked by MV3's CSP"))
        for attribute in ("src", "href"):
            if tag in ("script", "link", "img") and attrs.get(attribute):
                self.refs.append((line, tag, attribute, attrs[attribute], attrs))
        if tag == "script" and not attrs.get("src"):
            self._script_line, self._script_text = line, ""

    def handle_data(self, data):
        if self._script_line is not None:
            self._script_text += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script_line is not None:
            if self._script_text.strip():
                self.problems.append(
                    (self._script_line, "inline <script> is blocked by MV3's CSP; use a js/ file")
                )
            self._script_line = None


def check_html(out, target, template):
    """Every <script src>, <link href> and <img src> exists; nothing MV3's CSP blocks."""
    scanner = _PageScanner()
    scanner.feed((out / target).read_text(encoding="utf-8"))
    scanner.close()
    if scanner.problems:
        line, message = scanner.problems[0]
        raise ValidationError(f"{message} (rendered {target} line {line})", path=template)
    base = (out / target).parent
    for line, tag, attribute, value, attrs in scanner.refs:
        scheme = urlsplit(value).scheme
        if value.startswith("//") or scheme in ("http", "https"):
            if tag == "script":
                raise ValidationError(
                    f"<script src={value!r}>: MV3 forbids remote code (rendered {target} line {line})",
                    path=template,
                )
            continue
        if scheme or value.startswith("#"):
            continue  # data:, chrome:, fragment
        ref = value.split("#")[0].split("?")[0]
        path = (out / ref.lstrip("/")) if ref.startswith("/") else (base / ref)
        if not path.resolve().is_file():
            raise ValidationError(
                f"missing {ref}, referenced by <{tag} {attribute}> (rendered {target} line {line})",
                path=template,
            )
        if tag == "script" and path.suffix == ".js" and path.parent.name == JS_DIR:
            if attrs.get("type") != "module":
                raise ValidationError(
                    f'<script src="{ref}"> needs type="module" (Transcrypt emits ES modules)'
                    f" (rendered {target} line {line})",
                    path=template,
                )


# Strings, template literals and comments, blanked before looking for eval.
_JS_NOISE = re.compile(
    r"""//[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`""", re.S
)
_JS_EVAL = re.compile(r"(?<![\w$.])eval\s*\(|\bnew\s+Function\s*\(|(?<![\w$.])Function\s*\(")


def check_js(out):
    """No eval/new Function (MV3's CSP forbids them), and node parses every module."""
    js_files = sorted(out.rglob("*.js"))
    for path in js_files:
        text = path.read_text(encoding="utf-8")
        code = _JS_NOISE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        m = _JS_EVAL.search(code)
        if m:
            line = code.count("\n", 0, m.start()) + 1
            what = re.sub(r"\s+", " ", m.group(0)).replace(" (", "(").replace("((", "(")
            raise ValidationError(
                f"{what} is blocked by MV3's CSP (no eval or new Function)"
                + _compiled_from(out, path),
                path=path.relative_to(out).as_posix(),
                line=line,
            )
    node = shutil.which("node")
    if node is None:
        log.warning(
            "warning: node is not on PATH, so the JS syntax check (node --check) was skipped"
        )
        return
    bad = _node_check_batch(node, js_files)
    for path in bad:
        result = subprocess.run(
            [node, "--input-type=module", "--check"],
            input=path.read_text(encoding="utf-8"),
            capture_output=True,
            text=True,
        )
        if result.returncode == 0:
            continue
        m = re.search(r"\[stdin\]:(\d+)", result.stderr)
        error = next(
            (ln for ln in result.stderr.splitlines() if re.match(r"\w*Error\b", ln)), "SyntaxError"
        )
        raise ValidationError(
            f"node --check: {error}" + _compiled_from(out, path),
            path=path.relative_to(out).as_posix(),
            line=m and int(m.group(1)),
        )


def _node_check_batch(node, js_files):
    """The files that fail to parse as ES modules, checked in one node process."""
    if not js_files:
        return []
    command = [node, "--experimental-vm-modules", "--no-warnings", "--input-type=module"]
    result = subprocess.run(
        command + ["-e", NODE_CHECKER],
        input=json.dumps([str(p) for p in js_files]),
        capture_output=True,
        text=True,
    )
    try:
        return [Path(p) for p in json.loads(result.stdout)]
    except ValueError:  # this node lacks vm.SourceTextModule: check each file separately
        log.debug(
            f"node batch check unavailable ({result.stderr.strip()[:200]}); checking one by one"
        )
        return js_files


def _compiled_from(out, path):
    if path.parent.name != JS_DIR or path.parent.parent != out:
        return ""
    source = Path(*path.stem.split(".")).with_suffix(".py")
    return f" (compiled from {SOURCE_DIR}/{source.as_posix()})"
