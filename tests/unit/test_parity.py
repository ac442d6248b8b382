"""The shared vectors, run by the Transcrypt-compiled core under node.

Same inputs, same expected outputs as test_vectors.py: if the transpiled
JavaScript drifts from CPython (a lost keyword argument, a truthy empty list,
an `is None` on undefined), a vector fails here. Each vector runs twice: on
Transcrypt's modules as it writes them, and on the core as it ships, after
build.py's rewrite (buildtool.bundle.slim_transcrypt) and esbuild's minified bundle.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

from buildtool.bundle import bundle, slim_transcrypt
import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTOR_DIR = ROOT / "tests" / "vectors"

NODE_MAIN = """
import fs from 'node:fs';
import {run_case} from './vector_runner.js';
const out = {};
for (const file of process.argv.slice(2)) {
  const cases = JSON.parse(fs.readFileSync(file, 'utf8'));
  out[file] = cases.map(c => { try { return {ok: run_case(c)}; } catch (e) { return {error: String(e)}; } });
}
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def js_results(tmp_path_factory):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the parity check needs it")
    out = tmp_path_factory.mktemp("parity")
    src = out / "src"
    shutil.copytree(ROOT / "extension_src", src, ignore=shutil.ignore_patterns("static", "__pycache__"))
    shutil.copy(ROOT / "tests" / "parity" / "vector_runner.py", src)
    js = out / "js"
    # Same flags as build.py: -k -t -i are part of the contract (TRANSCRYPT.md §1).
    proc = subprocess.run([sys.executable, "-m", "transcrypt", "-n", "-k", "-t", "-i", "-od", str(js),
                           "vector_runner.py"], cwd=src, capture_output=True, text=True)
    assert proc.returncode == 0 and "Error" not in proc.stdout, proc.stdout + proc.stderr
    # The shipped form: the same modules, rewritten and bundled as build.py does.
    raw = out / "raw"
    shutil.copytree(js, raw)
    slim_transcrypt(raw)
    bundled = out / "bundled"
    bundle(ROOT, out, raw, bundled, release=True, entries=("vector_runner",))
    files = [str(p) for p in sorted(VECTOR_DIR.glob("*.json"))]
    results = {}
    for variant, where in (("transpiled", js), ("bundled", bundled)):
        (where / "package.json").write_text('{"type": "module"}')
        (where / "main.mjs").write_text(NODE_MAIN)
        run = subprocess.run([node, "main.mjs", *files], cwd=where, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        results[variant] = json.loads(run.stdout)
    return results


def load_cases():
    for path in sorted(VECTOR_DIR.glob("*.json")):
        cases = json.loads(path.read_text(encoding="utf-8"))
        for index, case in enumerate(cases):
            yield pytest.param(str(path), index, case, id=f"{path.stem}:{case['name']}")


@pytest.mark.parametrize("variant", ["transpiled", "bundled"])
@pytest.mark.parametrize("file,index,case", list(load_cases()))
def test_vector_in_javascript(js_results, file, index, case, variant):
    got = js_results[variant][file][index]
    assert "error" not in got, got["error"]
    assert got["ok"] == case["expect"]
