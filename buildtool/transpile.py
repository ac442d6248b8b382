"""One Transcrypt run over every entry module, and its errors as one SourceError."""

import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from .errors import SourceError, ToolError
from .layout import ENTRIES, SOURCE_DIR, log

TRANSCRYPT_FLAGS = ("-n", "-k", "-t", "-i")  # TRANSCRYPT.md §1: all four, always


# Runs Transcrypt's own main() after memoizing Generator.filterId, which applies
# every alias regex to every identifier it emits: ~40% of the compile time.
# filterId is a pure function of (idFiltering, aliases, identifier), so the
# output is byte-for-byte the same (tests/build checks it on the real sources).
TRANSCRYPT_RUNNER = """
import os, sys
sys.path[0] = os.getcwd()  # as `python -m transcrypt` has it
import transcrypt.__main__ as tm
Generator = tm.compiler.Generator
plain_filter_id = Generator.filterId
memo = {}
def filterId(self, qualifiedId):
    if not self.idFiltering:
        return plain_filter_id(self, qualifiedId)
    key = (tuple(self.aliases), qualifiedId)
    if key not in memo:
        memo[key] = plain_filter_id(self, qualifiedId)
    return memo[key]
Generator.filterId = filterId
sys.argv[0] = 'transcrypt'
sys.exit(tm.main())
"""
FAST_TRANSCRYPT_VERSIONS = ("3.9.5",)  # the versions whose filterId the runner was checked on
FAST_TRANSCRYPT = True  # tests turn it off to compare the output


def transcrypt_command():
    """How to run Transcrypt with this interpreter (memoized when the version is known)."""
    if importlib.util.find_spec("transcrypt") is not None:
        if FAST_TRANSCRYPT and _transcrypt_version() in FAST_TRANSCRYPT_VERSIONS:
            return [sys.executable, "-c", TRANSCRYPT_RUNNER]
        return [sys.executable, "-m", "transcrypt"]
    script = Path(sys.executable).with_name("transcrypt")
    if script.exists():
        return [str(script)]
    found = shutil.which("transcrypt")
    if found:
        return [found]
    raise ToolError(
        "Transcrypt is not installed for this Python",
        hint="activate .venv or run: pip install -e '.[test]'",
    )


def _transcrypt_version():
    try:
        return importlib.metadata.version("transcrypt")
    except importlib.metadata.PackageNotFoundError:
        return None


def check_transcrypt_version(pin):
    installed = _transcrypt_version()
    if installed and pin and installed != pin:
        log.warning(f"warning: Transcrypt {installed} is installed; pyproject.toml pins {pin}")


def transpile(src, js_dir, release):
    """One Transcrypt run over _entries.py compiles every entry into js_dir."""
    # build_config too, so that it is always compiled (tests read it even if no entry does).
    imports = "".join(f"import {module}\n" for module in ENTRIES + ("build_config",))
    (src / "_entries.py").write_text(imports, encoding="utf-8")
    command = transcrypt_command() + list(TRANSCRYPT_FLAGS)
    if not release:
        command.append("-m")
    command += ["-od", str(js_dir.resolve()), "_entries.py"]  # -od must be absolute
    shown = ["<memoizing runner>" if part == TRANSCRYPT_RUNNER else part for part in command]
    log.debug("$ " + " ".join(shown))
    result = subprocess.run(command, cwd=src, capture_output=True, text=True)
    output = result.stdout + result.stderr
    log.debug(output.strip())
    if result.returncode != 0 or "Error while compiling" in output:
        raise transcrypt_error(output, src, result.returncode)


_FRAME = re.compile(r"File '(?P<file>[^']*)', line (?P<line>\w+), (?:at import of|namely):")


