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

from buildtool.bundle import (RUNTIME_MODULE, bundle, drop_boolean_truth_tests,
                              drop_members_no_bundle_uses, drop_unused_prototype_members,
                              keyword_names, names_still_in, native_slices, slim_transcrypt)
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


def tagged(value, extra=None):
    # Never called with keywords: its -k preamble goes, so a last argument
    # that happens to carry __kwargtrans__ (untrusted JSON) stays an argument.
    return str(value) + '|' + ('none' if extra is None else str(extra['value']))


class Box:
    def __init__(self, width, height=1, label=None):
        self.area = width * height
        self.label = label

    def scaled(self, factor=2, offset=0):
        return self.area * factor + offset


def slices(s, xs, n, none):
    # Step 1 becomes JS slice (native_slices); a stop that may be None stays the end.
    return [s[:4], s[n:], s[1:-1], s[-3:], s[len(s) - 1:], s[:n + 1], s[2:none], s[none:2],
            s[n:1], s[:-10], s[10:], s[::2], s[:len(s) - 2][1:],
            str(xs[1:]), str(xs[:-1]), str(xs[n:n + 2]), str(xs[5:]), str(xs[-5:])]


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
        tagged(1),
        tagged(2, {'__kwargtrans__': None, 'value': 9}),
        '|'.join(slices('abcdefg', [1, 2, 3], 2, None)),
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
    # tagged() is never called with keywords: no preamble, no keyword test in its default check.
    tagged = rewritten[rewritten.index("var tagged = "):rewritten.index("export var Box")]
    assert "__kwargs__" not in tagged and "__kwargtrans__" not in tagged
    original = (js / "probe.js").read_text(encoding="utf-8").splitlines()
    # Line for line (the source maps stay right), plus one import at the end.
    assert len(rewritten.splitlines()) == len(original) + 1
    for before, after in zip(original, rewritten.splitlines()):
        if "return" in before or "__class__" in before:
            # Same line, but for the pure marks and the truth tests of booleans.
            assert after.replace("/* @__PURE__ */ ", "") == before.replace(
                "__t__ (extra === null)", "      (extra === null)") or "__getslice__" in before
    for release in (False, True):
        out = tmp_path / f"bundled-{release}"
        bundle(ROOT, tmp_path, raw, out, release=release, entries=("probe",))
        (out / "main.mjs").write_text(MAIN, encoding="utf-8")
        (out / "package.json").write_text('{"type": "module"}')
        run = subprocess.run(["node", "main.mjs"], cwd=out, capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout) == expected, f"release={release}"


@pytest.mark.parametrize("call,native", [
    ("s.__getslice__ (null, 4, 1)", "s.slice (0, 4)"),
    ("s.__getslice__ (n, null, 1)", "s.slice (n)"),
    ("s.__getslice__ (1, -__t__ ((1)), 1)", "s.slice (1, -__t__ ((1)))"),
    ("s.__getslice__ (null, len (s) - 1, 1)", "s.slice (0, len (s) - 1)"),
    ("s.__getslice__ (null, len (s), 1)", "s.slice (0, len (s))"),
    # a stop that may be null at run time (a name, a call, a choice) still means the end
    ("s.__getslice__ (a, b, 1)", "s.slice (a, (b) ?? void 0)"),
    ("s.__getslice__ (null, f (a, b), 1)", "s.slice (0, (f (a, b)) ?? void 0)"),
    ("s.__getslice__ (null, a ? 1 : n + 1, 1)", "s.slice (0, (a ? 1 : n + 1) ?? void 0)"),
    ("s.__getslice__ (null, len (a) || b, 1)", "s.slice (0, (len (a) || b) ?? void 0)"),
    ("s.__getslice__ (t.__getslice__ (0, 2, 1), null, 1)", "s.slice (t.slice (0, 2))"),
    ("s.__getslice__ (null, null, 2)", "s.__getslice__ (null, null, 2)"),   # a step: kept
    ("s.__getslice__ (null, ',', 1)", "s.slice (0, (',') ?? void 0)"),   # a comma in a string
])
def test_slices_with_step_one_become_native(call, native):
    assert native_slices("x = " + call + ";") == "x = " + native + ";"


