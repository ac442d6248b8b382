"""Transcrypt's modules slimmed, then bundled per entry by esbuild, within budget."""

import collections
import json
import os
import re
import subprocess
from pathlib import Path

from .errors import ToolError, ValidationError
from .layout import (
    BUNDLE_BUDGETS_KB,
    CLASSIC_ENTRIES,
    DEV_BUDGET_FACTOR,
    ENTRIES,
    JS_DIR,
    ROOT,
    SCRIPT_ENTRIES,
    log,
)
from .transpile import COMPILE_HINT


# Transcrypt's -k preamble, in a function whose parameters can all come as
# keywords (no *args, no **kwargs): the last argument is the keyword object
# when it has __kwargtrans__, and each key sets the parameter of that name.
# The default-value checks of the parameters just before it (one per defaulted
# parameter) also reset a parameter that received the keyword object.
_KWARGS_PREAMBLE = re.compile(
    r"^(?P<i>\t*)"
    r"(?P<defaults>(?:if \(typeof (?P<d>\w+) == 'undefined' \|\| \((?P=d) != null"
    r" && (?P=d)\.hasOwnProperty \(\"__kwargtrans__\"\)\)\) \{;\n"
    r"(?P=i)\tvar (?P=d) = [^\n]*;\n(?P=i)\};\n(?P=i))*)"
    r"if \(arguments\.length\) \{\n"
    r"(?P=i)\tvar __ilastarg(?P<n>\d+)__ = arguments\.length - 1;\n"
    r"(?P=i)\tif \(arguments \[__ilastarg(?P=n)__\] && arguments \[__ilastarg(?P=n)__\]"
    r"\.hasOwnProperty \(\"__kwargtrans__\"\)\) \{\n"
    r"(?P=i)\t\tvar __allkwargs(?P=n)__ = arguments \[__ilastarg(?P=n)__--\];\n"
    r"(?P=i)\t\tfor \(var __attrib(?P=n)__ in __allkwargs(?P=n)__\) \{\n"
    r"(?:(?P=i)\t\t\tswitch \(__attrib(?P=n)__\) \{\n"
    r"(?P<cases>(?:(?P=i)\t\t\t\tcase '\w+': var \w+ = __allkwargs(?P=n)__ \[__attrib(?P=n)__\];"
    r" break;\n)+)"
    r"(?P=i)\t\t\t\}\n)?"
    r"(?P=i)\t\t\}\n"
    r"(?P=i)\t\}\n"
    r"(?P=i)\}\n"
    r"(?P=i)else \{\n"
    r"(?P=i)\}\n",
    re.M,
)
_DEFAULT_KWARGS_TEST = re.compile(
    r" \|\| \((\w+) != null && \1\.hasOwnProperty \(\"__kwargtrans__\"\)\)\)")
# A call with keywords: `f (a, __kwargtrans__ ({key: value, ...}))`.
_KWARGS_CALL = re.compile(r"(?<!function )\b__kwargtrans__ \(")
_KWARGS_CASE = re.compile(r"case '(\w+)': var (\w+) = ")
# `key in obj` also sees these, where the preamble's for...in does not.
_OBJECT_PROTOTYPE_NAMES = frozenset(
    "constructor hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString toString"
    " valueOf __proto__ __defineGetter__ __defineSetter__ __lookupGetter__ __lookupSetter__".split()
)
KWARGS_MODULE = "__kwargs__"
# Its text ships in the development source maps: keep it as it is, or the build changes.
KWARGS_MODULE_JS = """\
// Written by build.py: the keyword-argument object of a call (its last
// argument, when that has __kwargtrans__), or null. Transcrypt's -k preamble
// is rewritten to call this (build.slim_transcrypt).
export function __kwargs__ (args) {
\tvar last = args.length ? args [args.length - 1] : null;
\treturn last && last.hasOwnProperty ("__kwargtrans__") ? last : null;
}
"""
_CLASS_CALL = re.compile(r"(=\s*)__class__ \(")
# Exact rewrites of Transcrypt's runtime, each with the same behaviour, line for line.
RUNTIME_MODULE = "org.transcrypt.__runtime__"
RUNTIME_REWRITES = (
    # print()'s terminal looks for a DOM element. In the service worker there
    # is no `document`: the ReferenceError it threw (and caught) on every
    # start cost ~2.4 ms, V8 collecting source positions for its stack trace.
    (
        "self.element = document.getElementById ('__terminal__');",
        "self.element = typeof document == 'undefined' ? null :"
        " document.getElementById ('__terminal__');",
    ),
    # print() and input() go through a terminal object made at load time. The
    # extension calls neither: marked pure, the bundler drops the object, its
    # class and the two functions (~1.9 KB minified), and no worker start
    # makes them. Where print is used, they stay and behave as before.
    ("export var __terminal__ = __Terminal__ ();",
     "export var __terminal__ = /* @__PURE__ */ __Terminal__ ();"),
    ("export var print = __terminal__.print;",
     "export var print = /* @__PURE__ */ (() => __terminal__.print) ();"),
    ("export var input = __terminal__.input;",
     "export var input = /* @__PURE__ */ (() => __terminal__.input) ();"),
)


