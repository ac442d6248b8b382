"""The pool's health ledger: which servers are in, which are out, and until when.

The ledger is plain data (to_obj / from_obj) so it can live in
chrome.storage.session and survive the service worker being stopped: the
original design kept it in memory and forgot every failure each time Chrome
stopped the worker. Nothing here runs on a timer: whether a server is back is
computed from timestamps whenever the ledger is read (opossum #719).

A server is in one of three states at time now_ms:
- available: never failed, or its last attempt succeeded;
- probation: it failed, its ejection is over, and nothing has shown yet that
  it recovered. It may be used, but only when no available server is left; a
  background probe (or such a use) decides;
- failed: ejected until retryAt.
CONTRACT.md §4 reports probation as "available" (it is back in the pool) with
`probation: true`.

Besides the servers, the ledger may hold an outage: the last key fetch found
no server that could give a key (every one failed, or the shared pool was
empty). While it lasts, a request does not walk the whole pool again: it
fails at once until the outage's next trial is due, and a trial is one round
over every server, ejected or not (core.failover). Background probes stop:
the next person's request is the probe. This is what keeps a fleet of installs
from multiplying its traffic while the pool is down, and from meeting the
pool in lockstep when it returns (benchmarks/fleet.py, BENCHMARKS.md "Fleet").
"""

from core.compat import field, is_int, is_list, is_number, is_object, is_str
from core.ejection import ejection_ms, outage_trial_gap_ms, retry_after_ejection_ms
from core.hedge import HEDGE_CREDIT_INITIAL, earn_credit, remember_latency

AVAILABLE = 'available'
PROBATION = 'probation'
FAILED = 'failed'
POOL_EMPTY = 'pool_empty'   # core.outcome.POOL_EMPTY (pool stays free of outcome imports)
TIMEOUT = 'timeout'         # core.outcome.TIMEOUT
OUTPACED = 'outpaced'       # core.outcome.OUTPACED
OUTAGE_DOWN = 'down'        # no server gave a key: each failed (refused, timed out, errors)
OUTAGE_EMPTY = 'empty'      # the servers answered: the shared pool has no key left
# Background probes are lazy: only while this browser is using the pool (a key
# fetch ended less than this long ago), and one server per probe run. An idle
# install probes nothing; its next request uses and re-checks the pool itself.
# Without this, every install that ever saw a server fail probed it at each
# ejection end, and on its return met it all at once (benchmarks/fleet.py).
PROBE_ACTIVE_MS = 120000
# A server that timed out (or was outpaced) is out this many times longer than one
# that refused: a refused port comes back with a restart; a slow one is a queue,
# and asking it again soon adds to it (benchmarks/fleet.py, brownout).
SLOW_EJECTION_FACTOR = 4
PROBE_JITTER = 0.5          # a probe run is up to half a probe interval late, at random
PROBE_CREDIT_INITIAL = 0.0  # probes are earned by good key fetches, or asked for by a person
PROBE_CREDIT_PER_FETCH = 0.1  # probes <= ~10 % of this browser's good key fetches
PROBE_CREDIT_MAX = 2.0


class ServerHealth:
    """One server's record. failures: consecutive failures (0 = healthy)."""

    def __init__(self, url):
        self.url = url
        self.failures = 0
        self.failed_at_ms = None
        self.retry_at_ms = None
        self.kind = None
        self.reason = None

    def state(self, now_ms):
        """AVAILABLE, PROBATION or FAILED at now_ms (wall-clock epoch ms).

        The ledger outlives the worker, so its times are wall-clock. A clock
        set back (sleep, NTP) to before failed_at would stretch the ejection
        by the jump; the ejection counts as over then (probation: a probe
        decides), so no server stays out longer than its ejection, and never
        longer than failedResetMs.
        """
        if self.failures == 0:
            return AVAILABLE
        if self.failed_at_ms != None and now_ms < self.failed_at_ms:
            return PROBATION
        if self.retry_at_ms != None and now_ms < self.retry_at_ms:
            return FAILED
        return PROBATION

    def to_obj(self):
        return {'failures': self.failures, 'failedAt': self.failed_at_ms,
                'retryAt': self.retry_at_ms, 'kind': self.kind, 'reason': self.reason}


class Outage:
    """The pool as a whole could not give a key, since since_ms (wall-clock epoch ms).

    trials: failed trials since; trial_at_ms: when the next request may try again.
    """

    def __init__(self, kind, since_ms, trials, trial_at_ms):
        self.kind = kind
        self.since_ms = since_ms
        self.trials = trials
        self.trial_at_ms = trial_at_ms

    def to_obj(self):
        return {'kind': self.kind, 'since': self.since_ms, 'trials': self.trials,
                'trialAt': self.trial_at_ms}


