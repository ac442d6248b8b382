"""Health checks and the background probes that bring failed servers back.

A failed server is not put back by a person's request waiting on it: when
its ejection ends it goes on probation, and a probe (GET {base}/health)
decides. Probes run from a chrome.alarms alarm (it survives the service
worker) and, without waiting, whenever a request sees a server on probation.
The pool decides which and when (core.pool: lazy, one at a time, budgeted,
jittered), so that a fleet of installs does not probe a returning server
all at once (benchmarks/fleet.py).
"""

from core import outcome as oc
from core.pool import FAILED
from glue import log
from glue.config import load_settings
from core.poolview import STALE_MS, stale_urls, with_checks
from glue.ledger import mark_failed, mark_ok, note_checked, read_pool, update_pool
from glue.net import request
from glue.reach import is_blocked

# Called with positional arguments only: no kwargs support (the worker's size budget).
# __pragma__ ('nokwargs')
PROBE_ALARM = 'keypool-probe'

_probing = {}   # url -> True while a probe is running in this worker


async def check_health(url, settings, cancel_signal):
    """The Outcome of GET {url}{endpoints.health} within healthTimeoutMs."""
    timeout_ms = settings['healthTimeoutMs']
    res = await request(url + settings['endpoints']['health'], 'GET', None, None, timeout_ms,
                        cancel_signal)
    if res['errorName'] != None:
        return await unless_blocked(oc.error_outcome(res['errorName'], timeout_ms), url, settings)
    return oc.health_outcome(res['status'], res['isJson'], res['body'], res['retryAfter'],
                             Date.now())


async def unless_blocked(outcome, url, settings):
    """outcome, or a BLOCKED one when the browser, not the server, stopped the request."""
    if outcome.kind == oc.NETWORK_ERROR and await is_blocked(url, settings['endpoints']['health'],
                                                       settings['healthTimeoutMs']):
        return oc.blocked_outcome()
    return outcome


def mark_still_failed(settings, url, outcome, retry_at_ms):
    """A retry found url still down: it keeps the time out it had (never a longer one)."""
    def mutate(pool):
        if url in pool.health:
            pool.mark_still_failed(url, Date.now(), outcome, retry_at_ms)
            note_checked(pool, url, Date.now())
        return None
    return update_pool(settings, mutate)


async def probe(url, settings, keep_until_ms=None):
    """Health-check one server and record the result; the Outcome (None: one is running).

    keep_until_ms: the end of the time out url had before a person's retry;
    if it is still failing, it stays out until then, no longer.
    """
    if _probing[url] == True:
        return None
    _probing[url] = True
    try:
        outcome = await check_health(url, settings, None)
        if outcome.is_ok():
            await mark_ok(settings, url, None)
            log.info('probe: ' + url + ' is healthy again')
        elif outcome.counts_against_server():
            log.info('probe: ' + url + ' still failing: ' + outcome.reason)
            if keep_until_ms != None:
                # a person's retry: the time out stays as it was, never longer
                await mark_still_failed(settings, url, outcome, keep_until_ms)
            else:
                await mark_failed(settings, url, outcome)
        return outcome
    finally:
        del _probing[url]


async def probe_due(settings):
    """Probe what the pool says is due now (core.pool.Pool.take_probes: at most one), then
    plan the next alarm."""
    busy = [u for u in settings['servers'] if _probing[u] == True]

    def take(pool):
        return pool.take_probes(Date.now(), Math.random, busy)
    due = await update_pool(settings, take)
    if len(due) > 0:
        await Promise.all([probe(u, settings) for u in due])
    await schedule_probe_alarm(settings)


async def schedule_probe_alarm(settings):
    """One alarm when the pool says (core.pool.Pool.next_probe_at_ms), or none.

    Probes are lazy: none while this browser is idle, none in an outage (its
    next request is the trial). Chrome clamps alarms to 30 s for packed extensions.
    """
    pool = await read_pool(settings)
    now_ms = Date.now()
    when_ms = pool.next_probe_at_ms(now_ms, settings['probeIntervalMs'], Math.random)
    if when_ms == None:
        await chrome.alarms.js_clear(PROBE_ALARM)
        return None
    await chrome.alarms.create(PROBE_ALARM, {'when': max(when_ms, now_ms + 50)})
    return None


async def on_probe_alarm():
    settings = await load_settings()
    await probe_due(settings)


def start_background_probes(settings):
    """Probe servers on probation without making anyone wait."""
    log.in_background(probe_due(settings), 'probe')


async def retry_server_now(url):
    """A person asked to retry url now: probe it; the answer says how it went.

    Never worse than not asking: a server still down keeps the time out it had.
    """
    settings = await load_settings()
    pool = await read_pool(settings)
    if url not in pool.health:
        return {'ok': False, 'error': 'That server is not in the pool.'}
    # A person looking at the pool is using it: probes may follow (core.pool, lazy).
    keep_until_ms = None
    if pool.state(url, Date.now()) == FAILED:
        keep_until_ms = pool.health[url].retry_at_ms
        await update_pool(settings, lambda p: p.release(url, Date.now()) or p.watched(Date.now()))
    else:
        await update_pool(settings, lambda p: p.watched(Date.now()))
    outcome = await probe(url, settings, keep_until_ms)
    await schedule_probe_alarm(settings)
    if outcome == None:
        return {'ok': True, 'healthy': None, 'message': 'A check of this server is already running.'}
    if outcome.is_ok():
        return {'ok': True, 'healthy': True, 'message': 'The server answered: it is back in the pool.'}
    return {'ok': True, 'healthy': False, 'message': 'Still failing: ' + outcome.reason}


async def check_servers(every):
    """Check the servers not checked recently (every: all of them, as "Try again").

    For the popup and the set-up page when they open: "available" must mean
    "answered lately", never only "never failed" (core.poolview). Failed
    servers are retried without lengthening their time outs. Answers once
    every check is done: {ok, checked: [urls]}.
    """
    settings = await load_settings()
    pool = await read_pool(settings)
    now_ms = Date.now()
    if every:
        urls = [u for u in pool.servers]
    else:
        urls = stale_urls(with_checks(pool.status_rows(now_ms), pool.checked_at_ms), now_ms, STALE_MS)
    jobs = []
    for url in urls:
        if pool.state(url, now_ms) == FAILED:
            jobs.append(retry_server_now(url))
        else:
            jobs.append(probe(url, settings))
    if len(jobs) > 0:
        await Promise.all(jobs)
    return {'ok': True, 'checked': urls}

# __pragma__ ('kwargs')