# A truth test, written by -t around every condition: `if (__t__ (x != null))`.
_TRUTH_CALL = re.compile(r"(?<![\w.$])__t__ \(")
_BOOLEAN_OPS = re.compile(r"===|!==|==|!=|<=|>=|<|>")
# `!x`, `!f (y)`, `!a.b`: a negation with nothing after its operand.
_NEGATION = re.compile(r"\s*!+\s*[\w$.]+\s*")
# At the top level of the tested expression, any of these means it may not be
# a comparison (so its value may not be a boolean): the call stays.
_NOT_ONLY_COMPARISON = re.compile(
    r"&&|\|\||\?\?|[?:,;&|^`/]|=>|<<|>>|(?<![=!<>])=(?!=)|\b(?:in|instanceof|yield|function|async|class)\b")


def _scan(text, start, quotes):
    """Walk the bracketed text at text[start:] to its closing bracket: the
    characters at its top level as [(index, char)], a string (any of `quotes`,
    at any depth) as one (index, " "), nested brackets left out; and the
    index of the closing bracket. None if it does not close."""
    depth, i, kept = 0, start, []
    while i < len(text):
        c = text[i]
        if c in quotes:
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            kept.append((i, " "))
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return kept, i
            depth -= 1
        elif depth == 0:
            kept.append((i, c))
        i += 1
    return None


def _top_level(text, start):
    """The text of the parenthesized argument at text[start:] with strings and
    nested brackets blanked, and the index of its closing parenthesis; None if
    it does not close."""
    found = _scan(text, start, "'\"")
    if found is None:
        return None
    kept, close = found
    return "".join(c for _, c in kept), close


def drop_boolean_truth_tests(text):
    """`__t__ (a != b)` becomes `(a != b)`: a comparison or a negation is
    already a boolean, which __t__ returns unchanged. Only when the argument's
    top level holds a comparison and no operator of lower precedence (&&, ?:,
    =, commas...), or is one negated operand."""
    out, last = [], 0
    for m in _TRUTH_CALL.finditer(text):
        found = _top_level(text, m.end())
        if found is None:
            continue
        top, _end = found
        if _NEGATION.fullmatch(top) or (
                _BOOLEAN_OPS.search(top) and not _NOT_ONLY_COMPARISON.search(top)):
            out.append(text[last:m.start()])
            out.append(" " * len("__t__ "))   # same columns: the source maps stay right
            last = m.start() + len("__t__ ")
    out.append(text[last:])
    return "".join(out)


# A slice with step 1, as Transcrypt writes `s[a:b]`: `s.__getslice__ (a, b, 1)`.
_SLICE_CALL = re.compile(r"\.__getslice__ \(")
# A module that defines its own __getslice__ (a class with slicing) keeps every call.
_SLICE_DEFINED = re.compile(r"\bget __getslice__ \(|__getslice__\s*[:=]|function __getslice__\b")
_INTEGER = re.compile(r"-?\d+")
# At the top level of a stop, what may let a null through: ?:, ??, &&, ||, =, commas.
_NOT_ONLY_ARITHMETIC = re.compile(r"[?&|=,:;]")


def _arguments(text, start):
    """[(start, end)] of the top-level arguments of the call whose `(` ends at
    text[start:], and the index of its `)`; None if it does not close."""
    found = _scan(text, start, "'\"`")
    if found is None:
        return None
    kept, close = found
    spans, first = [], start
    for i, c in kept:
        if c == ",":
            spans.append((first, i))
            first = i + 1
    spans.append((first, close))
    return spans, close


