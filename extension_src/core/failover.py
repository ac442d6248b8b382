"""One key fetch across the pool: rounds, tried servers, hedging, the deadline.

The original design, kept: pick a random available server; on failure mark
it and try another, at most one attempt per server per round; when every
server has failed, wait allFailedBackoffMs, reset, and run one more round;
then give up with a sentence a person understands.

Added: a hedge (start another server while the first is silent, when there
is a reason: core.hedge) and one deadline for the whole user action, shared by every attempt, so the worst
case is bounded: rounds x servers x keyTimeoutMs + allFailedBackoffMs.

Changed for a fleet (benchmarks/fleet.py decides; BENCHMARKS.md "Fleet"):
- no second round after timeouts: a server that hung for keyTimeoutMs is
  still slow 2 s later, and each key request costs it a Gemini call even
  when we give up on it; the second round stays for refusals and bad answers;
- no failover after a time out on a server alive on /health, and no blind
  hedge while the silent server is alive (MAX_SLOW_TIMEOUTS, _in_flight_alive):
  a slow key route behind a live /health is a queue, and more requests only
  lengthen it (a hanging server, silent on /health too, still fails over);
- one "no active API keys" answer ends the run: the servers share one pool;
- after a fetch that found no key, the pool is in an outage (core.pool):
  requests fail at once, with zero requests, until a trial is due; a trial
  is one round (no second one); for an empty pool, one key request.
"""

from core import hedge
from core import outcome as oc
from core.pool import OUTAGE_DOWN, OUTAGE_EMPTY
from core.words import plural, span_text

MAX_ROUNDS = 2
# A key request that timed out on a server whose /health answered (alive, merely
# slow: a queue of Gemini calls) ends the run: failing over adds a request to a
# queue that is likely long everywhere. The fleet simulation's brownout came
# back 70-80 s after the trigger with this, 90-110 s with one failover or more.
MAX_SLOW_TIMEOUTS = 1
OVERLOADED_MESSAGE = ('Could not get an API key: a key server that is up gave none within the '
                      'time out (it may be busy). Keypool asks another one next time: try again '
                      'in a moment.')

# What the loop does next (KeyRun.next_action), in tenacity's shape.
START = 'start'        # ask action.url for a key (action.hedge: alongside a silent one)
CHECK = 'check'        # ask action.urls for /health: who is alive? (never a key request)
WAIT = 'wait'          # wait for an answer, or at most action.wait_ms (None: for an answer)
BACKOFF = 'backoff'    # every server failed: wait action.wait_ms, reset, one more round
GIVE_UP = 'give_up'    # no key: action.message says why, in words for a person


class Action:
    def __init__(self, kind, url=None, wait_ms=None, urls=None, message=None, hedge=False):
        self.kind = kind
        self.url = url
        self.wait_ms = wait_ms
        self.urls = urls
        self.message = message
        self.hedge = hedge

    def __repr__(self):
        return 'Action(' + self.kind + ', ' + str(self.url) + ', ' + str(self.wait_ms) + ')'


def worst_case_ms(n_servers, key_timeout_ms, backoff_ms):
    """The longest a key fetch may take: every server timing out, one at a time, twice."""
    return MAX_ROUNDS * n_servers * key_timeout_ms + backoff_ms


