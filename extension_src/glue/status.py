"""The status line people see: chrome.storage.session `status` (CONTRACT.md §4)."""

from core.status import status_obj
from glue.store import SESSION, STATUS, set_item


async def set_status(text, level):
    await set_item(SESSION, STATUS, status_obj(text, level, Date.now()))
