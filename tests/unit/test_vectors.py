"""The shared vectors (tests/vectors/*.json) against the core in CPython.

test_parity.py runs the same vectors through the transpiled JavaScript.
"""
import json
from pathlib import Path

import pytest
import vector_runner

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"


def load_cases():
    for path in sorted(VECTOR_DIR.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            yield pytest.param(case, id=f"{path.stem}:{case['name']}")


@pytest.mark.parametrize("case", list(load_cases()))
def test_vector(case):
    got = json.loads(json.dumps(vector_runner.run_case(case)))
    assert got == case["expect"]
