"""core.contract declares every storage key and message type once; the code uses the names."""
import re
from pathlib import Path

from core import contract as ct

SRC = Path(__file__).resolve().parents[2] / "extension_src"
NOT_YET_MIGRATED: set[str] = set()   # every page and module uses core.contract's names


def _sources():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel == "core/contract.py" or rel in NOT_YET_MIGRATED:
            continue
        yield rel, path.read_text(encoding="utf-8")


class TestDeclarations:
    def test_every_storage_key_is_declared_once_in_a_known_area(self):
        keys = [item.key for item in ct.STORE_ITEMS]
        assert len(keys) == len(set(keys))
        assert {item.area for item in ct.STORE_ITEMS} <= {ct.SESSION, ct.LOCAL}

    def test_the_cached_key_lives_in_session_only(self):
        assert ct.KEY_CACHE.area == ct.SESSION

    def test_contract_names_are_the_contract_strings(self):
        """CONTRACT.md §3/§4 spell these; the names must not drift from them."""
        assert (ct.STATUS.key, ct.LAST_ANALYSIS.key, ct.SETTINGS.key) == (
            "status", "lastAnalysis", "settings")
        assert {ct.STATUS.area, ct.LAST_ANALYSIS.area, ct.POOL_HEALTH.area} == {ct.SESSION}
        assert ct.SETTINGS.area == ct.LOCAL
        assert ct.MESSAGE_TYPES[:5] == ["getApiKey", "donateKey", "analyzeImage", "analyzeTab",
                                        "getPoolStatus"]
        assert len(set(ct.MESSAGE_TYPES)) == len(ct.MESSAGE_TYPES)


class TestNoLiterals:
    def test_no_module_spells_a_message_type_or_a_distinctive_storage_key(self):
        # 'status' and 'settings' are also ordinary field names; the rest are not.
        words = ct.MESSAGE_TYPES + [ct.LAST_ANALYSIS.key, ct.POOL_HEALTH.key, ct.KEY_CACHE.key,
                                    ct.TEST_CONFIG.key]
        pattern = re.compile(r"""['"](%s)['"]""" % "|".join(map(re.escape, words)))
        found = [f"{rel}: {line.strip()}" for rel, text in _sources()
                 for line in text.splitlines()
                 # the worker's DevTools API (README) happens to share a name
                 if pattern.search(line) and "globalThis.keypool" not in line]
        assert found == []

    def test_only_glue_store_touches_chrome_storage_areas(self):
        pattern = re.compile(r"chrome\.storage\.(local|session)\.\w+\(")
        found = [rel for rel, text in _sources()
                 if rel != "glue/store.py" and pattern.search(text)]
        assert found == []
