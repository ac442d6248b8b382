"""core.failover.KeyRun at its edges: lanes, deadlines, hedges, trials and what settle records.

Each test names a behaviour that a mutant of core.failover changed without
any other test noticing (docs/mutation.md).
"""
from core import outcome as oc
from core.failover import BACKOFF, CHECK, GIVE_UP, START, WAIT, KeyRun
from core.pool import OUTAGE_DOWN, OUTAGE_EMPTY, Pool

A, B, C, D = "http://a/api", "http://b/api", "http://c/api", "http://d/api"
KEY_TIMEOUT_MS = 10000
BACKOFF_MS = 2000
BASE_MS = 5000
CAP_MS = 300000
T0 = 1_700_000_000_000

REFUSED = oc.error_outcome("TypeError", 0)
TIMEOUT = oc.error_outcome("TimeoutError", KEY_TIMEOUT_MS)
BLOCKED = oc.blocked_outcome()
EMPTY = oc.Outcome(oc.POOL_EMPTY, 'HTTP 500 (No active API keys available)', 500)
OK = oc.Outcome(oc.OK, 'ok', 200, 'AIzaSyTestKey0000000000000000000000')


def zero():
    return 0.0


def high():
    return 0.99


def top():
    return 1.0


def run_for(servers, started_ms=0, avoid=None, credit=0.0):
    return KeyRun(started_ms, len(servers), KEY_TIMEOUT_MS, BACKOFF_MS, avoid or [], credit)


def start(run, pool, now_ms, random_fn=zero, delay=0, wall_ms=None):
    act = run.next_action(pool, now_ms, random_fn, delay, wall_ms)
    assert act.kind == START, act
    run.start(act.url, now_ms)
    return act.url


class TestLanes:
    def test_after_a_hedged_pair_fails_the_failover_is_one_server_at_a_time(self):
        pool = Pool([A, B, C, D], None)
        run = run_for([A, B, C, D], credit=1.0)
        first = start(run, pool, 0, delay=100)
        hedge = run.next_action(pool, 100, zero, 100)
        assert hedge.kind == START and hedge.hedge
        run.start(hedge.url, 100)
        run.finish(first, REFUSED)
        run.finish(hedge.url, REFUSED)
        start(run, pool, 200, delay=0)
        assert run.next_action(pool, 200, zero, 0).kind == WAIT

    def test_a_new_round_starts_one_server_at_a_time(self):
        pool = Pool([A, B], None)
        run = run_for([A, B])
        for now in [0, 10]:
            url = start(run, pool, now)
            run.finish(url, REFUSED)
            pool.mark_failed(url, now, REFUSED, BASE_MS, CAP_MS, zero)
        assert run.next_action(pool, 20, zero, 0).kind == BACKOFF
        pool.reset_round(20 + BACKOFF_MS)
        run.new_round()
        start(run, pool, 20 + BACKOFF_MS)
        assert run.next_action(pool, 20 + BACKOFF_MS, zero, 0).kind == WAIT

    def test_with_nobody_left_to_fail_over_to_the_run_keeps_waiting_for_the_rest(self):
        pool = Pool([A, B], None)
        run = run_for([A, B], credit=1.0)
        first = start(run, pool, 0, delay=100)
        hedge = run.next_action(pool, 100, zero, 100)
        run.start(hedge.url, 100)
        run.finish(first, REFUSED)
        assert run.next_action(pool, 150, zero, 100).kind == WAIT
        assert run.next_action(pool, 160, zero, 100).kind == WAIT

    def test_a_start_without_a_time_counts_the_hedge_delay_from_the_run_start(self):
        pool = Pool([A, B], None)
        run = run_for([A, B], started_ms=50)
        run.start(A)
        act = run.next_action(pool, 150, zero, 100)
        assert act.kind == START and act.hedge

    def test_the_run_remembers_when_it_started(self):
        assert run_for([A], started_ms=1234).started_ms == 1234