class KeyRun:
    """The state of one key fetch. The glue acts; this record decides.

    The glue reports events (start, finish, saw_health) and asks next_action
    what to do; it never decides itself when to hedge, fail over, back off or
    give up.
    """

    def __init__(self, started_ms, n_servers, key_timeout_ms, backoff_ms, avoid=None,
                 hedge_credit=None):
        """avoid: servers to use only when no other is left (one whose key was just refused).

        hedge_credit: the pool's budget for blind hedges (core.hedge).
        """
        self.avoid = avoid if avoid != None else []
        self.started_ms = started_ms
        self.n_servers = n_servers
        self.backoff_ms = backoff_ms
        self.deadline_ms = started_ms + worst_case_ms(n_servers, key_timeout_ms, backoff_ms)
        self.round = 1
        self.tried = []
        self.in_flight = []
        self.failures = []      # [url, Outcome] in order, every round
        self.attempts = 0
        self.lanes = 1          # attempts meant to run side by side (1 + hedges)
        self.last_start_ms = started_ms
        self.hedge_credit = hedge_credit if hedge_credit != None else hedge.HEDGE_CREDIT_INITIAL
        self.blind_hedges = 0
        self.evidence_hedges = 0
        self.check_started_ms = None    # when the liveness check was sent (once per run)
        self.checked = []               # servers asked for /health by it
        self.answered = {}              # url -> health latency ms, for servers that answered
        self.first_answer_ms = None     # when the first of them answered
        self.trial = None               # OUTAGE_DOWN / OUTAGE_EMPTY: this run is an outage trial
        self.slow_timeouts = 0          # key requests that timed out on a server alive on /health
        self.overloaded = False         # MAX_SLOW_TIMEOUTS of them: stop asking (core docstring)

    # -- events ------------------------------------------------------------

    def start(self, url, now_ms=None):
        self.tried.append(url)
        self.in_flight.append(url)
        self.attempts = self.attempts + 1
        if now_ms != None:
            self.last_start_ms = now_ms

    def finish(self, url, outcome):
        self.in_flight = [u for u in self.in_flight if u != url]
        if outcome.kind != oc.OK and outcome.kind != oc.ABORTED:
            self.failures.append([url, outcome])
            if outcome.kind == oc.TIMEOUT and url in self.answered:
                self.slow_timeouts = self.slow_timeouts + 1
                if self.slow_timeouts >= MAX_SLOW_TIMEOUTS:
                    self.overloaded = True
        if len(self.in_flight) == 0:
            self.lanes = 1      # a failed hedge pair fails over one server at a time

    def saw_health(self, url, answered, latency_ms, now_ms):
        """The liveness check of url ended: answered over HTTP (any status) or not."""
        if not answered:
            return None
        self.answered[url] = latency_ms
        if self.first_answer_ms == None:
            self.first_answer_ms = now_ms
        return None

    def new_round(self):
        self.round = self.round + 1
        self.tried = []
        self.lanes = 1

    # -- decisions ---------------------------------------------------------

    def next_action(self, pool, now_ms, random_fn, configured_delay_ms, wall_ms=None):
        """What to do now: an Action (START, CHECK, WAIT, BACKOFF or GIVE_UP).

        configured_delay_ms: settings hedgeDelayMs (None: derived, 0: no hedging).
        now_ms is the run's clock (monotonic in the browser: deadlines and hedge
        timers survive a wall-clock jump); wall_ms, the pool ledger's epoch ms
        (default: now_ms, for a single clock as in the simulations and vectors).
        """
        wall = wall_ms if wall_ms != None else now_ms
        if self.trial == None and self.attempts == 0 and self.round == 1 \
                and self.check_started_ms == None and pool.outage != None:
            outage = pool.outage
            if outage.since_ms <= wall and wall < outage.trial_at_ms:
                return Action(GIVE_UP, None, None, None, outage_message(outage, wall,
                                                                         self.n_servers))
            self.trial = outage.kind
        if self.trial == OUTAGE_EMPTY:
            return self._empty_trial_action(pool, now_ms, random_fn)
        if len(self.in_flight) < self.lanes:
            url = None if self.is_past_deadline(now_ms) or self._said_pool_empty() \
                or self.overloaded else self.next_server(pool, wall, random_fn)
            if url != None:
                return Action(START, url)
            if len(self.in_flight) == 0:
                if self.can_retry_round(now_ms, self.backoff_ms):
                    return Action(BACKOFF, None, self.backoff_ms)
                return Action(GIVE_UP, None, None, None, self.failure_message(self.n_servers))
            self.lanes = len(self.in_flight)   # nobody left to fail over to: wait for the rest
        return self._hedge_action(pool, now_ms, wall, random_fn, configured_delay_ms)

    def _empty_trial_action(self, pool, now_ms, random_fn):
        """A trial of an empty pool: one key request (the servers share one pool)."""
        if len(self.in_flight) > 0:
            return Action(WAIT)
        if self.attempts == 0 and not self.is_past_deadline(now_ms):
            return Action(START, self._random_of(pool.servers, random_fn))
        return Action(GIVE_UP, None, None, None, self.failure_message(self.n_servers))

    def _random_of(self, urls, random_fn):
        preferred = [u for u in urls if u not in self.avoid]
        choices = preferred if len(preferred) > 0 else urls
        return choices[min(len(choices) - 1, int(random_fn() * len(choices)))]

    def settle(self, pool, ok, now_ms, cap_ms, random_fn):
        """The run is over: the pool is in use; enter or extend its outage.

        now_ms: wall clock. The glue calls it inside a ledger update, after the
        server's own mark_ok (which ends an outage) or mark_failed.
        """
        if self.attempts > 0:
            pool.used(now_ms, ok)   # an answer at once from a known outage is not a use
        if ok:
            return None
        kind = self.pool_wide_failure(pool.servers)
        if self.trial != None:
            pool.outage_trial_failed(kind if kind != None else self.trial, now_ms, cap_ms,
                                     random_fn)
        elif kind != None and pool.outage == None:
            pool.enter_outage(kind, now_ms, cap_ms, random_fn)
        return None

    def pool_wide_failure(self, servers):
        """OUTAGE_EMPTY, OUTAGE_DOWN or None: did this run show the pool cannot give a key?

        down: every configured server failed in this run for a reason of its
        own (a browser block or being offline blames no server).
        """
        if self._said_pool_empty():
            return OUTAGE_EMPTY
        failed = []
        for item in self.failures:
            if item[1].counts_against_server() and item[0] not in failed:
                failed.append(item[0])
        for url in servers:
            if url not in failed:
                return None
        return OUTAGE_DOWN

    def _hedge_action(self, pool, now_ms, wall_ms, random_fn, configured_delay_ms):
        """Attempts are in flight: hedge now, check liveness now, or wait (and how long)."""
        delay_ms = hedge.hedge_delay_ms(configured_delay_ms, pool.latencies_ms)
        if delay_ms <= 0 or self.is_past_deadline(now_ms):
            return Action(WAIT)
        untried = pool.candidates(wall_ms, self.tried)
        if len(untried) == 0:
            return Action(WAIT)
        blind_at_ms = self.last_start_ms + delay_ms
        if hedge.is_configured(configured_delay_ms):
            if now_ms >= blind_at_ms:
                return self._hedge_to(pool, wall_ms, random_fn, False)
            return Action(WAIT, None, blind_at_ms - now_ms)
        wake_ms = []
        if self.check_started_ms == None:
            check_at_ms = self.last_start_ms + hedge.liveness_check_ms(delay_ms, pool.latencies_ms)
            if now_ms >= check_at_ms:
                self.check_started_ms = now_ms
                urls = [u for u in self.in_flight]
                urls.extend(untried)
                self.checked = urls
                return Action(CHECK, None, None, urls)
            wake_ms.append(check_at_ms)
        elif self.first_answer_ms != None:
            evidence_at_ms = self.first_answer_ms + hedge.liveness_grace_ms(self._fastest_answer_ms())
            alive = [u for u in untried if u in self.answered]
            if len(alive) > 0 and self._silent_in_flight() > 0:
                if now_ms >= evidence_at_ms:
                    return self._hedge_to_one_of(alive, now_ms, random_fn)
                wake_ms.append(evidence_at_ms)
        if self.hedge_credit >= 1 and not self._in_flight_alive():
            if now_ms >= blind_at_ms:
                return self._hedge_to(pool, wall_ms, random_fn, False)
            wake_ms.append(blind_at_ms)
        if len(wake_ms) == 0:
            return Action(WAIT)
        return Action(WAIT, None, max(0, min(wake_ms) - now_ms))

    def _fastest_answer_ms(self):
        fastest = None
        for url in self.checked:
            if url in self.answered:
                ms = self.answered[url]
                if fastest == None or ms < fastest:
                    fastest = ms
        return fastest if fastest != None else 0

    def _in_flight_alive(self):
        """Did every in-flight server answer its /health? Then it is alive and merely slow.

        No blind hedge then: a key route slow behind a live /health is a slow
        Gemini call or a queue, most likely on every server at once, and a
        second request only lengthens the queues (benchmarks/fleet.py: blind
        hedges doubled the load of a brownout and kept it from recovering).
        """
        if self.check_started_ms == None or len(self.in_flight) == 0:
            return False
        for url in self.in_flight:
            if url not in self.answered:
                return False
        return True

    def _silent_in_flight(self):
        """In-flight servers that were checked and have not answered their health check."""
        return len([u for u in self.in_flight if u in self.checked and u not in self.answered])

    def _hedge_to(self, pool, now_ms, random_fn, evidence):
        url = self.next_server(pool, now_ms, random_fn)
        if url == None:
            return Action(WAIT)
        return self._hedge_action_for(url, evidence)

    def _hedge_to_one_of(self, urls, now_ms, random_fn):
        index = min(len(urls) - 1, int(random_fn() * len(urls)))
        return self._hedge_action_for(urls[index], True)

    def _hedge_action_for(self, url, evidence):
        self.lanes = self.lanes + 1
        if evidence:
            self.evidence_hedges = self.evidence_hedges + 1
        else:
            self.blind_hedges = self.blind_hedges + 1
            self.hedge_credit = self.hedge_credit - 1
        return Action(START, url, None, None, None, True)

    def next_server(self, pool, now_ms, random_fn):
        """A server not yet tried this round (avoided ones last), or None.

        An outage trial may ask any server: every one is out, that is the point.
        """
        if self.trial != None:
            untried = [u for u in pool.servers if u not in self.tried]
            return self._random_of(untried, random_fn) if len(untried) > 0 else None
        if len(self.avoid) > 0:
            excluded = [u for u in self.tried]     # no list + list: Transcrypt joins strings
            excluded.extend(self.avoid)
            preferred = pool.pick(now_ms, random_fn, excluded)
            if preferred != None:
                return preferred
        return pool.pick(now_ms, random_fn, self.tried)

    def attempt_timeout_ms(self, now_ms, key_timeout_ms):
        """keyTimeoutMs, or less when the action's deadline is nearer."""
        return max(1, min(key_timeout_ms, self.deadline_ms - now_ms))

    def is_past_deadline(self, now_ms):
        return now_ms >= self.deadline_ms

    def can_retry_round(self, now_ms, backoff_ms):
        """May one more round start after the backoff (once, and within the deadline)?

        Not when the servers said the shared pool is empty: it does not refill in
        a few seconds, and asking again only costs the servers. Not when every
        failure was a time out (hanging servers still hang 2 s later, and each
        request costs them a Gemini call), nor in an outage trial.
        """
        if self._said_pool_empty() or self.trial != None or self.overloaded:
            return False
        only_timeouts = len(self.failures) > 0
        for item in self.failures:
            if item[1].kind != oc.TIMEOUT and item[1].kind != oc.OUTPACED:
                only_timeouts = False
        if only_timeouts:
            return False
        return self.round < MAX_ROUNDS and now_ms + backoff_ms < self.deadline_ms

    def _said_pool_empty(self):
        for item in self.failures:
            if item[1].kind == oc.POOL_EMPTY:
                return True
        return False

    def failure_message(self, n_servers):
        """What to tell a person when no server gave a key."""
        if self.overloaded:
            return OVERLOADED_MESSAGE
        return no_key_message(self.failures, n_servers)


