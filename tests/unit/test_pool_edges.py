"""core.pool at its edges: malformed ledgers, the outage record, probe timing and budget.

Each test names a behaviour that a mutant of core.pool changed without any
other test noticing (docs/mutation.md).
"""
import pytest

from core import outcome as oc
from core.ejection import OUTAGE_EMPTY_TRIAL_GAP_MS, OUTAGE_TRIAL_GAP_MS
from core.pool import OUTAGE_DOWN, OUTAGE_EMPTY, PROBE_ACTIVE_MS, Pool

A, B, C = "http://a/api", "http://b/api", "http://c/api"
SERVERS = [A, B, C]
BASE_MS = 5000
CAP_MS = 300000
T0 = 1_700_000_000_000     # wall-clock epoch ms, as the ledger stores them
REFUSED = oc.error_outcome("TypeError", 0)


def zero():
    return 0.0


def top():
    return 1.0     # the top of a random_fn's range: picks must stay inside their list


def high():
    return 0.99


def healthy_obj():
    return {'failures': 0, 'failedAt': None, 'retryAt': None, 'kind': None, 'reason': None}


def outage_obj(**changes):
    obj = {'kind': OUTAGE_DOWN, 'since': T0, 'trials': 1, 'trialAt': T0 + 20000,
           'servers': list(SERVERS)}
    obj.update(changes)
    return obj


class TestLedgerReading:
    def test_a_healthy_record_drops_leftover_failure_fields(self):
        stored = {'servers': {A: {'failures': 0, 'failedAt': T0, 'retryAt': T0 + 5000,
                                  'kind': 'network', 'reason': 'refused'}}}
        assert Pool(SERVERS, stored).to_obj()['servers'][A] == healthy_obj()

    def test_malformed_times_kind_and_reason_are_read_as_unknown(self):
        stored = {'servers': {A: {'failures': 2, 'failedAt': 'x', 'retryAt': [1],
                                  'kind': 5, 'reason': {'a': 1}}}}
        pool = Pool(SERVERS, stored)
        assert pool.to_obj()['servers'][A] == {'failures': 2, 'failedAt': None, 'retryAt': None,
                                               'kind': None, 'reason': None}
        assert pool.state(A, T0) == 'probation'

    def test_a_stored_outage_of_an_empty_pool_is_read_back(self):
        pool = Pool(SERVERS, {'outage': outage_obj(kind=OUTAGE_EMPTY)})
        assert pool.outage.kind == OUTAGE_EMPTY and pool.outage.trials == 1

    @pytest.mark.parametrize("changes", [
        {'kind': 'weird'}, {'since': 'x'}, {'trials': 1.5}, {'trials': -1}, {'trialAt': 'x'},
        {'servers': [A, B, "http://other/api"]},
    ], ids=['unknown kind', 'since not a number', 'fractional trials', 'negative trials',
            'trialAt not a number', 'about other servers, as many'])
    def test_a_malformed_or_foreign_stored_outage_is_dropped(self, changes):
        assert Pool(SERVERS, {'outage': outage_obj(**changes)}).outage is None


class TestRecords:
    def test_mark_ok_stores_no_leftover_of_the_failure(self):
        pool = Pool(SERVERS, None)
        pool.mark_failed(A, T0, REFUSED, BASE_MS, CAP_MS, zero)
        pool.mark_ok(A, T0 + 10, 50)
        assert pool.to_obj()['servers'][A] == healthy_obj()

    def test_retry_now_still_failing_shows_the_new_failure(self):
        pool = Pool(SERVERS, None)
        pool.mark_failed(A, T0, REFUSED, BASE_MS, CAP_MS, zero)
        timeout = oc.error_outcome("TimeoutError", 10000)
        pool.mark_still_failed(A, T0 + 1000, timeout, T0 + 5000)
        row = pool.status_rows(T0 + 1000)[0]
        assert row['failedAt'] == T0 + 1000 and row['kind'] == oc.TIMEOUT
        assert row['reason'] == timeout.reason and row['retryAt'] == T0 + 5000

    def test_reset_round_ends_each_ejection_at_that_time_and_leaves_healthy_ones_alone(self):
        pool = Pool(SERVERS, None)
        pool.mark_failed(A, T0, REFUSED, BASE_MS, CAP_MS, zero)
        pool.reset_round(T0 + 100)
        servers = pool.to_obj()['servers']
        assert servers[A]['retryAt'] == T0 + 100
        assert servers[B] == healthy_obj()

    def test_a_random_of_one_still_picks_the_last_server(self):
        assert Pool(SERVERS, None).pick(T0, top, []) == C


