"""The policy the fleet simulation chose (issue 10): each rule, on the real core, in CPython.

- no second round after time outs (refusals keep the original's second round);
- one "no active API keys" answer ends the run;
- an outage: after a fetch found no key, requests answer at once until a trial
  is due; a trial asks servers even while they are ejected; a success ends it;
- probes: lazy (none while idle), one per run, paid with probe credit, and
  none from /health for an empty pool; the alarm time is jittered.
"""
from core import outcome as oc
from core.ejection import OUTAGE_EMPTY_TRIAL_GAP_MS, OUTAGE_TRIAL_GAP_MS, outage_trial_gap_ms
from core.failover import BACKOFF, GIVE_UP, START, WAIT, KeyRun
from core.pool import (OUTAGE_DOWN, OUTAGE_EMPTY, PROBE_ACTIVE_MS, PROBATION, Pool)

SERVERS = ["http://a/api", "http://b/api", "http://c/api"]
BASE_MS = 5000
CAP_MS = 300000
KEY_TIMEOUT_MS = 10000
BACKOFF_MS = 2000

TIMEOUT = oc.error_outcome("TimeoutError", KEY_TIMEOUT_MS)
REFUSED = oc.error_outcome("TypeError", 0)
EMPTY = oc.key_outcome(500, True, {"error": "Unable to allocate API key: No active API keys "
                                             "available"}, None, 0)
KEY = oc.key_outcome(200, True, {"geminiApiKey": "AIzaSyTestKey0000000000000000000000"}, None, 0)


def first(): return 0.0


def last(): return 0.999


def run_at(now_ms, pool, avoid=None):
    return KeyRun(now_ms, len(pool.servers), KEY_TIMEOUT_MS, BACKOFF_MS, avoid or [],
                  pool.hedge_credit)


def fail_all(pool, run, now_ms, outcome):
    """Walk the round: every START fails with outcome, recorded in the pool as the glue does."""
    while True:
        act = run.next_action(pool, now_ms, first, 0)
        if act.kind != START:
            return act
        run.start(act.url, now_ms)
        run.finish(act.url, outcome)
        pool.mark_failed(act.url, now_ms, outcome, BASE_MS, CAP_MS, first)


class TestRounds:
    def test_no_second_round_after_time_outs(self):
        pool = Pool(SERVERS, None)
        act = fail_all(pool, run_at(0, pool), 0, TIMEOUT)
        assert act.kind == GIVE_UP

    def test_refusals_keep_the_original_second_round(self):
        pool = Pool(SERVERS, None)
        act = fail_all(pool, run_at(0, pool), 0, REFUSED)
        assert act.kind == BACKOFF and act.wait_ms == BACKOFF_MS

    def test_one_empty_pool_answer_ends_the_run(self):
        pool = Pool(SERVERS, None)
        run = run_at(0, pool)
        act = run.next_action(pool, 0, first, 0)
        run.start(act.url, 0)
        run.finish(act.url, EMPTY)
        assert run.next_action(pool, 1, first, 0).kind == GIVE_UP
        assert run.attempts == 1