def outage_message(outage, now_ms, n_servers):
    """A request during an outage, before its next trial: what happened and what comes next."""
    wait = span_text(outage.trial_at_ms - now_ms)
    if outage.kind == OUTAGE_EMPTY:
        return ('Could not get an API key: the key servers are running, but the pool has no '
                'API keys left. Donate a key in the Keypool popup to refill it; Keypool asks '
                'the servers again in ' + wait + '.')
    which = 'the key server has not' if n_servers == 1 \
        else 'none of the ' + str(n_servers) + ' key servers has'
    return ('Could not get an API key: ' + which + ' given one for '
            + span_text(now_ms - outage.since_ms) + '. Keypool tries again in ' + wait
            + '. Check that the key servers are running.')


def no_key_message(failures, n_servers):
    """'Could not get an API key: none of the 5 key servers answered (3 timed out, ...). ...'"""
    timeouts = 0
    unreachable = 0     # network errors: refused, reset, DNS, TLS
    busy = 0
    broken = 0
    empty = 0
    blocked = 0
    for item in failures:
        kind = item[1].kind
        if kind == oc.POOL_EMPTY:
            empty += 1
        elif kind == oc.BLOCKED:
            blocked += 1
        elif kind == oc.TIMEOUT or kind == oc.OUTPACED:
            timeouts += 1
        elif kind == oc.NETWORK_ERROR:
            unreachable += 1
        elif kind == oc.RETRY_AFTER:
            busy += 1
        else:
            broken += 1
    parts = []
    if unreachable > 0:
        parts.append(plural(unreachable, 'attempt', 'attempts') + ' unreachable')
    if timeouts > 0:
        parts.append(plural(timeouts, 'attempt', 'attempts') + ' timed out')
    if busy > 0:
        parts.append(plural(busy, 'server', 'servers') + ' asked us to wait')
    if broken > 0:
        parts.append(plural(broken, 'answer', 'answers') + ' unusable')
    detail = ' (' + ', '.join(parts) + ')' if len(parts) > 0 else ''
    if empty > 0:
        # The servers share one pool (KEYSERVERS.md): one "no keys" is everyone's.
        return ('Could not get an API key: the key servers are running, but the pool has no '
                'API keys left. Donate a key in the Keypool popup to refill it, then try again.')
    if blocked > 0 and blocked == len(failures):
        if n_servers == 1:
            return ('Could not get an API key: Keypool may not reach the key server. '
                    'Allow it in Options, then try again.')
        return ('Could not get an API key: Keypool may not reach the key servers. '
                'Allow them in Options, then try again.')
    if n_servers == 1:
        return ('Could not get an API key: the key server did not give one' + detail
                + '. Check that the key server is running, then try again.')
    return ('Could not get an API key: none of the ' + str(n_servers) + ' key servers gave one'
            + detail + '. Check that the key servers are running, then try again.')


OFFLINE_MESSAGE = 'You appear to be offline. Check your internet connection, then try again.'
