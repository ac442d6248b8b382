"""Getting an API key from the pool: cache, single flight, hedged failover.

The loop acts, core.failover.KeyRun and core.pool.Pool decide. One user
action has one deadline and one AbortController: when the answer is given,
every request still running for it is aborted.
"""

from core import outcome as oc
from core import status as st
from core.failover import BACKOFF, CHECK, GIVE_UP, OFFLINE_MESSAGE, START, KeyRun
from core.pool import AVAILABLE, Pool
from core.redact import mask_key
from glue import log
from glue.config import is_offline, settings_from
from glue.health import check_health, probe, schedule_probe_alarm, start_background_probes, \
    unless_blocked
from glue.ledger import mark_failed, read_pool, record_ok, update_pool
from glue.net import monotonic_ms, request, sleep, timer
from glue.status import flush_status, set_status, set_status_soon
from glue.store import KEY_CACHE_ITEM, POOL_HEALTH_ITEM, SETTINGS_ITEM

HEDGE_TICK = 'hedge'


def _in_background(promise):
    """A side job (a status line, a ledger write, a probe) the answer does not wait for."""
    log.in_background(promise, 'background write')

# The fetch under way, and the server it avoids: a caller that must avoid a
# server joins only a fetch that avoids that same server.
_in_flight = {'promise': None, 'avoid': None}


def may_join(flight_avoid, avoid_server):
    """May a caller avoiding avoid_server (None: no server) share a fetch that avoids flight_avoid?

    A fetch that may pick the server whose key was just refused could hand
    that caller the same refused key back.
    """
    return avoid_server == None or avoid_server == flight_avoid


def _fresh(settings, cached):
    """The cached {apiKey, server, fetchedAt} if still fresh for these settings, else None."""
    if settings['keyCacheMs'] <= 0 or cached == None:
        return None
    age_ms = Date.now() - cached['fetchedAt']
    if age_ms < 0 or age_ms >= settings['keyCacheMs'] or cached['server'] not in settings['servers']:
        _in_background(KEY_CACHE_ITEM.remove())
        return None
    return cached


async def drop_cached_key(api_key):
    """Forget the cached key (the provider refused it)."""
    cached = await KEY_CACHE_ITEM.read()
    if cached != None and (api_key == None or cached['apiKey'] == api_key):
        await KEY_CACHE_ITEM.remove()


async def get_api_key(use_cache=True, avoid_server=None):
    """{ok, apiKey, server} or {ok: False, error}: CONTRACT.md §4 getApiKey.

    Concurrent callers (popup, shortcut, context menu, analysis) share one
    fetch; with keyCacheMs > 0 a fresh key is reused for that long.
    avoid_server: a server whose key the provider just refused; it is asked
    only when no other server is left.
    """
    # The settings, the ledger and the cached key: from the worker's memory when
    # it is current (glue.store.Mirror), else one parallel round of storage reads.
    both = await Promise.all([SETTINGS_ITEM.read(), POOL_HEALTH_ITEM.read(), KEY_CACHE_ITEM.read()])
    settings = settings_from(both[0])
    ledger = both[1]
    if use_cache:
        cached = _fresh(settings, both[2])
        if cached != None:
            log.info('using cached API key ' + mask_key(cached['apiKey']) + ' from ' + cached['server'])
            return {'ok': True, 'apiKey': cached['apiKey'], 'server': cached['server'],
                    'cached': True}
    if _in_flight['promise'] != None and may_join(_in_flight['avoid'], avoid_server):
        log.info('joining the key fetch already under way')
        return await _in_flight['promise']
    job = _fetch_and_cache(settings, avoid_server, ledger)
    _in_flight['promise'] = job
    _in_flight['avoid'] = avoid_server
    try:
        return await job
    finally:
        if _in_flight['promise'] == job:
            _in_flight['promise'] = None


async def _fetch_and_cache(settings, avoid_server, ledger):
    answer = await fetch_key_from_pool(settings, avoid_server, ledger)
    if answer['ok'] and settings['keyCacheMs'] > 0:
        await KEY_CACHE_ITEM.write({'apiKey': answer['apiKey'], 'server': answer['server'],
                                    'fetchedAt': Date.now()})
    return answer


async def _attempt(url, settings, timeout_ms, signal):
    """One key request; resolves (never rejects) to {url, outcome, startedMs, latencyMs, check}.

    Whatever the server sent, an exception here is this server's unusable
    answer, never the whole fetch's: one hostile server must not stop the
    failover for everyone. startedMs is on the monotonic clock.
    """
    started_ms = monotonic_ms()
    try:
        res = await request(url + settings['endpoints']['key'], 'GET', None, None, timeout_ms,
                            signal)
        latency_ms = res['latencyMs']
        if res['errorName'] != None:
            # The failure path only: a refused request on a host without permission
            # may be the browser's CORS block, which blames no server.
            outcome = await unless_blocked(oc.error_outcome(res['errorName'], timeout_ms), url,
                                           settings)
        else:
            outcome = oc.key_outcome(res['status'], res['isJson'], res['body'], res['retryAfter'],
                                     Date.now())
    except Exception as e:
        log.error('reading the answer of ' + url + ' failed', e)
        latency_ms = Math.round(monotonic_ms() - started_ms)
        outcome = oc.Outcome(oc.INVALID, 'unreadable answer')
    return {'url': url, 'outcome': outcome, 'startedMs': started_ms, 'latencyMs': latency_ms,
            'check': None}


