"""buildtool.bundle.slim_transcrypt and the bundler keep Transcrypt's behaviour.

The extension's own code hardly calls its functions with keywords, so the
parity vectors do not exercise the rewritten -k preamble. This module does:
it runs under CPython, as Transcrypt writes it, and as build.py ships it
(rewritten, bundled, minified), and all three must print the same lines.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from buildtool.bundle import bundle, slim_transcrypt
from buildtool.transpile import TRANSCRYPT_FLAGS
import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = '''
def backoff_ms(attempt, base=100, cap=1000):
    return min(cap, base * 2 ** attempt)


def describe(kind, reason='none', status=0):
    return kind + '/' + reason + '/' + str(status)


def outer(a, b=2):
    def inner(x, scale=10):
        return x * scale
    return [inner(a), inner(a, scale=b), inner(scale=3, x=b)]


def with_args(first, *rest):
    return [first, len(rest)]


def with_kwargs(first, **extra):
    return [first, sorted(extra.keys())]


class Box:
    def __init__(self, width, height=1, label=None):
        self.area = width * height
        self.label = label

    def scaled(self, factor=2, offset=0):
        return self.area * factor + offset


def lines():
    box = Box(3, label='b')
    return [
        str(backoff_ms(3)),
        str(backoff_ms(3, cap=500)),
        str(backoff_ms(attempt=1, base=7)),
        str(backoff_ms(2, 10, cap=30)),
        describe('timeout'),
        describe('http', status=503),
        describe(reason='r', kind='k'),
        str(outer(4)),
        str(outer(4, b=5)),
        str(with_args(1, 2, 3)),
        str(with_kwargs(1, z=2, a=3)),
        str(box.area) + ' ' + box.label,
        str(Box(2, height=4).area),
        str(box.scaled()) + ' ' + str(box.scaled(offset=1)) + ' ' + str(box.scaled(3, offset=2)),
    ]
'''

MAIN = "import {lines} from './probe.js';\nprocess.stdout.write(JSON.stringify(lines()));\n"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_rewritten_and_bundled_code_behaves_as_cpython(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "probe.py").write_text(PROBE, encoding="utf-8")
    namespace = {}
    exec(compile(PROBE, "probe.py", "exec"), namespace)
    expected = namespace["lines"]()

    js = tmp_path / "js"
    proc = subprocess.run(
        [sys.executable, "-m", "transcrypt", *TRANSCRYPT_FLAGS, "-od", str(js), "probe.py"],
        cwd=src, capture_output=True, text=True,
    )
    assert proc.returncode == 0 and "Error" not in proc.stdout, proc.stdout + proc.stderr
    raw = tmp_path / "raw"
    shutil.copytree(js, raw)
    slim_transcrypt(raw)
    rewritten = (raw / "probe.js").read_text(encoding="utf-8")
    assert rewritten.count("__kwargs__ (arguments)") >= 6  # the functions without *args/**kw
    original = (js / "probe.js").read_text(encoding="utf-8").splitlines()
    # Line for line (the source maps stay right), plus one import at the end.
    assert len(rewritten.splitlines()) == len(original) + 1
    for before, after in zip(original, rewritten.splitlines()):
        if "return" in before or "__class__" in before:
            assert after.replace("/* @__PURE__ */ ", "") == before
    for release in (False, True):
        out = tmp_path / f"bundled-{release}"
        bundle(ROOT, tmp_path, raw, out, release=release, entries=("probe",))
        (out / "main.mjs").write_text(MAIN, encoding="utf-8")
        (out / "package.json").write_text('{"type": "module"}')
        run = subprocess.run(["node", "main.mjs"], cwd=out, capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout) == expected, f"release={release}"


def test_class_definitions_are_marked_pure_and_lines_stay(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    text = "export var A =  __class__ ('A', [object], {\n});\nvar b = f ();\n"
    (raw / "m.js").write_text(text, encoding="utf-8")
    slim_transcrypt(raw)
    got = (raw / "m.js").read_text(encoding="utf-8")
    assert got == "export var A =  /* @__PURE__ */ __class__ ('A', [object], {\n});\nvar b = f ();\n"
