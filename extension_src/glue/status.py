"""The status line people see: chrome.storage.session `status` (CONTRACT.md §4)."""

from core.status import status_obj
from core.contract import STATUS
from glue import soon
from glue.store import set_item

SOON_MS = 100

# Has this worker shown anything yet (a status line, the badge)? Start-up
# repair (glue.startup) must never overwrite what a new action has written.
_activity = {'seen': False}
# Which worker wrote a status: a fresh worker repairs only what a stopped one left.
# Start time and 52 random bits tell workers apart; not crypto.randomUUID(),
# whose first call in a fresh worker (setting up the crypto source) cost
# ~1.2 ms of every cold start, before the waking message could be answered.
WORKER_ID = Date.now().toString(36) + '-' + Math.random().toString(36).slice(2)
# Records of set_status_soon not yet written, oldest first.
_soon = soon.new_queue()


def note_activity():
    _activity['seen'] = True


def has_activity():
    return _activity['seen']


def _record(text, level):
    note_activity()
    record = status_obj(text, level, Date.now())
    record['worker'] = WORKER_ID
    return record


def _write(record):
    set_item(STATUS, record).catch(lambda e: console.error('[keypool] status write failed', str(e)))


def flush_status():
    """Write the records that set_status_soon holds, in order, one write each."""
    soon.flush(_soon, _write)


def set_status_soon(text, level):
    """A status written before the next set_status, within SOON_MS, or at flush_status().

    For the statuses of a key fetch whose answer is on its way: their
    writes (and the storage.onChanged events they bring back) then come
    after it. `at` is the time of this call.
    """
    soon.add(_soon, _record(text, level), _write, SOON_MS)


async def set_status(text, level):
    flush_status()
    await set_item(STATUS, _record(text, level))
