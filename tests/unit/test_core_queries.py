"""Small queries of the core that the glue calls and no vector reaches."""
from core.failover import KeyRun
from core.outcome import BLOCKED, BLOCKED_REASON, NETWORK_ERROR, OK, Outcome, blocked_outcome
from core.pool import Pool
from core.urls import is_http_url

A, B = "http://a/api", "http://b/api"


class TestAttemptTimeout:
    def test_the_key_timeout_while_the_deadline_is_far(self):
        run = KeyRun(0, 2, 1000, 300)          # deadline: 2 rounds x 2 x 1000 + 300 = 4300
        assert run.attempt_timeout_ms(0, 1000) == 1000

    def test_what_is_left_when_the_deadline_is_near(self):
        run = KeyRun(0, 2, 1000, 300)
        assert run.attempt_timeout_ms(4000, 1000) == 300

    def test_at_least_one_ms_past_the_deadline(self):
        run = KeyRun(0, 2, 1000, 300)
        assert run.attempt_timeout_ms(9999, 1000) == 1


def test_failed_count_counts_servers_in_their_ejection_only():
    pool = Pool([A, B], None)
    pool.mark_failed(A, 0, Outcome(NETWORK_ERROR, "x"), 1000, 60000, lambda: 0.0)
    assert pool.failed_count(10) == 1
    assert pool.failed_count(10**9) == 0


def test_settling_the_hedge_credit_adds_what_the_fetch_earned():
    pool = Pool([A], None)
    pool.settle_hedge_credit(0.5)
    assert pool.hedge_credit == 0.55


def test_blocked_outcome_blames_no_server():
    o = blocked_outcome()
    assert (o.kind, o.reason) == (BLOCKED, BLOCKED_REASON)
    assert not o.counts_against_server() and not o.is_ok()
    assert Outcome(OK, "").is_ok()


def test_is_http_url():
    assert is_http_url("HTTPS://x") and is_http_url("http://x")
    assert not is_http_url("ftp://x") and not is_http_url(None)
