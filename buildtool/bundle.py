"""Transcrypt's modules slimmed, then bundled per entry by esbuild, within budget."""

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
_KWARGS_PREAMBLE = re.compile(
    r"^(?P<i>\t*)if \(arguments\.length\) \{\n"
    r"(?P=i)\tvar __ilastarg(?P<n>\d+)__ = arguments\.length - 1;\n"
    r"(?P=i)\tif \(arguments \[__ilastarg(?P=n)__\] && arguments \[__ilastarg(?P=n)__\]"
    r"\.hasOwnProperty \(\"__kwargtrans__\"\)\) \{\n"
    r"(?P=i)\t\tvar __allkwargs(?P=n)__ = arguments \[__ilastarg(?P=n)__--\];\n"
    r"(?P=i)\t\tfor \(var __attrib(?P=n)__ in __allkwargs(?P=n)__\) \{\n"
    r"(?P=i)\t\t\tswitch \(__attrib(?P=n)__\) \{\n"
    r"(?P<cases>(?:(?P=i)\t\t\t\tcase '\w+': var \w+ = __allkwargs(?P=n)__ \[__attrib(?P=n)__\];"
    r" break;\n)+)"
    r"(?P=i)\t\t\t\}\n"
    r"(?P=i)\t\t\}\n"
    r"(?P=i)\t\}\n"
    r"(?P=i)\}\n"
    r"(?P=i)else \{\n"
    r"(?P=i)\}\n",
    re.M,
)
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
)


def _compact_kwargs(m):
    cases = _KWARGS_CASE.findall(m.group("cases"))
    if any(key in _OBJECT_PROTOTYPE_NAMES for key, _ in cases):
        return m.group(0)
    kw = f"__allkwargs{m.group('n')}__"
    sets = " ".join(f"if ('{key}' in {kw}) {{var {var} = {kw}.{key};}}" for key, var in cases)
    line = f"{m.group('i')}var {kw} = __kwargs__ (arguments); if ({kw}) {{{sets}}}"
    return line + "\n" * m.group(0).count("\n")  # same line count: the source maps stay right


def slim_transcrypt(raw_dir):
    """Shrink Transcrypt's modules for the bundler, line for line, without changing behaviour.

    - Each -k preamble (about 150 bytes minified, in nearly every function)
      becomes one call to __kwargs__ plus one `in` test per parameter: the
      same assignments, since a keyword object is a plain object and no
      parameter is named like a member of Object.prototype (those keep the
      original preamble).
    - The runtime's print() terminal no longer throws (and catches) a
      ReferenceError at every start of the service worker (RUNTIME_REWRITES).
    - Class definitions (`X = __class__ (...)`) are marked /* @__PURE__ */, so
      the bundler drops the classes nothing uses (Transcrypt's runtime defines
      many). Creating a class has no side effect.
    Lines are kept where they were, so Transcrypt's line-based source maps
    still apply.
    """
    (raw_dir / f"{KWARGS_MODULE}.js").write_text(KWARGS_MODULE_JS, encoding="utf-8")
    for path in raw_dir.glob("*.js"):
        if path.stem == KWARGS_MODULE:
            continue
        text = path.read_text(encoding="utf-8")
        new = text
        if path.stem == RUNTIME_MODULE:
            for before, after in RUNTIME_REWRITES:
                new = new.replace(before, after)
        new = _KWARGS_PREAMBLE.sub(_compact_kwargs, new)
        new = _CLASS_CALL.sub(r"\1/* @__PURE__ */ __class__ (", new)
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
    running = []
    for names, fmt, banner in groups:
        if not names:
            continue
        command = esbuild_command(root) + [f"{rel(raw_dir)}/{e}.js" for e in names] + common + [
            f"--format={fmt}", f"--banner:js={banner}"]
        log.debug("$ " + " ".join(command))
        running.append(subprocess.Popen(command, cwd=staging, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=env))
    if scripts:
        command = esbuild_command(root) + scripts + common + ["--format=iife"]
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
    if not release:
        for map_path in sorted(js_dir.glob("*.js.map")):
            _tidy_bundle_map(map_path, raw_dir)
    return {entry: (js_dir / f"{entry}.js").stat().st_size
            for entry in tuple(entries) + tuple(script_names)}


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