def _never_null(stop):
    """Is this stop expression plainly a number (an integer, len (...), arithmetic), never null?"""
    if _INTEGER.fullmatch(stop):
        return True
    if stop.startswith("len ("):
        found = _arguments(stop, len("len ("))
        if found is not None and found[1] == len(stop) - 1:
            return True
    found = _top_level(stop + ")", 0)
    return (found is not None and re.search(r"[-+*/%]", found[0]) is not None
            and not _NOT_ONLY_ARITHMETIC.search(found[0]))


def native_slices(text):
    """`s.__getslice__ (a, b, 1)` becomes `s.slice (a, b)`: JS's String and Array
    slice give the same result for a step of 1 (negative bounds from the end,
    clamped, an empty result when start >= stop), with `null` and `undefined`
    as 0 for the start. A stop of `null` means the end: a literal `null` is
    dropped, and a stop that might be null at run time (a name, a call) is
    passed as `(b) ?? void 0`. The one difference: Transcrypt's Array version
    gives the last element for a start past the end (`[1, 2][5:]` is `[2]`),
    where CPython and JS give `[]`. Any other step keeps the call. Same lines."""
    out, last = [], 0
    for m in _SLICE_CALL.finditer(text):
        if m.start() < last:
            continue
        found = _arguments(text, m.end())
        if found is None:
            continue
        spans, close = found
        if len(spans) != 3 or text[spans[2][0]:spans[2][1]].strip() != "1":
            continue
        start, stop = (text[a:b] for a, b in spans[:2])
        if "\n" in start or "\n" in stop:
            continue
        start = native_slices(start.strip())    # a slice inside a bound
        stop = native_slices(stop.strip())
        args = "0" if start == "null" else start
        if stop != "null":
            args += ", " + (stop if _never_null(stop) else "(" + stop + ") ?? void 0")
        out.append(text[last:m.start()])
        out.append(".slice (" + args + ")")
        last = close + 1
    out.append(text[last:])
    return "".join(out)


# A Python method the runtime puts on a JS prototype, at the top level:
# `String.prototype.isalnum = function () {` or `__setproperty__ (String.prototype, 'format', {`.
_PROTOTYPE_MEMBER = re.compile(
    r"^(?:\w+\.prototype\.(?P<a>\w+) = |__setproperty__ \(\w+\.prototype, '(?P<b>\w+)')")
# Names the JS engine or the browser call by themselves: they always stay.
_WORD = re.compile(r"\w+")
_HOST_CALLED = frozenset("next return throw then toString valueOf toJSON toLocaleString"
                         " constructor length".split())


