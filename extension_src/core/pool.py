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
"""

from core.compat import field, is_int, is_list, is_number, is_object, is_str
from core.ejection import ejection_ms, retry_after_ejection_ms
from core.hedge import HEDGE_CREDIT_INITIAL, earn_credit, remember_latency

AVAILABLE = 'available'
PROBATION = 'probation'
FAILED = 'failed'
POOL_EMPTY = 'pool_empty'   # core.outcome.POOL_EMPTY (pool stays free of outcome imports)


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
        if self.failed_at_ms != None and now_ms < self.failed_at_ms:  # noqa: E711
            return PROBATION
        if self.retry_at_ms != None and now_ms < self.retry_at_ms:  # noqa: E711
            return FAILED
        return PROBATION

    def to_obj(self):
        return {'failures': self.failures, 'failedAt': self.failed_at_ms,
                'retryAt': self.retry_at_ms, 'kind': self.kind, 'reason': self.reason}


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

    def to_obj(self):
        """The ledger as plain data. Servers no longer configured are dropped."""
        servers = {}
        for url in self.servers:
            servers[url] = self.health[url].to_obj()
        return {'servers': servers, 'latenciesMs': [x for x in self.latencies_ms],
                'hedgeCredit': self.hedge_credit}

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

    def due_for_probe(self, now_ms):
        """The servers on probation: their ejection is over, their recovery unproven.

        Not those out because the shared pool was empty: /health says nothing
        about keys, so a probe would put them back only for the key route to
        fail again. The key route itself decides, once their time out is over.
        """
        return [u for u in self.servers if self.health[u].state(now_ms) == PROBATION
                and self.health[u].kind != POOL_EMPTY]

    def refilled(self, now_ms):
        """A donation was accepted: servers out because the pool was empty are back."""
        for url in self.servers:
            if self.health[url].kind == POOL_EMPTY:
                self.mark_ok(url, now_ms, None)

    def next_retry_at_ms(self, now_ms):
        """The earliest retryAt still in the future, or None."""
        soonest = None
        for url in self.servers:
            h = self.health[url]
            if h.state(now_ms) == FAILED and (soonest == None or h.retry_at_ms < soonest):  # noqa: E711
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
        if outcome.retry_after_ms != None:  # noqa: E711
            eject_ms = retry_after_ejection_ms(outcome.retry_after_ms, cap_ms)
        else:
            eject_ms = ejection_ms(h.failures, base_ms, cap_ms, random_fn)
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
        if latency_ms != None:  # noqa: E711
            self.latencies_ms = remember_latency(self.latencies_ms, latency_ms)

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