async def fetch_key_from_pool(settings, avoid_server=None, ledger=None):
    """Run the failover rounds; {ok, apiKey, server} or {ok: False, error}.

    core.failover.KeyRun.next_action decides every step (start, liveness
    check, wait, back off, give up); this loop only acts and reports events.
    The fast path (a healthy server answers) reads nothing more than the
    caller did, calls fetch() before any log line or status write, and writes
    the status and the latency without waiting for the writes. The ledger is
    read again only after a failure or a hedge, when probes may have changed it.
    """
    servers = settings['servers']
    n = len(servers)
    avoid = [avoid_server] if avoid_server != None else []
    pool = Pool(servers, ledger)
    # The run's deadline and the hedge timer use the monotonic clock; the pool's
    # ledger (stored, shared across workers) keeps wall-clock epoch ms.
    run = KeyRun(monotonic_ms(), n, settings['keyTimeoutMs'], settings['allFailedBackoffMs'], avoid,
                 pool.hedge_credit)
    action = __new__(AbortController())
    attempts = []          # [{url, promise, startedMs}] in flight
    checks = []            # [{url, promise}] liveness checks not yet answered
    # Servers back from a time out are probed in the background; while a proven
    # server is available, only after the answer, so probes never slow it down.
    probes_waiting = len(pool.due_for_probe(Date.now())) > 0
    if probes_waiting and pool.count_in_state(AVAILABLE, Date.now()) == 0:
        start_background_probes(settings)
        probes_waiting = False

    def start_attempt(url, is_hedge):
        now_ms = monotonic_ms()
        timeout_ms = run.attempt_timeout_ms(now_ms, settings['keyTimeoutMs'])
        promise = _attempt(url, settings, timeout_ms, action.signal)   # fetch() starts here
        if run.attempts == 0:
            log.contract_line_soon('🔄 Starting API key fetch with server failover...')
            set_status_soon(st.GETTING_KEY, st.INFO)
            set_status_soon(st.CONNECTING, st.INFO)
        run.start(url, now_ms)
        attempts.append({'url': url, 'startedMs': now_ms, 'promise': promise})
        if is_hedge:
            log.info('no answer after ' + str(now_ms - run.started_ms)
                     + ' ms; hedging with another server: ' + url)
        # Written after the answer, or within log.SOON_MS: not while it is on its way.
        log.contract_line_soon('Attempt ' + str(len(run.tried)) + '/' + str(n) + ': Trying server '
                               + url)

    def start_checks(urls):
        log.info('no answer yet: asking ' + str(len(urls)) + ' servers for /health to see who is alive')
        for url in urls:
            checks.append({'url': url, 'promise': _liveness_check(url, settings)})

    try:
        while True:
            step = run.next_action(pool, monotonic_ms(), Math.random, settings['hedgeDelayMs'],
                                   Date.now())
            if step.kind == START:
                start_attempt(step.url, step.hedge)
                if step.hedge:
                    pool = await read_pool(settings)
                continue
            if step.kind == CHECK:
                start_checks(step.urls)
                continue
            if step.kind == BACKOFF:
                log.info('every server failed; waiting ' + str(step.wait_ms)
                         + ' ms before one more round')
                await set_status(st.RETRYING_ROUND, st.INFO)
                await sleep(step.wait_ms)
                await _reset_round(settings)
                run.new_round()
                pool = await read_pool(settings)
                _in_background(set_status(st.CONNECTING, st.INFO))
                continue
            if step.kind == GIVE_UP:
                message = step.message
                if run.attempts == 0:
                    log.info('the key servers are out (outage); no request sent: ' + message)
                await set_status(st.error_text(message), st.ERROR)
                await _settle(settings, run, False)
                await schedule_probe_alarm(settings)
                return {'ok': False, 'error': message}
            # WAIT: for an attempt, a liveness answer, or the time the core named.
            racers = [a['promise'] for a in attempts]
            racers.extend([c['promise'] for c in checks])
            if step.wait_ms != None:
                racers.append(timer(step.wait_ms, HEDGE_TICK))
            done = await Promise.race(racers)
            if done == HEDGE_TICK:
                continue
            if done['check'] != None:
                checks = [c for c in checks if c['url'] != done['check']]
                run.saw_health(done['check'], done['answered'], done['latencyMs'], monotonic_ms())
                continue
            attempts = [a for a in attempts if a['url'] != done['url']]
            outcome = done['outcome']
            run.finish(done['url'], outcome)
            if outcome.is_ok():
                # The answer goes out first; logs, ledger and status follow in the
                # next task (the person is not waiting for them).
                losers = attempts
                attempts = []
                # Queued before the answer: the caller's next status ("🧠 Analyzing
                # image...") writes it first. Written in the task below.
                set_status_soon(st.KEY_READY, st.SUCCESS)
                setTimeout(_after_success_task(settings, run, pool, done, losers, probes_waiting), 0)
                return {'ok': True, 'apiKey': outcome.key, 'server': done['url']}
            if outcome.kind == oc.NETWORK_ERROR and await is_offline():
                log.warn('the browser is offline: no server is blamed')
                await set_status(st.error_text(OFFLINE_MESSAGE), st.ERROR)
                return {'ok': False, 'error': OFFLINE_MESSAGE, 'offline': True}
            if outcome.counts_against_server():
                await mark_failed(settings, done['url'], outcome)
                pool = await read_pool(settings)
    finally:
        action.abort()


