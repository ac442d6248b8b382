""""Retry now" on a server that is still down never lengthens its time out (core.pool)."""
from core import outcome as oc
from core.outcome import Outcome
from core.pool import FAILED, Pool

NOW = 1_000_000


def refused():
    return Outcome(oc.NETWORK_ERROR, oc.NETWORK_ERROR_REASON)


def test_a_failed_retry_keeps_the_time_out_and_the_failure_count():
    pool = Pool(["a"], None)
    pool.mark_failed("a", NOW, refused(), 60_000, 300_000, lambda: 0.0)
    before = pool.to_obj()["servers"]["a"]
    pool.release("a", NOW + 1000)                       # what retry_server_now does first
    pool.mark_still_failed("a", NOW + 1000, refused(), before["retryAt"])
    after = pool.to_obj()["servers"]["a"]
    assert after["retryAt"] == before["retryAt"] == NOW + 60_000
    assert after["failures"] == before["failures"] == 1
    assert pool.state("a", NOW + 2000) == FAILED
    # the next ordinary failure grows from where it was, not from a retry's count
    pool.mark_failed("a", NOW + 70_000, refused(), 60_000, 300_000, lambda: 0.0)
    assert pool.to_obj()["servers"]["a"]["retryAt"] == NOW + 70_000 + 120_000
