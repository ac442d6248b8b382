"""Donating a person's API key to the pool (CONTRACT.md §1 donate, §4 donateKey).

Check the key with no network; ask every server's /health at once; POST the
key to one server at a time, healthy ones first (core.donation.DonationRun
decides the order and what each answer means). A 4xx is the server's verdict
on the key: shown, no failover. A 5xx, 408, 429, timeout or network error
moves to the next server. The flow stops at the first accepted donation.

The key route's record in the pool ledger plays no part: the key servers
share one database, and an empty pool (every key request failing) is exactly
when a donation is needed. The POST carries no header beyond Content-Type:
the deployed servers' CORS preflight refuses any other (CONTRACT.md §1).
One donation per key is in flight at a time; a second request for the same
key joins it. A timeout is ambiguous (the key may have been stored), so a
later "already donated" after one means the key is in the pool.
"""

from core import outcome as oc
from core import status as st
from core.donation import ACCEPTED, ANSWERED, HEALTHY, IN_POOL, IN_POOL_MESSAGE, REJECTED, \
    SILENT, DonationRun, check_donor_input, check_key_input
from core.failover import OFFLINE_MESSAGE
from core.redact import mask_key, redact
from glue import log
from glue.config import is_offline, load_settings
from glue.health import check_health, unless_blocked
from glue.ledger import mark_failed, mark_ok, update_pool
from glue.net import request, timer
from glue.status import set_status

GRACE_TICK = 'grace'

_donating = __new__(Map())    # key -> the promise of its donation under way (memory only)


async def donate_key(raw_key, raw_donor):
    """{ok, message, server} or {ok: False, error, rejected?}."""
    checked = check_key_input(raw_key)
    if checked[1] != None:
        await set_status(st.error_text(checked[1]), st.ERROR)
        return {'ok': False, 'error': checked[1], 'invalidInput': True}
    key = checked[0]
    donor_checked = check_donor_input(raw_donor)
    if donor_checked[1] != None:
        await set_status(st.error_text(donor_checked[1]), st.ERROR)
        return {'ok': False, 'error': donor_checked[1], 'invalidInput': True}
    running = _donating.js_get(key)
    if running != None:
        log.info('joining the donation of key ' + mask_key(key) + ' already under way')
        return await running
    job = _donate(key, donor_checked[0])
    _donating.set(key, job)
    try:
        return await job
    finally:
        _donating.delete(key)


def _shuffled(servers):
    """The servers in a random order (Fisher-Yates; a random of 0 keeps the configured order)."""
    order = [u for u in servers]
    n = len(order)
    for i in range(n - 1):
        j = min(n - 1, i + int(Math.random() * (n - i)))
        swap = order[i]
        order[i] = order[j]
        order[j] = swap
    return order


async def _health_verdict(url, settings):
    """{url, verdict, blocked} for one server's /health; never rejects."""
    verdict = SILENT
    blocked = False
    try:
        outcome = await check_health(url, settings, None)
        if outcome.is_ok():
            verdict = HEALTHY
        elif outcome.kind == oc.BLOCKED:
            blocked = True
        elif outcome.kind == oc.NETWORK_ERROR or outcome.kind == oc.TIMEOUT:
            await mark_failed(settings, url, outcome)
        elif outcome.kind != oc.ABORTED:
            verdict = ANSWERED      # up, but its /health says otherwise: try it after the healthy
            log.info('donation: ' + url + ' answered /health with ' + outcome.reason
                     + '; it is tried if no healthy server takes the key')
    except Exception as e:
        log.error('health check of ' + url + ' for a donation failed', e)
    return {'url': url, 'verdict': verdict, 'blocked': blocked}


async def _post_key(url, key, donor, settings):
    """The Outcome of one POST {base}/donate-key, its reason masked."""
    body = {'apiKey': key}
    if len(donor) > 0:
        body['donorEmail'] = donor
    headers = [['Content-Type', 'application/json']]     # nothing more: CORS (CONTRACT.md §1)
    timeout_ms = settings['keyTimeoutMs']
    res = await request(url + settings['endpoints']['donate'], 'POST', headers,
                        JSON.stringify(body), timeout_ms, None)
    if res['errorName'] != None:
        outcome = await unless_blocked(oc.error_outcome(res['errorName'], timeout_ms), url, settings)
    else:
        outcome = oc.donate_outcome(res['status'], res['isJson'], res['body'],
                                    res['retryAfter'], Date.now(), key)   # masked before the cut
    outcome.reason = redact(outcome.reason, key)
    return outcome


async def _donate(key, donor):
    settings = await load_settings()
    run = DonationRun(_shuffled(settings['servers']), Date.now())
    log.info('donating key ' + mask_key(key))
    await set_status(st.FINDING_SERVER, st.INFO)
    checks = [{'url': u, 'promise': _health_verdict(u, settings)} for u in run.order]
    while True:
        pick = run.next_server(Date.now())
        url = pick[0]
        if url == None:
            wait_ms = pick[1]
            if wait_ms == None:
                return await _nobody_took_it(run)
            racers = [c['promise'] for c in checks]
            if wait_ms >= 0:
                racers.append(timer(wait_ms, GRACE_TICK))
            done = await Promise.race(racers)
            if done != GRACE_TICK:
                checks = [c for c in checks if c['url'] != done['url']]
                run.saw_health(done['url'], done['verdict'], done['blocked'])
            continue
        await set_status(st.VALIDATING, st.INFO)
        outcome = await _post_key(url, key, donor, settings)
        verdict = run.after_post(url, outcome.kind, outcome.reason)
        if verdict == ACCEPTED:
            log.info('donation accepted by ' + url)
            await mark_ok(settings, url, None)
            await update_pool(settings, lambda p: p.refilled(Date.now()))
            await set_status(st.DONATED, st.SUCCESS)
            return {'ok': True, 'message': outcome.reason, 'server': url}
        if verdict == IN_POOL:
            log.info('donation: ' + url + ' already has the key after an ambiguous attempt')
            await set_status(st.IN_POOL, st.SUCCESS)
            return {'ok': True, 'message': IN_POOL_MESSAGE, 'server': url, 'alreadyInPool': True}
        if verdict == REJECTED:
            log.info('donation rejected by ' + url + ': ' + outcome.reason)
            text = 'The server did not accept this key: ' + outcome.reason
            await set_status(st.error_text(text), st.ERROR)
            return {'ok': False, 'error': text, 'rejected': True, 'server': url}
        if outcome.kind == oc.NETWORK_ERROR and await is_offline():
            return await _offline()
        if outcome.kind == oc.BLOCKED:
            log.warn('donation: the browser blocked the request to ' + url + ' (' + outcome.reason
                     + ')')
        elif outcome.counts_against_server():
            await mark_failed(settings, url, outcome)


async def _nobody_took_it(run):
    if len(run.posted) == 0 and len(run.blocked) == 0 and await is_offline():
        return await _offline()
    message = run.failure_message()
    await set_status(st.error_text(message), st.ERROR)
    answer = {'ok': False, 'error': message}
    if len(run.blocked) > 0:
        answer['blocked'] = run.blocked
    return answer


async def _offline():
    await set_status(st.error_text(OFFLINE_MESSAGE), st.ERROR)
    return {'ok': False, 'error': OFFLINE_MESSAGE, 'offline': True}