def transcrypt_error(output, src, returncode):
    """Turn Transcrypt's 'Error while compiling' report into one SourceError."""
    frames = [(m.group("file"), m.group("line")) for m in _FRAME.finditer(output)]
    if not frames:
        last = [line.strip() for line in output.splitlines() if line.strip()]
        detail = last[-1] if last else "no output"
        return ToolError(
            f"Transcrypt failed (exit {returncode}): {detail}",
            hint="run build.py -v to see its output",
        )
    message = output.split("namely:", 1)[1] if "namely:" in output else ""
    message = message.rsplit("Aborted", 1)[0]
    message = _clean_transcrypt_message(message)

    ours = None
    outside = None
    for file, line in frames:
        rel = _source_file(file, src)
        if rel is not None:
            if rel.stem != "_entries" or len(rel.parts) > 1:
                ours = (rel, line)
        elif outside is None:
            outside = file
    if outside is not None:
        message += f" (while importing {_describe_outside(outside)})"
    if ours is None:
        return SourceError(message, path=SOURCE_DIR)
    rel, line = ours
    tuple_line = re.search(r"\((\d+), \d+\)\)?$", message)
    line_no = int(line) if line.isdigit() and int(line) > 0 else None
    if line_no is None and tuple_line:
        line_no = int(tuple_line.group(1))
    module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
    if outside is None and message == f"Can't import module '{module}'":
        # Transcrypt's report when its compiler crashes inside this module.
        message = "Transcrypt's compiler failed on this line"
        source = (src / rel).read_text(encoding="utf-8").splitlines()
        if line_no and line_no <= len(source) and re.search(r"""\bf["'].*\{\{""", source[line_no - 1]):
            message += " ('{{' in an f-string crashes it, Transcrypt issue #845)"
        else:
            message += " (run build.py -v to see its report)"
    return SourceError(message, path=f"{SOURCE_DIR}/{rel.as_posix()}", line=line_no)


def _clean_transcrypt_message(message):
    text = message.strip()
    if text.startswith("Error while compiling"):  # the compiler crashed inside its own report
        return "Transcrypt's compiler crashed on this line (e.g. '{{' in an f-string, #845)"
    if text.startswith("Import error, can't find any of:"):
        candidates = text.split(":", 1)[1].split()
        module = Path(candidates[0]).stem if candidates else "?"
        return (
            f"can't import module '{module}': not in {SOURCE_DIR}/ "
            "nor in Transcrypt's own stdlib"
        )
    text = text.replace("[<-SYNTAX FAULT]", "syntax error at:")
    return " ".join(text.split())


def _source_file(file, src):
    """The source-relative path of a Transcrypt frame (a path or a module name), or None."""
    if "/" in file or file.endswith(".py"):
        try:
            return Path(file).resolve().relative_to(src.resolve())
        except ValueError:
            return None
    base = Path(*file.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if (src / candidate).is_file():
            return candidate
    return None


def _describe_outside(file):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    path = Path(file)
    try:
        rel = path.relative_to(stdlib)
    except ValueError:
        return file
    module = ".".join(rel.with_suffix("").parts)
    module = module.removesuffix(".__init__")
    return f"CPython's '{module}', which Transcrypt cannot compile"


COMPILE_HINT = "//# allFunctionsCalledOnLoad"


def tidy_js(js_dir, release):
    """Drop the helper entry and project files; make output reproducible; strip maps in release."""
    for path in list(js_dir.iterdir()):
        if path.stem == "_entries" or path.suffix == ".project":
            path.unlink()
        elif release and path.suffix in (".map", ".py"):
            path.unlink()
    for path in js_dir.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        if lines and lines[0].startswith("// Transcrypt'ed from Python"):
            # The timestamp goes (reproducible output). V8's compile-hint comment
            # takes the line instead, so source maps stay aligned: the service
            # worker restarts often, and compiling its functions eagerly cut the
            # first key request after a restart by ~20 % (BENCHMARKS.md).
            lines[0] = COMPILE_HINT
        kept = []
        for line in lines:
            m = re.match(r"//# sourceMappingURL=(\S+)\s*$", line)
            if m and (release or not (js_dir / m.group(1)).is_file()):
                continue  # no map to point at (copy.js refers to a copy.map never written)
            kept.append(line)
        new = "\n".join(kept)
        if new != text:
            path.write_text(new, encoding="utf-8")