class TestRoundsAndDeadline:
    def test_a_run_that_finds_every_server_ejected_backs_off_for_one_more_round(self):
        pool = Pool([A, B], None)
        for url in [A, B]:
            pool.mark_failed(url, 0, REFUSED, BASE_MS, CAP_MS, zero)
        act = run_for([A, B]).next_action(pool, 10, zero, 0)
        assert act.kind == BACKOFF and act.wait_ms == BACKOFF_MS

    def test_a_single_time_out_gets_no_second_round(self):
        pool = Pool([A], None)
        run = run_for([A])
        url = start(run, pool, 0)
        run.finish(url, TIMEOUT)
        pool.mark_failed(url, KEY_TIMEOUT_MS, TIMEOUT, BASE_MS, CAP_MS, zero)
        assert run.next_action(pool, KEY_TIMEOUT_MS, zero, 0).kind == GIVE_UP

    def test_no_second_round_whose_backoff_would_end_at_the_deadline(self):
        deadline = 2 * KEY_TIMEOUT_MS + BACKOFF_MS     # one server
        for now, want in [(deadline - BACKOFF_MS - 1, BACKOFF), (deadline - BACKOFF_MS, GIVE_UP)]:
            pool = Pool([A], None)
            run = run_for([A])
            url = start(run, pool, 0)
            run.finish(url, REFUSED)
            pool.mark_failed(url, now, REFUSED, BASE_MS, CAP_MS, zero)
            assert run.next_action(pool, now, zero, 0).kind == want

    def test_at_the_deadline_no_server_is_started(self):
        pool = Pool([A, B], None)
        run = run_for([A, B])
        url = start(run, pool, 0)
        run.finish(url, REFUSED)
        act = run.next_action(pool, run.deadline_ms, zero, 0)
        assert act.kind == GIVE_UP

    def test_giving_up_names_how_many_servers_there_are(self):
        pool = Pool([A, B, C], None)
        run = run_for([A, B, C])
        for now in [0, 1, 2]:
            url = start(run, pool, now)
            run.finish(url, TIMEOUT)
        act = run.next_action(pool, 3, zero, 0)
        assert act.kind == GIVE_UP and 'none of the 3 key servers' in act.message

    def test_the_pool_is_read_on_the_wall_clock_not_the_run_clock(self):
        pool = Pool([A, B], None)
        pool.mark_failed(A, T0, REFUSED, BASE_MS, CAP_MS, zero)
        run = run_for([A, B])
        assert start(run, pool, 5, wall_ms=T0 + 10) == B

    def test_an_avoided_server_is_skipped_while_another_is_failed(self):
        pool = Pool([A, B, C], None)
        pool.mark_failed(A, T0, REFUSED, BASE_MS, CAP_MS, zero)
        run = run_for([A, B, C], avoid=[B])
        assert start(run, pool, 5, wall_ms=T0 + 10) == C