class TestOutage:
    def down_pool(self, now_ms=0):
        pool = Pool(SERVERS, None)
        run = run_at(now_ms, pool)
        assert fail_all(pool, run, now_ms, REFUSED).kind == BACKOFF
        pool.reset_round(now_ms)
        run.new_round()
        assert fail_all(pool, run, now_ms, REFUSED).kind == GIVE_UP
        run.settle(pool, False, now_ms, CAP_MS, first)
        return pool

    def test_a_fetch_where_every_server_failed_starts_an_outage_tried_at_once(self):
        pool = self.down_pool(1000)
        assert pool.outage.kind == OUTAGE_DOWN and pool.outage.trial_at_ms == 1000
        # the next request is a trial: it asks a server although all are ejected
        run = run_at(1500, pool)
        act = run.next_action(pool, 1500, first, 0)
        assert act.kind == START and pool.state(act.url, 1500) == "failed"

    def test_a_failed_trial_makes_requests_answer_at_once_until_the_next(self):
        pool = self.down_pool(0)
        trial = run_at(100, pool)
        assert fail_all(pool, trial, 100, REFUSED).kind == GIVE_UP     # no second round
        assert trial.attempts == len(SERVERS)
        trial.settle(pool, False, 100, CAP_MS, last)
        gap_ms = pool.outage.trial_at_ms - 100
        assert OUTAGE_TRIAL_GAP_MS * 0.7 <= gap_ms < OUTAGE_TRIAL_GAP_MS
        quick = run_at(200, pool)
        act = quick.next_action(pool, 200, first, 0)
        assert act.kind == GIVE_UP and quick.attempts == 0
        assert "Keypool tries again in" in act.message
        assert "Check that the key servers are running" in act.message
        assert run_at(100 + gap_ms, pool).next_action(pool, 100 + gap_ms, first, 0).kind == START

    def test_a_person_asking_makes_the_next_request_a_trial_without_waiting(self):
        pool = self.down_pool(0)
        trial = run_at(100, pool)
        fail_all(pool, trial, 100, REFUSED)
        trial.settle(pool, False, 100, CAP_MS, first)
        assert run_at(200, pool).next_action(pool, 200, first, 0).kind == GIVE_UP
        pool.watched(300)
        assert pool.outage is not None and pool.outage.trial_at_ms == 300
        assert run_at(300, pool).next_action(pool, 300, first, 0).kind == START
        pool.outage.trial_at_ms = 50     # already due: asking does not push it later
        pool.watched(400)
        assert pool.outage.trial_at_ms == 50

    def test_a_success_ends_the_outage(self):
        pool = self.down_pool(0)
        pool.mark_ok(SERVERS[1], 10, 50)
        assert pool.outage is None

    def test_the_outage_survives_the_ledger(self):
        pool = self.down_pool(0)
        again = Pool(SERVERS, pool.to_obj())
        assert again.outage.to_obj() == pool.outage.to_obj()
        assert pool.to_obj()["outage"]["servers"] == SERVERS
        assert Pool(SERVERS, {"outage": {"kind": "nonsense", "since": 0, "trials": 0,
                                         "trialAt": 0}}).outage is None

    def test_a_clock_set_back_does_not_keep_the_outage_closed(self):
        pool = self.down_pool(50_000)
        pool.outage.trial_at_ms = 90_000
        run = run_at(10_000, pool)
        assert run.next_action(pool, 10_000, first, 0).kind == START

    def test_an_empty_pool_is_tried_with_one_request_after_a_wait(self):
        pool = Pool(SERVERS, None)
        run = run_at(0, pool)
        act = run.next_action(pool, 0, first, 0)
        run.start(act.url, 0)
        run.finish(act.url, EMPTY)
        pool.mark_failed(act.url, 0, EMPTY, BASE_MS, CAP_MS, first)
        run.settle(pool, False, 0, CAP_MS, last)
        assert pool.outage.kind == OUTAGE_EMPTY
        assert pool.outage.trial_at_ms >= OUTAGE_EMPTY_TRIAL_GAP_MS * 0.7
        trial = run_at(pool.outage.trial_at_ms, pool)
        act = trial.next_action(pool, pool.outage.trial_at_ms, first, 0)
        assert act.kind == START
        trial.start(act.url, pool.outage.trial_at_ms)
        trial.finish(act.url, EMPTY)
        assert trial.next_action(pool, pool.outage.trial_at_ms, first, 0).kind == GIVE_UP
        pool.refilled(1)
        assert pool.outage is None

    def test_every_failed_trial_waits_one_jittered_gap_never_over_failed_reset(self):
        # one gap, not doubling from a short one: the young outages of installs that keep
        # meeting it for the first time asked every few seconds (BENCHMARKS.md "Fleet")
        pool = self.down_pool(0)
        gaps = []
        for n in range(4):
            now_ms = n * OUTAGE_TRIAL_GAP_MS
            gaps.append(pool.outage_trial_failed(OUTAGE_DOWN, now_ms, CAP_MS, first))
            assert pool.outage.trials == n + 1 and pool.outage.trial_at_ms == now_ms + gaps[-1]
        assert gaps == [OUTAGE_TRIAL_GAP_MS] * 4
        assert OUTAGE_TRIAL_GAP_MS * 0.7 <= outage_trial_gap_ms(False, CAP_MS, last) \
            < OUTAGE_TRIAL_GAP_MS
        assert outage_trial_gap_ms(False, 3000, first) == 3000
        assert outage_trial_gap_ms(True, CAP_MS, first) == OUTAGE_EMPTY_TRIAL_GAP_MS
        assert outage_trial_gap_ms(True, 100000, first) == 100000
        assert OUTAGE_TRIAL_GAP_MS < OUTAGE_EMPTY_TRIAL_GAP_MS <= CAP_MS


