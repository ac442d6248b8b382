"""Reads and updates the pool's health ledger in chrome.storage.session.

Updates are serialized (a promise chain): probes, hedged attempts and the
donation flow all mark servers, and two read-modify-write cycles must not
interleave and lose a mark.
"""

from core.pool import Pool
from glue.store import POOL_HEALTH_ITEM

_chain = {'tail': None}


async def read_pool(settings):
    """The Pool for the configured servers, as last stored."""
    ledger = await POOL_HEALTH_ITEM.read()
    return Pool(settings['servers'], ledger)


def update_pool(settings, mutate):
    """Apply mutate(pool) -> result to the stored ledger, one update at a time."""
    async def run(ignored=None):
        pool = await read_pool(settings)
        result = mutate(pool)
        await POOL_HEALTH_ITEM.write(pool.to_obj())
        return result
    tail = _chain['tail']
    if tail == None:
        job = run()
    else:
        job = tail.then(run, run)
    _chain['tail'] = job.then(lambda x: None, lambda e: None)
    return job