class TestHedges:
    def test_a_configured_delay_of_1_ms_hedges_after_1_ms(self):
        pool = Pool([A, B], None)
        run = run_for([A, B])
        start(run, pool, 0, delay=1)
        act = run.next_action(pool, 1, zero, 1)
        assert act.kind == START and act.hedge

    def test_a_hedge_skips_a_failed_server_on_the_wall_clock(self):
        pool = Pool([A, B, C], None)
        pool.mark_failed(B, T0, REFUSED, BASE_MS, CAP_MS, zero)
        run = run_for([A, B, C], credit=1.0)
        first = start(run, pool, 0, delay=100, wall_ms=T0)
        assert first == A
        act = run.next_action(pool, 100, zero, 100, T0 + 100)
        assert act.kind == START and act.url == C

    def test_a_derived_blind_hedge_skips_a_failed_server_on_the_wall_clock(self):
        pool = Pool([A, B, C], None)
        pool.mark_failed(B, T0, REFUSED, BASE_MS, CAP_MS, zero)
        run = run_for([A, B, C], credit=1.0)
        start(run, pool, 0, delay=None, wall_ms=T0)
        check = run.next_action(pool, 950, zero, None, T0 + 950)
        assert check.kind == CHECK
        act = run.next_action(pool, 1000, zero, None, T0 + 1000)
        assert act.kind == START and act.url == C

    def test_a_blind_hedge_costs_one_credit(self):
        pool = Pool([A, B, C], None)
        run = run_for([A, B, C], credit=1.5)
        start(run, pool, 0, delay=100)
        run.next_action(pool, 100, zero, 100)
        assert run.hedge_credit == 0.5

    def evidence_run(self, latency_ms, random_fn=zero, servers=(A, B, C)):
        """A in flight and silent; the others answer /health latency_ms after the check."""
        servers = list(servers)
        pool = Pool(servers, None)
        run = run_for(servers)
        start(run, pool, 0, delay=None)
        check = run.next_action(pool, 950, zero, None)
        assert check.kind == CHECK
        for url in servers[1:]:
            run.saw_health(url, True, latency_ms, 950 + latency_ms)
        return pool, run

    def test_an_evidence_hedge_waits_three_times_the_fastest_health_answer(self):
        pool, run = self.evidence_run(100)
        act = run.next_action(pool, 1050, zero, None)
        assert act.kind == WAIT and act.wait_ms == 300
        act = run.next_action(pool, 1350, zero, None)
        assert act.kind == START and act.hedge and run.evidence_hedges == 1

    def test_an_evidence_hedge_picks_at_random_among_the_servers_that_answered(self):
        for random_fn, want in [(zero, B), (high, C), (top, C)]:
            pool, run = self.evidence_run(10)
            assert run.next_action(pool, 2000, random_fn, None).url == want

    def test_no_evidence_hedge_when_no_untried_server_answered(self):
        pool = Pool([A, B, C], None)
        run = run_for([A, B, C], credit=1.0)
        start(run, pool, 0, delay=None)
        assert run.next_action(pool, 950, zero, None).kind == CHECK
        blind = run.next_action(pool, 1000, zero, None)
        assert blind.kind == START and blind.url == B
        run.start(B, 1000)
        run.saw_health(B, True, 20, 1020)       # the hedged one is alive; A and C are silent
        assert run.next_action(pool, 2000, zero, None).kind == WAIT