def _prototype_spans(lines):
    """(first line, last line, name) of each prototype member the runtime defines."""
    spans, i = [], 0
    while i < len(lines):
        m = _PROTOTYPE_MEMBER.match(lines[i])
        if not m:
            i += 1
            continue
        j = i
        if lines[i].count("{") != lines[i].count("}") or not lines[i].rstrip().endswith(";"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("}"):
                j += 1
        spans.append((i, j, m.group("a") or m.group("b")))
        i = j + 1
    return spans


def _blank(lines, spans, unused):
    for start, end, _name in spans:
        if start in unused:
            for k in range(start, end + 1):
                lines[k] = ""
    return "\n".join(lines)


def drop_members_no_bundle_uses(raw_dir, bundles, chains=True):
    """Blank the runtime's prototype members that no bundle names; their names (empty: none).

    drop_unused_prototype_members reads the modules as Transcrypt wrote them,
    where runtime functions that the bundler then drops still name members
    (`__setitem__` names `__setslice__`). In the bundles (`bundles`: their
    text) a member's name that appears no more often than in its own
    definition is never called there: property names and strings survive
    minification, so this holds for --release bundles too.
    With `chains`, a name counts neither where a member that goes names it
    (`.__eq__` in Array's __ne__): that is an estimate, which the next
    bundles must confirm (names_still_in).
    """
    path = raw_dir / f"{RUNTIME_MODULE}.js"
    if not path.is_file():
        return set()
    lines = path.read_text(encoding="utf-8").split("\n")
    spans = _prototype_spans(lines)
    counts = [collections.Counter(_WORD.findall(text)) for text in bundles]
    # Its own definitions: all of them (String and Array both define __getslice__).
    own = collections.Counter()
    # What each member's code reads as a property (`.name`), comments left out.
    reads = collections.defaultdict(collections.Counter)
    for start, end, name in spans:
        own[name] += sum(_WORD.findall(lines[k]).count(name) for k in range(start, end + 1))
        code = "\n".join(re.sub(r"//.*", "", lines[k]) for k in range(start, end + 1))
        reads[name].update(re.findall(r"\.(\w+)", code))
    gone = set()
    while True:
        # per bundle: the names read by members that go and that it holds
        inside = [collections.Counter() for _ in counts]
        for c, seen in zip(counts, inside):
            for name in gone if chains else ():
                if c[name] > 0:
                    seen.update(reads[name])
        more = {name for _start, _end, name in spans
                if name not in gone and name not in _HOST_CALLED
                and all(c[name] - seen[name] <= own[name] for c, seen in zip(counts, inside))}
        if not more:
            break
        gone |= more
    if not gone:
        return set()
    path.write_text(_blank(lines, spans, {start for start, _end, name in spans if name in gone}),
                    encoding="utf-8")
    return gone


def names_still_in(bundles, names):
    """The names (of dropped members) that some bundle still has: their callers live."""
    return {name for name in names if any(re.search(r"\b" + re.escape(name) + r"\b", text)
                                          for text in bundles)}


def drop_unused_prototype_members(runtime, others):
    """The runtime without the prototype members no code names (same lines, blank).

    Transcrypt's runtime gives JS strings and arrays Python's methods
    (`isalnum`, `rsplit`, `insert`...), each an assignment the bundler must
    keep. One whose name appears nowhere else, neither in the other modules
    (`others`, their text) nor in the rest of the runtime, is never called.
    """
    lines = runtime.split("\n")
    spans = _prototype_spans(lines)
    # Word counts, once: a name is used if it appears in another module, or
    # in the runtime more often than in its own definition.
    elsewhere = set()
    for text in others:
        elsewhere.update(_WORD.findall(text))
    in_runtime = collections.Counter(_WORD.findall(runtime))
    unused = set()
    for start, end, name in spans:
        if name in _HOST_CALLED or name in elsewhere:
            continue
        own = sum(_WORD.findall(lines[k]).count(name) for k in range(start, end + 1))
        if in_runtime[name] == own:
            unused.add(start)
    return _blank(lines, spans, unused)


def keyword_names(texts):
    """Every keyword any call passes, in Transcrypt's output (`texts`); None if unknown.

    Transcrypt writes `f (x, key=v)` as `f (x, __kwargtrans__ ({key: v}))`.
    The names are read from those object literals (nested keys included: more
    names only keep more preambles). A call that passes keywords from a
    variable (`f (**options)`, `__mergekwargtrans__`) makes the set unknown.
    """
    names = set()
    for text in texts:
        if re.search(r"(?<!function )\b__mergekwargtrans__ \(", text):
            return None
        for m in _KWARGS_CALL.finditer(text):
            literal = _balanced_braces(text, m.end())
            if literal is None:
                return None
            names.update(re.findall(r"(\w+)\s*:", literal))
    return names


def _balanced_braces(text, start):
    """The `{...}` object literal at text[start:] (after blanks), or None if it is not one."""
    i = start
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j + 1]
    return None


def _rewrite_kwargs(m, keywords):
    """One function's -k preamble: dropped, compacted or kept (see slim_transcrypt)."""
    cases = _KWARGS_CASE.findall(m.group("cases") or "")
    if keywords is not None and not any(key in keywords for key, _ in cases):
        # No call passes any of its parameters by keyword: the preamble can
        # only ever assign nothing. Its default checks keep their `undefined`
        # test; the keyword object they also tested for cannot arrive.
        defaults = _DEFAULT_KWARGS_TEST.sub(")", m.group("defaults"))
        return m.group("i") + defaults + "\n" * (m.group(0).count("\n") - defaults.count("\n"))
    if any(key in _OBJECT_PROTOTYPE_NAMES for key, _ in cases):
        return m.group(0)
    kw = f"__allkwargs{m.group('n')}__"
    sets = " ".join(f"if ('{key}' in {kw}) {{var {var} = {kw}.{key};}}" for key, var in cases)
    line = f"{m.group('i')}{m.group('defaults')}var {kw} = __kwargs__ (arguments); if ({kw}) {{{sets}}}"
    return line + "\n" * (m.group(0).count("\n") - line.count("\n"))  # same line count: maps stay