def test_a_module_with_its_own_getslice_keeps_every_call(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.js").write_text("var b = s.__getslice__ (0, 2, 1);\n", encoding="utf-8")
    (raw / "c.js").write_text("var C = {get __getslice__ () {return f;}};\n", encoding="utf-8")
    slim_transcrypt(raw)
    assert (raw / "a.js").read_text(encoding="utf-8") == "var b = s.__getslice__ (0, 2, 1);\n"


def test_class_definitions_are_marked_pure_and_lines_stay(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    text = "export var A =  __class__ ('A', [object], {\n});\nvar b = f ();\n"
    (raw / "m.js").write_text(text, encoding="utf-8")
    slim_transcrypt(raw)
    got = (raw / "m.js").read_text(encoding="utf-8")
    assert got == "export var A =  /* @__PURE__ */ __class__ ('A', [object], {\n});\nvar b = f ();\n"


def test_keyword_names_are_read_from_the_calls():
    calls = ["f (1, __kwargtrans__ ({cap: 3, opts: {deep: 1}}));",
             "export function __kwargtrans__ (anObject) {", "g (__kwargtrans__ ({end: ''}));"]
    assert keyword_names(calls) == {"cap", "opts", "deep", "end"}
    # Keywords from a variable (f(**kw), f(a=1, **kw)): any name, so every preamble stays.
    assert keyword_names(calls + ["f (__kwargtrans__ (kw));"]) is None
    assert keyword_names(["f (__mergekwargtrans__ ({a: 1}, kw));"]) is None


@pytest.mark.parametrize("test,dropped", [
    ("if (__t__ (a != null)) {", True),
    ("if (__t__ (len (xs) == 0 + n)) {", True),
    ("return __t__ (!f (x, y)) ? 1 : 2;", True),
    ("if (__t__ (x)) {", False),                       # any value: its truth is Python's
    ("if (__t__ (f (a == b))) {", False),               # the comparison is an argument
    ("if (__t__ (a && b != c)) {", False),
    ("if (__t__ (a == b ? c : d)) {", False),
    ("if (__t__ (a & b == c)) {", False),               # & is below ==: a number
    ("if (__t__ (!a + b)) {", False),
    ("if (__t__ (a = b == c)) {", False),
    ("if (__t__ ('a == b')) {", False),                 # inside a string
    ("export function __t__ (target) {", False),
])
def test_truth_tests_of_booleans_go(test, dropped):
    got = drop_boolean_truth_tests(test)
    assert len(got) == len(test)                        # same columns
    assert (got == test.replace("__t__ ", "      ", 1)) if dropped else (got == test)


RUNTIME_PART = """\
String.prototype.isalnum = function () {
    return /^[0-9a-zA-Z]{1,}$/.test(this)
}
String.prototype.lower = function () {
    return this.toLowerCase ();
};
Array.prototype.insert = function (index, element) {this.splice (index, 0, element);};
__setproperty__ (String.prototype, 'format', {
    get: function () {return 1;},
});
__JsIterator__.prototype.next = function () {
    return 2;
};
String.prototype.__str__ = function () {return this.lower ();};
export function str (s) {return s.__str__ ();}
"""


def test_prototype_members_no_code_names_go_and_lines_stay():
    got = drop_unused_prototype_members(RUNTIME_PART, ["var a = x.insert (0, 1);"])
    assert got.count("\n") == RUNTIME_PART.count("\n")
    assert "isalnum" not in got and "format" not in got
    # named elsewhere (insert), in the runtime itself (lower), or called by the engine (next)
    assert "Array.prototype.insert" in got and "String.prototype.lower" in got
    assert "__JsIterator__.prototype.next" in got and "String.prototype.__str__" in got
    assert got.split("\n")[0] == "" and got.split("\n")[2] == ""


def test_prototype_members_no_bundle_names_go(tmp_path):
    """Named only by runtime code the bundler dropped (here `unused_helper`): it goes too."""
    runtime = RUNTIME_PART.replace("export function str", "export function unused_helper (s) {return s.isalnum ();}\nexport function str")
    (tmp_path / f"{RUNTIME_MODULE}.js").write_text(runtime, encoding="utf-8")
    bundle_text = ("String.prototype.isalnum=function(){return/^[0-9a-zA-Z]{1,}$/.test(this)};"
                   "String.prototype.lower=function(){return this.toLowerCase()};"
                   "function s(t){return t.lower()}")
    gone = drop_members_no_bundle_uses(tmp_path, [bundle_text])
    assert "isalnum" in gone and "lower" not in gone   # __str__ (not in it) reads lower: no matter
    got = (tmp_path / f"{RUNTIME_MODULE}.js").read_text(encoding="utf-8")
    assert got.count("\n") == runtime.count("\n")
    assert "String.prototype.isalnum" not in got and "String.prototype.lower" in got
    assert drop_members_no_bundle_uses(tmp_path, [bundle_text]) == set()   # nothing more to drop


def test_a_member_two_prototypes_define_goes_when_no_bundle_calls_it(tmp_path):
    runtime = ("String.prototype.__getslice__ = function (a, b) {return 1;};\n"
               "Array.prototype.__getslice__ = function (a, b) {return 2;};\n"
               "String.prototype.lower = function () {return 3;};\n")
    (tmp_path / f"{RUNTIME_MODULE}.js").write_text(runtime, encoding="utf-8")
    bundle_text = ("String.prototype.__getslice__=function(a,b){return 1};"
                   "Array.prototype.__getslice__=function(a,b){return 2};"
                   "String.prototype.lower=function(){return 3};x.lower()")
    assert drop_members_no_bundle_uses(tmp_path, [bundle_text]) == {"__getslice__"}
    got = (tmp_path / f"{RUNTIME_MODULE}.js").read_text(encoding="utf-8")
    assert "__getslice__" not in got and "String.prototype.lower" in got
    # one call left in a bundle keeps both definitions
    (tmp_path / f"{RUNTIME_MODULE}.js").write_text(runtime, encoding="utf-8")
    assert drop_members_no_bundle_uses(tmp_path, [bundle_text + ";y.__getslice__(0,1,1)"]) == set()


CHAIN = """\
Array.prototype.__eq__ = function (other) { // compared by __ne__
    return 1;
};
Array.prototype.__ne__ = function (other) {
    return !this.__eq__ (other);
};
"""


@pytest.mark.parametrize("chains,gone", [(True, {"__eq__", "__ne__"}), (False, {"__ne__"})])
def test_a_member_only_a_dropped_one_calls_goes_with_it(tmp_path, chains, gone):
    (tmp_path / f"{RUNTIME_MODULE}.js").write_text(CHAIN, encoding="utf-8")
    bundle_text = ("Array.prototype.__eq__=function(_){return 1};"
                   "Array.prototype.__ne__=function(_){return!this.__eq__(_)};")
    assert drop_members_no_bundle_uses(tmp_path, [bundle_text], chains=chains) == gone
    # what the next bundle must confirm: a name it still has means a live caller
    assert names_still_in(["f.__eq__(x)", "g()"], gone) == gone & {"__eq__"}