async def _liveness_check(url, settings):
    """GET /health for a hedge decision: {check: url, answered, latencyMs}; never rejects.

    It has its own timeout (healthTimeoutMs), not the action's signal: it goes
    on after the answer, and a server that stays silent is marked failed, so
    the next request does not pick it.
    """
    started_ms = monotonic_ms()
    answered = False
    try:
        outcome = await check_health(url, settings, None)
        answered = outcome.kind != oc.TIMEOUT and outcome.kind != oc.NETWORK_ERROR \
            and outcome.kind != oc.ABORTED
        if not answered and outcome.counts_against_server():
            _in_background(mark_failed(settings, url, outcome))
    except Exception as e:
        log.error('liveness check of ' + url + ' failed', e)
    return {'check': url, 'answered': answered, 'latencyMs': Math.round(monotonic_ms() - started_ms)}


def _settle(settings, run, ok, winner=None):
    """The run's end in the ledger, in one write: the winner's good answer (if any), hedge
    credit, use, the pool's outage (core.failover)."""
    def mutate(pool):
        if winner != None:
            record_ok(pool, winner['url'], Date.now(), winner['latencyMs'])
        pool.settle_hedge_credit(run.hedge_credit)
        run.settle(pool, ok, Date.now(), settings['failedResetMs'], Math.random)
        return None
    return update_pool(settings, mutate)


def _after_success_task(settings, run, pool, done, losers, probes_waiting):
    """A callback for setTimeout: everything a success needs besides the answer."""
    def task():
        flush_status()
        log.contract_line('✅ Success with server: ' + done['url'])
        log.info('got API key ' + mask_key(done['outcome'].key) + ' in '
                 + str(Math.round(monotonic_ms() - run.started_ms)) + ' ms')
        # Ledger updates run one at a time, in order: the probes below see this use.
        _in_background(_settle(settings, run, True, done))
        if probes_waiting:
            start_background_probes(settings)
        _in_background(_outpace(settings, losers, done))
        _in_background(_eject_silent(settings, run, losers))
        if pool.failed_count(Date.now()) > 0 or len(run.failures) > 0 \
                or len(pool.due_for_probe(Date.now())) > 0:
            _in_background(schedule_probe_alarm(settings))
    return task


async def _reset_round(settings):
    await update_pool(settings, lambda p: p.reset_round(Date.now()))


async def _eject_silent(settings, run, losers):
    """Servers that stayed silent on /health while another answered: out, like outpaced losers.

    Their liveness check may run on for healthTimeoutMs; without this, the
    next request could pick one of them and wait for its own check.
    """
    if run.first_answer_ms == None:
        return None
    loser_urls = [a['url'] for a in losers]
    for url in run.checked:
        if url not in run.answered and url not in loser_urls and url not in run.in_flight:
            outcome = oc.Outcome(oc.OUTPACED, 'no answer to /health while another server answered')
            await mark_failed(settings, url, outcome)
    return None


async def _outpace(settings, attempts, winner):
    """Losers of a hedge that started before the winner and stayed silent.

    They are marked failed (outpaced) so the next request does not wait on
    them, and probed at once in the background: a server that only had a slow
    moment is back within one health check, a hanging one stays out.
    """
    for a in attempts:
        if a['startedMs'] <= winner['startedMs']:
            silent_ms = Math.round(monotonic_ms() - a['startedMs'])
            outcome = oc.Outcome(oc.OUTPACED, 'no answer after ' + str(silent_ms)
                                 + ' ms while another server answered')
            await mark_failed(settings, a['url'], outcome)
            _in_background(probe(a['url'], settings))
