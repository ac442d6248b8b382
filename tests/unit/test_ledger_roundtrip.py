"""The stored ledger (storage.session `poolHealth`) survives a worker restart field by field."""
from core.hedge import HEDGE_CREDIT_INITIAL
from core.pool import OUTAGE_DOWN, PROBE_CREDIT_INITIAL, Pool

A, B = "http://a/api", "http://b/api"


def full_ledger():
    return {
        "servers": {A: {"failures": 2, "failedAt": 1000, "retryAt": 9000, "kind": "network",
                        "reason": "network error"},
                    B: {"failures": 0}},
        "latenciesMs": [120, "fast", 80],
        "hedgeCredit": 1.5,
        "outage": {"kind": OUTAGE_DOWN, "since": 500, "trials": 1, "trialAt": 7000,
                   "servers": [A, B]},
        "lastUsed": 4321,
        "probeCredit": 0.25,
    }


def test_every_field_is_read_back():
    pool = Pool([A, B], full_ledger())
    assert pool.to_obj() == {
        "servers": {A: {"failures": 2, "failedAt": 1000, "retryAt": 9000, "kind": "network",
                        "reason": "network error"},
                    B: {"failures": 0, "failedAt": None, "retryAt": None, "kind": None,
                        "reason": None}},
        "latenciesMs": [120, 80],
        "hedgeCredit": 1.5,
        "outage": {"kind": OUTAGE_DOWN, "since": 500, "trials": 1, "trialAt": 7000,
                   "servers": [A, B]},
        "lastUsed": 4321,
        "probeCredit": 0.25,
    }
    assert pool.health[A].url == A


def test_values_of_the_wrong_type_fall_back_to_the_defaults():
    ledger = full_ledger()
    ledger.update({"hedgeCredit": "lots", "lastUsed": "yesterday", "probeCredit": None,
                   "latenciesMs": "none"})
    pool = Pool([A, B], ledger)
    assert (pool.hedge_credit, pool.last_used_ms, pool.probe_credit, pool.latencies_ms) == (
        HEDGE_CREDIT_INITIAL, None, PROBE_CREDIT_INITIAL, [])


def test_a_ledger_that_is_not_an_object_is_a_fresh_pool():
    for ledger in (None, [], "poolHealth", 5):
        pool = Pool([A, B], ledger)
        assert pool.outage is None and pool.hedge_credit == HEDGE_CREDIT_INITIAL
        assert pool.health[A].failures == 0
