"""The status line people see: chrome.storage.session `status` (CONTRACT.md §4)."""

from core.status import status_obj
from glue.store import SESSION, STATUS, set_item

# Has this worker shown anything yet (a status line, the badge)? Start-up
# repair (glue.startup) must never overwrite what a new action has written.
_activity = {'seen': False}


def note_activity():
    _activity['seen'] = True


def has_activity():
    return _activity['seen']


async def set_status(text, level):
    note_activity()
    await set_item(SESSION, STATUS, status_obj(text, level, Date.now()))
