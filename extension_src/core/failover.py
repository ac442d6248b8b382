"""One key fetch across the pool: rounds, tried servers, hedging, the deadline.

The original design, kept: pick a random available server; on failure mark
it and try another, at most one attempt per server per round; when every
server has failed, wait allFailedBackoffMs, reset, and run one more round;
then give up with a sentence a person understands.

Added: a hedge (start another server while the first is silent) and one
deadline for the whole user action, shared by every attempt, so the worst
case is bounded: rounds x servers x keyTimeoutMs + allFailedBackoffMs.
"""

from core import outcome as oc

MAX_ROUNDS = 2


def worst_case_ms(n_servers, key_timeout_ms, backoff_ms):
    """The longest a key fetch may take: every server timing out, one at a time, twice."""
    return MAX_ROUNDS * n_servers * key_timeout_ms + backoff_ms


class KeyRun:
    """The state of one key fetch. The glue acts; this record decides.

    Attempts are started with start(url) and ended with finish(url, outcome);
    next_server, should_hedge, is_round_over and can_retry_round answer what to
    do next.
    """

    def __init__(self, started_ms, n_servers, key_timeout_ms, backoff_ms, avoid=None):
        """avoid: servers to use only when no other is left (one whose key was just refused)."""
        self.avoid = avoid if avoid != None else []  # noqa: E711
        self.started_ms = started_ms
        self.deadline_ms = started_ms + worst_case_ms(n_servers, key_timeout_ms, backoff_ms)
        self.round = 1
        self.tried = []
        self.in_flight = []
        self.failures = []      # [url, Outcome] in order, every round
        self.attempts = 0

    def next_server(self, pool, now_ms, random_fn):
        """A server not yet tried this round (avoided ones last), or None."""
        if len(self.avoid) > 0:
            excluded = [u for u in self.tried]     # no list + list: Transcrypt joins strings
            excluded.extend(self.avoid)
            preferred = pool.pick(now_ms, random_fn, excluded)
            if preferred != None:  # noqa: E711
                return preferred
        return pool.pick(now_ms, random_fn, self.tried)

    def start(self, url):
        self.tried.append(url)
        self.in_flight.append(url)
        self.attempts = self.attempts + 1

    def finish(self, url, outcome):
        self.in_flight = [u for u in self.in_flight if u != url]
        if outcome.kind != oc.OK and outcome.kind != oc.ABORTED:
            self.failures.append([url, outcome])

    def attempt_timeout_ms(self, now_ms, key_timeout_ms):
        """keyTimeoutMs, or less when the action's deadline is nearer."""
        return max(1, min(key_timeout_ms, self.deadline_ms - now_ms))

    def is_past_deadline(self, now_ms):
        return now_ms >= self.deadline_ms

    def should_hedge(self, pool, now_ms, hedge_delay_ms):
        """Should a silent attempt be joined by another server now? (delay elapsed is the glue's job)"""
        if hedge_delay_ms <= 0 or len(self.in_flight) == 0:
            return False
        return len(pool.candidates(now_ms, self.tried)) > 0

    def is_round_over(self, pool, now_ms):
        """Nothing in flight and no untried server left this round."""
        return len(self.in_flight) == 0 and len(pool.candidates(now_ms, self.tried)) == 0

    def can_retry_round(self, now_ms, backoff_ms):
        """May one more round start after the backoff (once, and within the deadline)?"""
        return self.round < MAX_ROUNDS and now_ms + backoff_ms < self.deadline_ms

    def new_round(self):
        self.round = self.round + 1
        self.tried = []

    def failure_message(self, n_servers):
        """What to tell a person when no server gave a key."""
        return no_key_message(self.failures, n_servers)


def _plural(n, one, many):
    return str(n) + ' ' + (one if n == 1 else many)


def no_key_message(failures, n_servers):
    """'Could not get an API key: none of the 5 key servers answered (3 timed out, ...). ...'"""
    timeouts = 0
    refused = 0
    busy = 0
    broken = 0
    for item in failures:
        kind = item[1].kind
        if kind == oc.TIMEOUT or kind == oc.OUTPACED:
            timeouts += 1
        elif kind == oc.REFUSED:
            refused += 1
        elif kind == oc.RETRY_AFTER:
            busy += 1
        else:
            broken += 1
    parts = []
    if refused > 0:
        parts.append(_plural(refused, 'attempt', 'attempts') + ' refused')
    if timeouts > 0:
        parts.append(_plural(timeouts, 'attempt', 'attempts') + ' timed out')
    if busy > 0:
        parts.append(_plural(busy, 'server', 'servers') + ' asked us to wait')
    if broken > 0:
        parts.append(_plural(broken, 'answer', 'answers') + ' unusable')
    detail = ' (' + ', '.join(parts) + ')' if len(parts) > 0 else ''
    if n_servers == 1:
        return ('Could not get an API key: the key server did not give one' + detail
                + '. Check that the key server is running, then try again.')
    return ('Could not get an API key: none of the ' + str(n_servers) + ' key servers gave one'
            + detail + '. Check that the key servers are running, then try again.')


OFFLINE_MESSAGE = 'You appear to be offline. Check your internet connection, then try again.'
