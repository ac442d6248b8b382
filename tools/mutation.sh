#!/usr/bin/env bash
# Mutation testing of the pure core (extension_src/core) with the CPython unit
# tests and the shared vectors: docs/mutation.md. Not part of CI.
#
#   bash tools/mutation.sh            # run (resumes: mutmut caches verdicts)
#   bash tools/mutation.sh recheck    # rerun only the survivors, against the current tests
#                                     # (mutmut keeps a cached verdict when only tests change)
#   bash tools/mutation.sh results    # list survivors: mutmut results
#   bash tools/mutation.sh show NAME  # one mutant's diff
#   bash tools/mutation.sh report     # docs/mutation-survivors.md from the verdicts and
#                                     # docs/mutation-equivalents.toml (tools/mutation_report.py;
#                                     # `report --check`: exit 1 while a survivor is open)
#
# mutmut names a module after its file's path (src/ stripped) and the tests
# import `core.x`, so it runs on a staged copy laid out as src/core. It uses
# one core at low priority (nice 10): the machine is shared.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STAGE="${KEYPOOL_MUTATION_DIR:-$ROOT/build/mutation}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"

# The report only reads the stage dir: it does not restage.
if [ "${1:-run}" = report ]; then
    shift
    exec "$PY" "$ROOT/tools/mutation_report.py" --stage "$STAGE" "$@"
fi

# A fresh copy of the sources and tests each time; mutants/ (mutmut's cache) stays.
rm -rf "$STAGE/src" "$STAGE/tests"
mkdir -p "$STAGE/src" "$STAGE/tests/parity"
cp -r "$ROOT/extension_src/core" "$STAGE/src/core"
cp -r "$ROOT/tests/unit" "$ROOT/tests/vectors" "$STAGE/tests/"
cp "$ROOT/tests/parity/vector_runner.py" "$STAGE/tests/parity/"
# ui.fmt's texts are tested beside core.poolview's rows; it is not mutated.
rm -rf "$STAGE/lib" && mkdir -p "$STAGE/lib" && cp -r "$ROOT/extension_src/ui" "$STAGE/lib/ui"
find "$STAGE" -name __pycache__ -prune -exec rm -rf {} +
cat > "$STAGE/pyproject.toml" <<'TOML'
[tool.pytest.ini_options]
pythonpath = ["tests/parity", "lib"]
addopts = "-p no:cacheprovider -p no:asyncio"

[tool.mutmut]
source_paths = ["src/core"]
also_copy = ["lib"]
# The parity run (node), the fleet simulation and the collect-only marker
# test need more than the core; the contract test reads extension_src.
pytest_add_cli_args_test_selection = [
    "tests/unit",
    "--ignore=tests/unit/test_parity.py",
    "--ignore=tests/unit/test_fleet.py",
    "--ignore=tests/unit/test_markers.py",
]
pytest_add_cli_args = ["--hypothesis-profile=mutation"]
TOML
cd "$STAGE"
MUTMUT="$(dirname "$PY")/mutmut"
if [ "${1:-run}" = run ]; then
    exec nice -n 10 "$MUTMUT" run --max-children 1
fi
if [ "$1" = recheck ]; then
    mapfile -t names < <("$MUTMUT" results 2>/dev/null | grep -v ': timeout$' | sed 's/^ *//; s/: .*//')
    [ "${#names[@]}" -eq 0 ] && exit 0
    exec nice -n 10 "$MUTMUT" run --max-children 1 "${names[@]}"
fi
exec "$MUTMUT" "$@"