def slim_transcrypt(raw_dir):
    """Shrink Transcrypt's modules for the bundler, line for line, without changing behaviour.

    - Each -k preamble (about 150 bytes minified, in nearly every function)
      goes where no call in raw_dir passes any of the function's parameters
      by keyword (keyword_names; the extension's code passes two names in
      all), with the keyword-object test of its default checks: it could
      assign nothing. Where some call may, it becomes one call to __kwargs__
      plus one `in` test per parameter: the same assignments, since a
      keyword object is a plain object and no parameter is named like a
      member of Object.prototype (those keep the original preamble).
      A keyword passed from a variable (`f (**kw)`) keeps every preamble.
    - The runtime's print() terminal no longer throws (and catches) a
      ReferenceError at every start of the service worker (RUNTIME_REWRITES).
    - The Python methods the runtime puts on JS prototypes go when no module
      names them (drop_unused_prototype_members).
    - Class definitions (`X = __class__ (...)`) are marked /* @__PURE__ */, so
      the bundler drops the classes nothing uses (Transcrypt's runtime defines
      many). Creating a class has no side effect.
    Lines are kept where they were, so Transcrypt's line-based source maps
    still apply.
    """
    (raw_dir / f"{KWARGS_MODULE}.js").write_text(KWARGS_MODULE_JS, encoding="utf-8")
    texts = {path: path.read_text(encoding="utf-8") for path in sorted(raw_dir.glob("*.js"))
             if path.stem != KWARGS_MODULE}
    keywords = keyword_names(texts.values())
    if keywords is None:
        log.debug("keywords passed from a variable: every -k preamble stays")
    slices_native = not any(_SLICE_DEFINED.search(text) for path, text in texts.items()
                            if path.stem != RUNTIME_MODULE)
    for path, text in texts.items():
        new = text
        if path.stem == RUNTIME_MODULE:
            for before, after in RUNTIME_REWRITES:
                new = new.replace(before, after)
            new = drop_unused_prototype_members(
                new, [t for other, t in texts.items() if other != path])
        new = _KWARGS_PREAMBLE.sub(lambda m: _rewrite_kwargs(m, keywords), new)
        new = _CLASS_CALL.sub(r"\1/* @__PURE__ */ __class__ (", new)
        new = drop_boolean_truth_tests(new)
        if path.stem != RUNTIME_MODULE and slices_native:
            new = native_slices(new)
        if new != text:
            if "__kwargs__ (arguments)" in new:
                # On the last line: imports are hoisted, and no line moves.
                new = new.rstrip("\n") + f"\nimport {{__kwargs__}} from './{KWARGS_MODULE}.js';\n"
            path.write_text(new, encoding="utf-8")


def esbuild_command(root):
    """The esbuild that `npm ci` installed (package.json pins it)."""
    for base in dict.fromkeys((Path(root), ROOT)):
        candidate = base / "node_modules" / ".bin" / "esbuild"
        if candidate.is_file():
            return [str(candidate)]
    raise ToolError(
        "esbuild is not installed (node_modules/.bin/esbuild is missing)",
        hint="run: npm ci",
    )


