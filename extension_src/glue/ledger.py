"""Reads and updates the pool's health ledger in chrome.storage.session.

Every ledger write goes through here: update_pool, and the two marks
(mark_failed with its contract log lines, mark_ok). Updates are serialized (a promise chain): probes, hedged attempts and the
donation flow all mark servers, and two read-modify-write cycles must not
interleave and lose a mark.

Next to core.pool's ledger, the stored object keeps `checkedAt`: {url: epoch
ms of the server's last answer, good or bad}. core.pool's "available" only
means "never failed"; the popup and the set-up page need to know whether a
server was ever reached (core.poolview). It rides in the same write, so it
costs no storage round trip.
"""

from core.pool import Pool
from core.poolview import CHECKED_AT, checked_from
from glue import log
from glue.badge import note_pool
from glue.store import POOL_HEALTH_ITEM

# Called with positional arguments only: no kwargs support (the worker's size budget).
# __pragma__ ('nokwargs')
_chain = {'tail': None}


async def read_pool(settings):
    """The Pool for the configured servers, as last stored (with checked_at_ms)."""
    ledger = await POOL_HEALTH_ITEM.read()
    pool = Pool(settings['servers'], ledger)
    pool.checked_at_ms = checked_from(ledger, pool.servers)
    return pool


def note_checked(pool, url, now_ms):
    """url answered (well or not) at now_ms."""
    if url in pool.health:
        pool.checked_at_ms[url] = now_ms


def update_pool(settings, mutate):
    """Apply mutate(pool) -> result to the stored ledger, one update at a time."""
    async def run(ignored=None):
        pool = await read_pool(settings)
        result = mutate(pool)
        stored = pool.to_obj()
        stored[CHECKED_AT] = pool.checked_at_ms
        await POOL_HEALTH_ITEM.write(stored)
        note_pool(pool, Date.now())
        return result
    tail = _chain['tail']
    if tail == None:
        job = run()
    else:
        job = tail.then(run, run)
    _chain['tail'] = job.then(lambda x: None, lambda e: None)
    return job


def _log_failure(pool, url, outcome, eject_ms):
    n = len(pool.servers)
    log.contract_line('❌ Server ' + url + ' failed: ' + outcome.reason)
    log.contract_line('Marked server as failed: ' + url + '. Failed servers: '
                      + str(pool.failed_count(Date.now())) + '/' + str(n))
    log.info('ejected ' + url + ' for ' + str(eject_ms) + ' ms')


def mark_failed(settings, url, outcome):
    """Eject url (growing, jittered, or exactly Retry-After) and log it."""
    def mutate(pool):
        if url not in pool.health:
            return 0
        eject_ms = pool.mark_failed(url, Date.now(), outcome, settings['ejectionBaseMs'],
                                    settings['failedResetMs'], Math.random)
        note_checked(pool, url, Date.now())
        _log_failure(pool, url, outcome, eject_ms)
        return eject_ms
    return update_pool(settings, mutate)


def record_ok(pool, url, now_ms, latency_ms):
    """In a ledger update: url answered well (latency_ms: None for a health check)."""
    if url in pool.health:
        pool.mark_ok(url, now_ms, latency_ms)
        note_checked(pool, url, now_ms)


def mark_ok(settings, url, latency_ms):
    """Record a good answer from url (latency_ms: None for a health check) in the ledger."""
    def mutate(pool):
        record_ok(pool, url, Date.now(), latency_ms)
        return None
    return update_pool(settings, mutate)


# __pragma__ ('kwargs')