class TestOutageTrials:
    def outage_pool(self, kind, servers=(A, B)):
        pool = Pool(list(servers), None)
        pool.enter_outage(kind, T0, CAP_MS, zero)
        pool.outage.trial_at_ms = T0
        return pool

    def test_a_request_at_the_first_ms_of_an_outage_is_answered_at_once(self):
        pool = Pool([A, B], None)
        pool.enter_outage(OUTAGE_EMPTY, T0, CAP_MS, zero)
        run = run_for([A, B], T0)
        act = run.next_action(pool, T0, zero, 0)
        assert act.kind == GIVE_UP and 'asks the servers again in' in act.message
        assert run.attempts == 0

    def test_an_empty_pool_trial_asks_one_server_and_waits_for_it(self):
        pool = self.outage_pool(OUTAGE_EMPTY)
        run = run_for([A, B], T0)
        url = start(run, pool, T0)
        assert url in [A, B]
        assert run.next_action(pool, T0 + 10, zero, 0).kind == WAIT
        run.finish(url, EMPTY)
        act = run.next_action(pool, T0 + 20, zero, 0)
        assert act.kind == GIVE_UP and act.message.startswith('Could not get an API key: the key')

    def test_an_empty_pool_trial_that_times_out_names_the_servers(self):
        pool = self.outage_pool(OUTAGE_EMPTY)
        run = run_for([A, B], T0)
        url = start(run, pool, T0)
        run.finish(url, TIMEOUT)
        act = run.next_action(pool, T0 + KEY_TIMEOUT_MS, zero, 0)
        assert act.kind == GIVE_UP and 'none of the 2 key servers' in act.message

    def test_a_request_in_an_outage_of_servers_down_names_how_many(self):
        pool = Pool([A, B], None)
        pool.enter_outage(OUTAGE_DOWN, T0, CAP_MS, zero)
        pool.outage.trial_at_ms = T0 + 20000
        act = run_for([A, B], T0).next_action(pool, T0 + 10, zero, 0)
        assert act.kind == GIVE_UP and 'none of the 2 key servers has' in act.message

    def test_an_outage_is_timed_on_the_wall_clock_not_the_run_clock(self):
        pool = Pool([A, B], None)
        pool.enter_outage(OUTAGE_DOWN, T0, CAP_MS, zero)
        pool.outage.trial_at_ms = T0 + 20000
        act = run_for([A, B], 5).next_action(pool, 5, zero, 0, T0 + 10)
        assert act.kind == GIVE_UP and 'tries again in 20 s' in act.message

    def test_an_empty_pool_trial_avoids_the_server_whose_key_was_refused(self):
        for random_fn in [zero, high, top]:
            pool = self.outage_pool(OUTAGE_EMPTY, (A, B, C))
            run = run_for([A, B, C], T0, avoid=[A])
            assert start(run, pool, T0, random_fn) != A

    def test_an_empty_pool_trial_picks_at_random(self):
        for random_fn, want in [(zero, B), (high, C), (top, C)]:
            pool = self.outage_pool(OUTAGE_EMPTY, (A, B, C))
            run = run_for([A, B, C], T0, avoid=[A])
            assert start(run, pool, T0, random_fn) == want

    def test_with_one_server_left_to_prefer_a_trial_asks_it(self):
        for random_fn in [zero, high]:
            pool = self.outage_pool(OUTAGE_EMPTY)
            run = run_for([A, B], T0, avoid=[A])
            assert start(run, pool, T0, random_fn) == B

    def test_an_empty_pool_trial_with_every_server_avoided_still_asks_one(self):
        pool = self.outage_pool(OUTAGE_EMPTY)
        run = run_for([A, B], T0, avoid=[A, B])
        assert start(run, pool, T0) == A

    def test_a_down_trial_that_meets_an_empty_pool_turns_the_outage_empty(self):
        pool = self.outage_pool(OUTAGE_DOWN)
        run = run_for([A, B], T0)
        url = start(run, pool, T0)
        run.finish(url, EMPTY)
        run.settle(pool, False, T0 + 10, CAP_MS, zero)
        assert pool.outage.kind == OUTAGE_EMPTY and pool.outage.trials == 1

    def test_a_down_trial_whose_failures_blame_no_server_stays_down(self):
        pool = self.outage_pool(OUTAGE_DOWN)
        run = run_for([A, B], T0)
        url = start(run, pool, T0)
        run.finish(url, BLOCKED)
        run.settle(pool, False, T0 + 10, CAP_MS, zero)
        assert pool.outage.kind == OUTAGE_DOWN


class TestSettle:
    def test_an_answer_at_once_from_a_known_outage_is_not_a_use(self):
        pool = Pool([A], None)
        pool.enter_outage(OUTAGE_EMPTY, T0, CAP_MS, zero)
        run = run_for([A])
        assert run.next_action(pool, T0 + 1, zero, 0).kind == GIVE_UP
        run.settle(pool, False, T0 + 1, CAP_MS, zero)
        assert pool.last_used_ms is None

    def test_a_good_fetch_of_one_attempt_is_a_use_and_earns_probe_credit(self):
        pool = Pool([A], None)
        run = run_for([A])
        url = start(run, pool, 0)
        run.finish(url, OK)
        pool.mark_ok(url, T0, 100)
        run.settle(pool, True, T0, CAP_MS, zero)
        assert pool.last_used_ms == T0 and pool.probe_credit > 0

    def test_a_failure_that_is_not_pool_wide_starts_no_outage(self):
        pool = Pool([A, B], None)
        run = run_for([A, B])
        url = start(run, pool, 0)
        run.finish(url, REFUSED)
        run.settle(pool, False, T0, CAP_MS, zero)
        assert pool.outage is None

    def test_every_server_failing_but_one_only_blocked_is_no_outage(self):
        pool = Pool([A, B], None)
        run = run_for([A, B])
        for outcome in [REFUSED, BLOCKED]:
            url = start(run, pool, 0)
            run.finish(url, outcome)
        assert run.pool_wide_failure([A, B]) is None