class TestOutageRecord:
    def test_a_failed_trial_without_an_outage_starts_one_with_that_trial(self):
        pool = Pool(SERVERS, None)
        gap = pool.outage_trial_failed(OUTAGE_DOWN, T0, CAP_MS, zero)
        assert gap == OUTAGE_TRIAL_GAP_MS
        assert pool.to_obj()['outage'] == {'kind': OUTAGE_DOWN, 'since': T0, 'trials': 1,
                                           'trialAt': T0 + OUTAGE_TRIAL_GAP_MS, 'servers': SERVERS}

    def test_each_failed_trial_counts_and_waits_the_same_gap_never_over_failed_reset(self):
        pool = Pool(SERVERS, None)
        pool.enter_outage(OUTAGE_DOWN, T0, CAP_MS, zero)
        assert pool.outage_trial_failed(OUTAGE_DOWN, T0, CAP_MS, zero) == OUTAGE_TRIAL_GAP_MS
        assert pool.outage_trial_failed(OUTAGE_DOWN, T0, CAP_MS, zero) == OUTAGE_TRIAL_GAP_MS
        assert pool.outage_trial_failed(OUTAGE_DOWN, T0, 1000, zero) == 1000
        assert pool.outage.trials == 3

    def test_a_failed_trial_of_an_empty_pool_waits_the_empty_gap(self):
        pool = Pool(SERVERS, None)
        pool.enter_outage(OUTAGE_EMPTY, T0, CAP_MS, zero)
        gap = pool.outage_trial_failed(OUTAGE_EMPTY, T0, CAP_MS, zero)
        assert gap == OUTAGE_EMPTY_TRIAL_GAP_MS

    def test_a_donation_ends_an_empty_pool_outage(self):
        pool = Pool(SERVERS, None)
        pool.enter_outage(OUTAGE_EMPTY, T0, CAP_MS, zero)
        pool.refilled(T0 + 10)
        assert pool.outage is None and pool.to_obj()['outage'] is None

    def test_a_donation_does_not_end_an_outage_of_servers_that_are_down(self):
        pool = Pool(SERVERS, None)
        pool.enter_outage(OUTAGE_DOWN, T0, CAP_MS, zero)
        pool.refilled(T0 + 10)
        assert pool.outage.kind == OUTAGE_DOWN


class TestProbes:
    def used_pool(self, credit=1.0):
        pool = Pool(SERVERS, None)
        pool.used(T0, True)
        pool.probe_credit = credit
        return pool

    def test_in_use_until_just_before_probe_active_ms(self):
        pool = Pool(SERVERS, None)
        pool.used(T0, True)
        assert pool.in_use(T0 + PROBE_ACTIVE_MS - 1)
        assert not pool.in_use(T0 + PROBE_ACTIVE_MS)

    def test_no_probe_alarm_without_a_probe_credit(self):
        pool = self.used_pool(0.5)
        pool.mark_failed(A, T0, REFUSED, BASE_MS, CAP_MS, zero)
        assert pool.next_probe_at_ms(T0, 30000, zero) is None

    def test_the_probe_alarm_waits_for_the_next_ejection_end(self):
        pool = self.used_pool()
        pool.mark_failed(A, T0, oc.Outcome(oc.NETWORK_ERROR, 'x', 0, None, 60000), BASE_MS,
                         CAP_MS, zero)
        assert pool.next_probe_at_ms(T0, 30000, zero) == T0 + 60000

    def test_no_probe_alarm_when_it_would_fire_as_the_browser_stops_being_in_use(self):
        pool = self.used_pool()
        hint = oc.Outcome(oc.NETWORK_ERROR, 'x', 0, None, PROBE_ACTIVE_MS - 1)
        pool.mark_failed(A, T0, hint, BASE_MS, CAP_MS, zero)
        assert pool.next_probe_at_ms(T0, 30000, zero) == T0 + PROBE_ACTIVE_MS - 1
        hint = oc.Outcome(oc.NETWORK_ERROR, 'x', 0, None, PROBE_ACTIVE_MS)
        pool.mark_failed(A, T0, hint, BASE_MS, CAP_MS, zero)
        assert pool.next_probe_at_ms(T0, 30000, zero) is None

    def test_a_probe_run_picks_at_random_among_the_due_servers(self):
        for random_fn, want in [(zero, A), (high, B), (top, B)]:
            pool = self.used_pool()
            for url in [A, B]:
                pool.mark_failed(url, T0 - 10000, REFUSED, BASE_MS, CAP_MS, zero)
            assert pool.take_probes(T0, random_fn, []) == [want]

    def test_retry_now_buys_one_probe_not_two(self):
        pool = Pool(SERVERS, None)
        for url in [A, B]:
            pool.mark_failed(url, T0 - 10000, REFUSED, BASE_MS, CAP_MS, zero)
        pool.watched(T0)
        assert len(pool.take_probes(T0, zero, [])) == 1
        assert pool.take_probes(T0, zero, []) == []