def bundle(root, staging, raw_dir, js_dir, release, entries=ENTRIES):
    """esbuild: js/<entry>.js for each entry, tree-shaken; minified in release.

    The service worker (CLASSIC_ENTRIES) is a classic script in strict mode,
    the pages' entries are ES modules: a module service worker took ~5 ms
    longer to wake (BENCHMARKS.md). A development bundle links
    js/<entry>.js.map, composed with Transcrypt's maps, so that DevTools
    shows the Python modules (sources named like glue/store.py, their text
    inside the map). esbuild runs in `staging` (paths in its output are
    relative to it), once per format, both at once. Returns {entry: bytes}.
    """
    rel = lambda p: Path(os.path.relpath(p, staging)).as_posix()  # noqa: E731
    common = [
        "--bundle",
        "--platform=browser",
        "--target=chrome116",  # the manifest's minimum_chrome_version
        "--charset=utf8",
        "--legal-comments=none",
        "--log-level=warning",
        f"--outdir={rel(js_dir)}",
        "--minify" if release else "--sourcemap",
    ]
    groups = (
        ([e for e in entries if e in CLASSIC_ENTRIES], "iife", COMPILE_HINT + '\n"use strict";'),
        ([e for e in entries if e not in CLASSIC_ENTRIES], "esm", COMPILE_HINT),
    )
    # copy_sources made sure each is there; a bundle of other entries (tests) has none.
    script_names = [e for e in SCRIPT_ENTRIES if (staging / "src" / f"{e}.js").is_file()]
    scripts = [f"{rel(staging / 'src')}/{e}.js" for e in script_names]
    # npm packages (markdown-it) resolve from the project's node_modules: the
    # staging dir may sit outside the project (tests build into a tmp dir).
    env = dict(os.environ, NODE_PATH=str(Path(root) / "node_modules"))
    commands = []
    for names, fmt, banner in groups:
        if names:
            commands.append(esbuild_command(root) + [f"{rel(raw_dir)}/{e}.js" for e in names]
                            + common + [f"--format={fmt}", f"--banner:js={banner}"])
    _run_all(commands + ([esbuild_command(root) + scripts + common + ["--format=iife"]]
                         if scripts else []), staging, env)
    # Once more, without the runtime's prototype members that no bundle named
    # (nor another member that goes with them: Array's __eq__, named only by
    # __ne__). Should a bundle still name one, its caller lives: again, with
    # only the members no bundle named.
    runtime = raw_dir / f"{RUNTIME_MODULE}.js"
    before = runtime.read_text(encoding="utf-8") if runtime.is_file() else None
    bundles = _bundle_texts(js_dir, entries)
    gone = drop_members_no_bundle_uses(raw_dir, bundles)
    if gone:
        _run_all(commands, staging, env)
        if names_still_in(_bundle_texts(js_dir, entries), gone):
            runtime.write_text(before, encoding="utf-8")
            drop_members_no_bundle_uses(raw_dir, bundles, chains=False)
            _run_all(commands, staging, env)
    if not release:
        for map_path in sorted(js_dir.glob("*.js.map")):
            _tidy_bundle_map(map_path, raw_dir)
    return {entry: (js_dir / f"{entry}.js").stat().st_size
            for entry in tuple(entries) + tuple(script_names)}


def _bundle_texts(js_dir, entries):
    return [(js_dir / f"{e}.js").read_text(encoding="utf-8") for e in entries]


def _run_all(commands, staging, env):
    """Run the esbuild commands at once; a ToolError for the first that fails."""
    running = []
    for command in commands:
        log.debug("$ " + " ".join(command))
        running.append(subprocess.Popen(command, cwd=staging, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=env))
    for process in running:
        output = process.communicate()[0].strip()
        if output:
            log.debug(output)
        if process.returncode != 0:
            m = re.search(r"^(?:✘ \[ERROR\]|error:) (.+)$", output, re.M)
            detail = m.group(1).strip() if m else (output.splitlines() or ["no output"])[-1]
            raise ToolError(f"esbuild failed (exit {process.returncode}): {detail}",
                            hint="run build.py -v to see its output")


def _tidy_bundle_map(map_path, raw_dir):
    """Name each source after its module (core/pool.py) and put its text in the map.

    esbuild names them by path from js/ to the staging dir, which the
    extension does not ship and which changes with every build.
    """
    source_map = json.loads(map_path.read_text(encoding="utf-8"))
    sources, contents = [], []
    for source in source_map.get("sources", []):
        path = (map_path.parent / source).resolve()
        if path.parent == raw_dir.resolve():
            stem, suffix = path.stem, path.suffix
            name = "/".join(stem.split(".")) + suffix if suffix == ".py" else path.name
        else:
            name = path.name
        sources.append(name)
        contents.append(path.read_text(encoding="utf-8") if path.is_file() else None)
    source_map["sources"] = sources
    source_map["sourcesContent"] = contents
    map_path.write_text(json.dumps(source_map, ensure_ascii=False), encoding="utf-8")


def check_budgets(sizes, release):
    """Fail when a bundle is over its budget (BUNDLE_BUDGETS_KB)."""
    factor = 1 if release else DEV_BUDGET_FACTOR
    for entry, size in sizes.items():
        limit_kb = BUNDLE_BUDGETS_KB[entry] * factor
        if size > limit_kb * 1024:
            kind = "--release (minified)" if release else "development"
            raise ValidationError(
                f"the {kind} bundle is {size / 1024:.1f} KB, over its budget of {limit_kb:g} KB",
                path=f"{JS_DIR}/{entry}.js",
                hint="see what it holds with build.py -v, or raise BUNDLE_BUDGETS_KB in buildtool/layout.py",
            )
