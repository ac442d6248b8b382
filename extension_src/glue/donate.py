"""Donating a person's API key to the pool (CONTRACT.md §1 donate, §4 donateKey).

Check the key with no network; find a live server by health check (with
failover); POST the key once to that server. A 4xx is the server's verdict
on the key: shown, no failover. A 5xx, 408, 429, timeout or network error
moves to the next server. Never two donations in parallel, and the flow stops
at the first accepted one. Each request carries one Idempotency-Key per
person's action, so a server that supports it can drop a repeat after an
ambiguous timeout.
"""

from core import outcome as oc
from core import status as st
from core.donation import check_donor_input, check_key_input
from core.failover import OFFLINE_MESSAGE
from core.redact import mask_key, redact
from glue import log
from glue.config import is_offline, load_settings
from glue.health import check_health, mark_failed, mark_ok
from glue.ledger import read_pool
from glue.net import request
from glue.status import set_status

NO_SERVER_MESSAGE = ('No key server could take the donation right now. '
                     'Your key was not sent anywhere else; please try again later.')


async def donate_key(raw_key, raw_donor):
    """{ok, message, server} or {ok: False, error, rejected?}."""
    checked = check_key_input(raw_key)
    if checked[1] != None:  # noqa: E711
        await set_status(st.error_text(checked[1]), st.ERROR)
        return {'ok': False, 'error': checked[1], 'invalidInput': True}
    key = checked[0]
    donor_checked = check_donor_input(raw_donor)
    if donor_checked[1] != None:  # noqa: E711
        await set_status(st.error_text(donor_checked[1]), st.ERROR)
        return {'ok': False, 'error': donor_checked[1], 'invalidInput': True}
    donor = donor_checked[0]
    settings = await load_settings()
    idempotency_key = crypto.randomUUID()
    log.info('donating key ' + mask_key(key))
    tried = []
    while True:
        await set_status(st.FINDING_SERVER, st.INFO)
        pool = await read_pool(settings)
        url = pool.pick(Date.now(), Math.random, tried)
        if url == None:  # noqa: E711
            await set_status(st.error_text(NO_SERVER_MESSAGE), st.ERROR)
            return {'ok': False, 'error': NO_SERVER_MESSAGE}
        tried.append(url)
        health = await check_health(url, settings, None)
        if not health.is_ok():
            if health.kind == oc.REFUSED and await is_offline():
                return await _offline()
            if health.counts_against_server():
                await mark_failed(settings, url, health)
            continue
        await set_status(st.VALIDATING, st.INFO)
        body = {'apiKey': key}
        if len(donor) > 0:
            body['donorEmail'] = donor
        headers = [['Content-Type', 'application/json'], ['Idempotency-Key', idempotency_key]]
        timeout_ms = settings['keyTimeoutMs']
        res = await request(url + settings['endpoints']['donate'], 'POST', headers,
                            JSON.stringify(body), timeout_ms, None)
        if res['errorName'] != None:  # noqa: E711
            outcome = oc.error_outcome(res['errorName'], timeout_ms)
        else:
            outcome = oc.donate_outcome(res['status'], res['isJson'], res['body'],
                                        res['retryAfter'], Date.now())
        outcome.reason = redact(outcome.reason, key)
        if outcome.is_ok():
            await mark_ok(settings, url, None)
            log.info('donation accepted by ' + url)
            await set_status(st.DONATED, st.SUCCESS)
            return {'ok': True, 'message': outcome.reason, 'server': url}
        if outcome.kind == oc.REJECTED:
            log.info('donation rejected by ' + url + ': ' + outcome.reason)
            text = 'The server did not accept this key: ' + outcome.reason
            await set_status(st.error_text(text), st.ERROR)
            return {'ok': False, 'error': text, 'rejected': True, 'server': url}
        if outcome.kind == oc.REFUSED and await is_offline():
            return await _offline()
        await mark_failed(settings, url, outcome)


async def _offline():
    await set_status(st.error_text(OFFLINE_MESSAGE), st.ERROR)
    return {'ok': False, 'error': OFFLINE_MESSAGE, 'offline': True}