class TestProbes:
    def pool_with_one_on_probation(self):
        pool = Pool(SERVERS, None)
        pool.mark_failed(SERVERS[0], 0, REFUSED, BASE_MS, CAP_MS, first)
        assert pool.state(SERVERS[0], BASE_MS) == PROBATION
        return pool

    def test_an_idle_browser_probes_nothing_and_sets_no_alarm(self):
        pool = self.pool_with_one_on_probation()
        pool.probe_credit = 2
        assert pool.take_probes(BASE_MS, first, []) == []
        assert pool.next_probe_at_ms(BASE_MS, 30000, first) is None
        pool.used(0, True)
        late = PROBE_ACTIVE_MS + 1
        assert pool.take_probes(late, first, []) == []

    def test_probes_are_earned_by_good_fetches_one_per_run(self):
        pool = self.pool_with_one_on_probation()
        pool.mark_failed(SERVERS[1], 0, REFUSED, BASE_MS, CAP_MS, first)
        pool.used(BASE_MS, True)
        assert pool.probe_credit < 1      # a fresh profile has none
        assert pool.take_probes(BASE_MS, first, []) == []
        for _ in range(10):
            pool.used(BASE_MS, False)     # failed fetches earn nothing
        assert pool.take_probes(BASE_MS, first, []) == []
        for _ in range(10):
            pool.used(BASE_MS, True)
        credit = pool.probe_credit
        assert credit >= 1
        assert len(pool.take_probes(BASE_MS, first, [])) == 1
        assert pool.probe_credit == credit - 1

    def test_a_person_asking_about_a_server_allows_a_probe(self):
        pool = self.pool_with_one_on_probation()
        pool.watched(BASE_MS)
        assert len(pool.take_probes(BASE_MS, first, [])) == 1

    def test_the_alarm_is_jittered_and_never_sooner_than_the_interval(self):
        pool = self.pool_with_one_on_probation()
        pool.watched(BASE_MS)
        early = pool.next_probe_at_ms(BASE_MS, 30000, first)
        late = pool.next_probe_at_ms(BASE_MS, 30000, last)
        assert early == BASE_MS + 30000 and BASE_MS + 44000 < late <= BASE_MS + 45000

    def test_an_outage_is_never_probed_in_the_background(self):
        for kind in (OUTAGE_DOWN, OUTAGE_EMPTY):
            pool = Pool(SERVERS, None)
            pool.watched(0)
            pool.enter_outage(kind, 0, CAP_MS, first)
            pool.outage.trial_at_ms = 0
            assert pool.take_probes(10, first, []) == []
            assert pool.next_probe_at_ms(10, 1000, first) is None

    def test_an_outage_is_about_the_servers_it_saw(self):
        pool = Pool(SERVERS, None)
        pool.enter_outage(OUTAGE_DOWN, 0, CAP_MS, first)
        assert Pool(SERVERS, pool.to_obj()).outage is not None
        assert Pool(SERVERS + ["http://d/api"], pool.to_obj()).outage is None


class TestSlowServers:
    def test_a_time_out_on_a_server_alive_on_health_ends_the_run(self):
        pool = Pool(SERVERS, None)
        run = run_at(0, pool)
        act = run.next_action(pool, 0, first, None)
        run.start(act.url, 0)
        run.saw_health(act.url, True, 5, 1000)       # the liveness check: it is alive
        run.finish(act.url, TIMEOUT)
        act = run.next_action(pool, KEY_TIMEOUT_MS, first, None)
        assert act.kind == GIVE_UP and run.attempts == 1
        assert "may be busy" in act.message

    def test_a_time_out_on_a_silent_server_still_fails_over(self):
        pool = Pool(SERVERS, None)
        run = run_at(0, pool)
        act = run.next_action(pool, 0, first, None)
        run.start(act.url, 0)
        run.saw_health(act.url, False, 5000, 5000)
        run.finish(act.url, TIMEOUT)
        assert run.next_action(pool, KEY_TIMEOUT_MS, first, None).kind == START

    def test_no_blind_hedge_while_the_silent_server_is_alive(self):
        pool = Pool(SERVERS, None)
        run = run_at(0, pool)
        act = run.next_action(pool, 0, first, None)
        run.start(act.url, 0)
        check = run.next_action(pool, 960, first, None)      # the liveness check at 950 ms
        assert check.kind == "check"
        for url in check.urls:
            run.saw_health(url, True, 5, 965)
        act = run.next_action(pool, 5000, first, None)        # past the 1 s blind hedge
        assert act.kind == WAIT

    def test_a_slow_server_is_out_longer_than_a_refused_one(self):
        pool = Pool(SERVERS, None)
        assert pool.mark_failed(SERVERS[0], 0, REFUSED, BASE_MS, CAP_MS, first) == BASE_MS
        assert pool.mark_failed(SERVERS[1], 0, TIMEOUT, BASE_MS, CAP_MS, first) > BASE_MS


def test_waiting_is_not_giving_up_while_a_trial_attempt_is_in_flight():
    pool = TestOutage().down_pool(0)
    run = run_at(10, pool)
    act = run.next_action(pool, 10, first, 0)
    run.start(act.url, 10)
    assert run.next_action(pool, 11, first, 0).kind == WAIT


def test_the_pool_spells_the_outcome_kinds_it_reads_as_core_outcome_does():
    """core.pool keeps free of outcome imports, so it spells these kinds itself."""
    from core import pool as pl
    assert (pl.TIMEOUT, pl.OUTPACED, pl.POOL_EMPTY) == (oc.TIMEOUT, oc.OUTPACED, oc.POOL_EMPTY)