def _same_servers(stored, servers):
    """Is stored (an outage's 'servers', untrusted) the list of configured servers?"""
    if not is_list(stored) or len(stored) != len(servers):
        return False
    for url in servers:
        if url not in stored:
            return False
    return True


def _outage_from_obj(obj, servers):
    """The stored outage, or None when absent, malformed or about other servers."""
    if not is_object(obj) or not _same_servers(field(obj, 'servers'), servers):
        return None
    kind = field(obj, 'kind')
    since = field(obj, 'since')
    trials = field(obj, 'trials')
    trial_at = field(obj, 'trialAt')
    if (kind != OUTAGE_DOWN and kind != OUTAGE_EMPTY) or not is_number(since) \
            or not is_int(trials) or trials < 0 or not is_number(trial_at):
        return None
    return Outage(kind, since, trials, trial_at)


def _health_from_obj(url, obj):
    health = ServerHealth(url)
    failures = field(obj, 'failures')
    if is_int(failures) and failures > 0:
        health.failures = failures
        failed_at = field(obj, 'failedAt')
        retry_at = field(obj, 'retryAt')
        health.failed_at_ms = failed_at if is_number(failed_at) else None
        health.retry_at_ms = retry_at if is_number(retry_at) else None
        kind = field(obj, 'kind')
        reason = field(obj, 'reason')
        health.kind = kind if is_str(kind) else None
        health.reason = reason if is_str(reason) else None
    return health


