"""The status line people see: chrome.storage.session `status` (CONTRACT.md §4)."""

from core.status import status_obj
from core.contract import STATUS
from glue.store import set_item

# Has this worker shown anything yet (a status line, the badge)? Start-up
# repair (glue.startup) must never overwrite what a new action has written.
_activity = {'seen': False}
# Which worker wrote a status: a fresh worker repairs only what a stopped one left.
# Start time and 52 random bits tell workers apart; not crypto.randomUUID(),
# whose first call in a fresh worker (setting up the crypto source) cost
# ~1.2 ms of every cold start, before the waking message could be answered.
WORKER_ID = Date.now().toString(36) + '-' + Math.random().toString(36).slice(2)


def note_activity():
    _activity['seen'] = True


def has_activity():
    return _activity['seen']


async def set_status(text, level):
    note_activity()
    record = status_obj(text, level, Date.now())
    record['worker'] = WORKER_ID
    await set_item(STATUS, record)
