"""A development bundle maps back to the Python: bundle -> Transcrypt's JS -> .py line.

The map is decoded here (Source Map v3, base64 VLQ), with no library: a
position in js/<entry>.js must land on the line of the .py module that
produced it.
"""

import json
import re
from pathlib import Path

from buildtool.layout import ENTRIES
import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "extension_src"
_B64 = {c: i for i, c in enumerate(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def decode_mappings(mappings):
    """{generated line: [(column, source index, original line, original column)]}, 0-based."""
    lines = {}
    source = orig_line = orig_col = 0
    for gen_line, text in enumerate(mappings.split(";")):
        col = 0
        for segment in filter(None, text.split(",")):
            values, value, shift = [], 0, 0
            for char in segment:
                digit = _B64[char]
                value += (digit & 31) << shift
                if digit & 32:
                    shift += 5
                else:
                    values.append(-(value >> 1) if value & 1 else value >> 1)
                    value = shift = 0
            col += values[0]
            if len(values) >= 4:
                source += values[1]
                orig_line += values[2]
                orig_col += values[3]
                lines.setdefault(gen_line, []).append((col, source, orig_line, orig_col))
    return lines


def original_position(source_map, decoded, line, column):
    """(source name, 1-based line) of a 0-based bundle position."""
    segments = [s for s in decoded.get(line, []) if s[0] <= column]
    assert segments, f"no mapping at bundle line {line + 1}"
    _, source, orig_line, _ = segments[-1]
    return source_map["sources"][source], orig_line + 1


def py_line(module, pattern):
    """1-based line of the first line of extension_src/<module> that matches pattern."""
    for number, text in enumerate((SRC / module).read_text(encoding="utf-8").splitlines(), 1):
        if re.search(pattern, text):
            return number
    raise AssertionError(f"{pattern!r} not in {module}")


@pytest.fixture(scope="module")
def worker(dev_build):
    js = dev_build / "chrome-mv3" / "js"
    source_map = json.loads((js / "background.js.map").read_text(encoding="utf-8"))
    return (js / "background.js").read_text(encoding="utf-8").split("\n"), source_map, \
        decode_mappings(source_map["mappings"])


def bundle_position(lines, pattern):
    for number, text in enumerate(lines):
        m = re.search(pattern, text)
        if m:
            return number, m.start()
    raise AssertionError(f"{pattern!r} not in the bundle")


@pytest.mark.parametrize(
    "bundle_pattern, module, py_pattern",
    [
        pytest.param(r"chrome\.runtime\.onMessage\.addListener\(on_message\)", "background.py",
                     r"^chrome\.runtime\.onMessage\.addListener\(on_message\)", id="background"),
        pytest.param(r"var _health_from_obj = function", "core/pool.py",
                     r"^def _health_from_obj\(", id="core-pool"),
        pytest.param(r"var SETTINGS_ITEM = ", "glue/store.py", r"^SETTINGS_ITEM = ",
                     id="glue-store"),
        pytest.param(r"function canonicalJson\(", "jsonutil.js",
                     r"^export function canonicalJson\(", id="plain-js"),
    ],
)
def test_a_bundle_position_maps_to_its_python_line(worker, bundle_pattern, module, py_pattern):
    lines, source_map, decoded = worker
    line, column = bundle_position(lines, bundle_pattern)
    assert original_position(source_map, decoded, line, column) == (
        module, py_line(module, py_pattern))


def test_maps_carry_the_python_sources_under_module_paths(dev_build):
    js = dev_build / "chrome-mv3" / "js"
    for entry in ENTRIES:
        source_map = json.loads((js / f"{entry}.js.map").read_text(encoding="utf-8"))
        sources = source_map["sources"]
        assert f"{entry}.py" in sources
        assert "org/transcrypt/__runtime__.py" in sources
        for name in sources:  # nothing of the build's staging dir leaks into the map
            assert not name.startswith(("/", "..")) and "staging" not in name, name
        own = sources.index(f"{entry}.py")
        assert source_map["sourcesContent"][own] == (SRC / f"{entry}.py").read_text(encoding="utf-8")
    worker = json.loads((js / "background.js.map").read_text(encoding="utf-8"))["sources"]
    assert {"core/pool.py", "glue/keyfetch.py", "glue/store.py"} <= set(worker)