class Pool:
    """The configured servers and their health.

    Transitions are verbs (mark_failed, mark_ok, reset_round); queries are
    nouns (state, candidates, pick). Randomness and the clock come in as
    arguments, so the same code runs in tests, in CPython and in the browser.
    """

    def __init__(self, servers, ledger):
        """servers: the configured base URLs; ledger: a stored to_obj() (or None)."""
        self.servers = [s for s in servers]
        self.health = {}
        stored = field(ledger, 'servers') if is_object(ledger) else None
        for url in self.servers:
            self.health[url] = _health_from_obj(url, field(stored, url))
        latencies = field(ledger, 'latenciesMs') if is_object(ledger) else None
        self.latencies_ms = [x for x in latencies if is_number(x)] if is_list(latencies) else []
        credit = field(ledger, 'hedgeCredit') if is_object(ledger) else None
        self.hedge_credit = credit if is_number(credit) else HEDGE_CREDIT_INITIAL
        # An outage about other servers is dropped: the settings changed since.
        self.outage = _outage_from_obj(field(ledger, 'outage'), self.servers) \
            if is_object(ledger) else None
        last_used = field(ledger, 'lastUsed') if is_object(ledger) else None
        self.last_used_ms = last_used if is_number(last_used) else None
        probe_credit = field(ledger, 'probeCredit') if is_object(ledger) else None
        self.probe_credit = probe_credit if is_number(probe_credit) else PROBE_CREDIT_INITIAL

    def to_obj(self):
        """The ledger as plain data. Servers no longer configured are dropped."""
        servers = {}
        for url in self.servers:
            servers[url] = self.health[url].to_obj()
        return {'servers': servers, 'latenciesMs': [x for x in self.latencies_ms],
                'hedgeCredit': self.hedge_credit,
                'outage': self._outage_obj(),
                'lastUsed': self.last_used_ms, 'probeCredit': self.probe_credit}

    def _outage_obj(self):
        if self.outage == None:
            return None
        obj = self.outage.to_obj()
        obj['servers'] = [u for u in self.servers]
        return obj

    def state(self, url, now_ms):
        return self.health[url].state(now_ms)

    def count_in_state(self, wanted, now_ms):
        return len([u for u in self.servers if self.health[u].state(now_ms) == wanted])

    def candidates(self, now_ms, exclude):
        """The servers a request may use now, best tier only.

        Available servers if any are left outside `exclude`; otherwise the ones on
        probation; never a failed one. Empty when the round is over.
        """
        available = []
        probation = []
        for url in self.servers:
            if url in exclude:
                continue
            state = self.health[url].state(now_ms)
            if state == AVAILABLE:
                available.append(url)
            elif state == PROBATION:
                probation.append(url)
        return available if len(available) > 0 else probation

    def pick(self, now_ms, random_fn, exclude):
        """A random server among candidates(), or None when there is none."""
        choices = self.candidates(now_ms, exclude)
        if len(choices) == 0:
            return None
        index = min(len(choices) - 1, int(random_fn() * len(choices)))
        return choices[index]

    def used(self, now_ms, ok):
        """A key fetch ended: this browser is using the pool; a good one earns probe credit."""
        self.last_used_ms = now_ms
        if ok:
            self.probe_credit = min(PROBE_CREDIT_MAX, self.probe_credit + PROBE_CREDIT_PER_FETCH)

    def watched(self, now_ms):
        """A person asked about a server (Retry now, Try again): probes may follow it for a
        while, and an outage's next request is its trial, without waiting for the gap (a
        person asking is rare; the gap is for a fleet asking on its own)."""
        self.last_used_ms = now_ms
        self.probe_credit = max(self.probe_credit, 1.0)
        if self.outage != None and self.outage.trial_at_ms > now_ms:
            self.outage.trial_at_ms = now_ms

    def due_for_probe(self, now_ms):
        """The servers on probation: their ejection is over, their recovery unproven.

        Not those out because the shared pool was empty: /health says nothing
        about keys, so a probe would put them back only for the key route to
        fail again. The key route itself decides, once their time out is over.
        None during an outage: the next request's trial is the probe.
        """
        if self.outage != None:
            return []
        return [u for u in self.servers if self.health[u].state(now_ms) == PROBATION
                and self.health[u].kind != POOL_EMPTY]

    def in_use(self, now_ms):
        """Did a key fetch end within PROBE_ACTIVE_MS? (A clock set back counts as yes.)"""
        if self.last_used_ms == None:
            return False
        return now_ms - self.last_used_ms < PROBE_ACTIVE_MS

    def take_probes(self, now_ms, random_fn, busy):
        """The servers a background probe run should check now (at most one); pays for it.

        Probes are lazy and budgeted: nothing while this browser is idle
        (PROBE_ACTIVE_MS); one server per run, at random among those due and
        not already being probed (busy), so servers back from one outage are
        re-checked over several runs, not in one burst. Nothing in an outage:
        the next request is its trial (the fleet simulation: probes of every
        install in use made up half the traffic a returning pool met). Each
        probe costs one probe credit,
        earned by key fetches (PROBE_CREDIT_PER_FETCH): probes stay a small
        share of what this browser asks of the pool.
        """
        if not self.in_use(now_ms) or self.outage != None:
            return []
        if self.probe_credit < 1:
            return []
        due = [u for u in self.due_for_probe(now_ms) if u not in busy]
        if len(due) == 0:
            return []
        self.probe_credit = self.probe_credit - 1
        return [due[min(len(due) - 1, int(random_fn() * len(due)))]]

    def next_probe_at_ms(self, now_ms, interval_ms, random_fn):
        """When the probe alarm should fire next (epoch ms), or None for no alarm.

        At the next ejection end or, while a server is on probation, after
        interval_ms; only with a probe credit left, never in an outage. Never
        sooner than interval_ms (Chrome runs alarms at most every 30 s anyway),
        plus up to half an interval of jitter, so installs that saw the pool
        return together do not probe it together. None while idle
        (PROBE_ACTIVE_MS).
        """
        if not self.in_use(now_ms) or self.outage != None or self.probe_credit < 1:
            return None
        when_ms = self.next_retry_at_ms(now_ms)
        if when_ms == None and len(self.due_for_probe(now_ms)) == 0:
            return None
        soon_ms = now_ms + interval_ms
        when_ms = soon_ms if when_ms == None else max(when_ms, soon_ms)
        if self.last_used_ms + PROBE_ACTIVE_MS <= when_ms:
            return None     # it would fire when the browser is no longer in use
        return when_ms + int(interval_ms * PROBE_JITTER * random_fn())

    def refilled(self, now_ms):
        """A donation was accepted: servers out because the pool was empty are back."""
        if self.outage != None and self.outage.kind == OUTAGE_EMPTY:
            self.outage = None
        for url in self.servers:
            if self.health[url].kind == POOL_EMPTY:
                self.mark_ok(url, now_ms, None)

    def next_retry_at_ms(self, now_ms):
        """The earliest retryAt still in the future, or None (always None in an outage).

        It times the probe alarm, and an outage has no background probes.
        """
        if self.outage != None:
            return None
        soonest = None
        for url in self.servers:
            h = self.health[url]
            if h.state(now_ms) == FAILED and (soonest == None or h.retry_at_ms < soonest):
                soonest = h.retry_at_ms
        return soonest

    def mark_failed(self, url, now_ms, outcome, base_ms, cap_ms, random_fn):
        """Eject url after a failure; return the ejection in ms.

        A Retry-After hint is honoured exactly (capped at cap_ms, no jitter);
        otherwise the ejection grows with each consecutive failure
        (core.ejection).
        """
        h = self.health[url]
        h.failures = h.failures + 1
        h.failed_at_ms = now_ms
        h.kind = outcome.kind
        h.reason = outcome.reason
        if outcome.retry_after_ms != None:
            eject_ms = retry_after_ejection_ms(outcome.retry_after_ms, cap_ms)
        else:
            slow = outcome.kind == TIMEOUT or outcome.kind == OUTPACED
            eject_ms = ejection_ms(h.failures, base_ms * (SLOW_EJECTION_FACTOR if slow else 1),
                                   cap_ms, random_fn)
        h.retry_at_ms = now_ms + eject_ms
        return eject_ms

    def mark_ok(self, url, now_ms, latency_ms):
        """url answered well: back to available, and learn its latency (if given)."""
        h = self.health[url]
        h.failures = 0
        h.failed_at_ms = None
        h.retry_at_ms = None
        h.kind = None
        h.reason = None
        self.outage = None      # one server gave a good answer: the pool is not down
        if latency_ms != None:
            self.latencies_ms = remember_latency(self.latencies_ms, latency_ms)

    def enter_outage(self, kind, now_ms, cap_ms, random_fn):
        """The key fetch that just ended, outside an outage, found no server to give a key.

        When every server failed, the next request may try at once (a person
        who just started a server is not kept waiting); an empty pool waits
        for its first trial. core.ejection.outage_trial_gap_ms spaces the later ones.
        """
        first_ms = now_ms
        if kind == OUTAGE_EMPTY:
            first_ms = now_ms + outage_trial_gap_ms(True, cap_ms, random_fn)
        self.outage = Outage(kind, now_ms, 0, first_ms)
        return None

    def outage_trial_failed(self, kind, now_ms, cap_ms, random_fn):
        """A trial found no key either: the next one waits a gap (jittered); the gap in ms."""
        if self.outage == None:
            self.outage = Outage(kind, now_ms, 0, now_ms)
        o = self.outage
        o.kind = kind
        o.trials = o.trials + 1
        gap_ms = outage_trial_gap_ms(kind == OUTAGE_EMPTY, cap_ms, random_fn)
        o.trial_at_ms = now_ms + gap_ms
        return gap_ms

    def settle_hedge_credit(self, credit_after_run):
        """A key fetch ended with credit_after_run left: keep it, plus what the fetch earned."""
        self.hedge_credit = earn_credit(credit_after_run)

    def release(self, url, now_ms):
        """End url's ejection now (a person pressed "retry now"); it stays on probation."""
        h = self.health[url]
        if h.failures > 0:
            h.retry_at_ms = now_ms

    def mark_still_failed(self, url, now_ms, outcome, retry_at_ms):
        """A person's "retry now" found url still failing: out until retry_at_ms, as before.

        Neither the failure count nor the time out grows: retrying must never
        make things worse (issue 9: a retry turned 1 min into 3 min).
        """
        h = self.health[url]
        h.failures = max(1, h.failures)
        h.failed_at_ms = now_ms
        h.kind = outcome.kind
        h.reason = outcome.reason
        h.retry_at_ms = retry_at_ms

    def reset_round(self, now_ms):
        """Every server failed: end all ejections so that one more round may try them.

        Consecutive-failure counts are kept, so a server that fails again is
        ejected for longer.
        """
        for url in self.servers:
            self.release(url, now_ms)

    def failed_count(self, now_ms):
        return self.count_in_state(FAILED, now_ms)

    def status_rows(self, now_ms):
        """CONTRACT.md §4 getPoolStatus rows, plus why and how often a server failed."""
        rows = []
        for url in self.servers:
            h = self.health[url]
            state = h.state(now_ms)
            row = {'url': url, 'state': FAILED if state == FAILED else AVAILABLE}
            if h.failures > 0:
                row['failedAt'] = h.failed_at_ms
                row['reason'] = h.reason
                row['kind'] = h.kind
                row['failures'] = h.failures
                if state == FAILED:
                    row['retryAt'] = h.retry_at_ms
                else:
                    row['probation'] = True
            rows.append(row)
        return rows
