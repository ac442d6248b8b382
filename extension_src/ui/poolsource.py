"""The pool as the pages see it: storage, not a round trip (issue 13).

Reads chrome.storage.local `settings` and chrome.storage.session `poolHealth`
once, then follows chrome.storage.onChanged; the rows are computed here with
core.pool (the worker's own code) and core.poolview, instead of asking the
worker for getPoolStatus on every change and once a second.
"""

import build_config
from core.contract import POOL_HEALTH, SETTINGS
from core.pool import Pool
from core.poolview import checked_from, with_checks
from core.settings import resolve_settings
from glue.store import get_item


class PoolSource:
    """Holds the latest settings and ledger; on_change() after each change."""

    def __init__(self, on_change):
        self.on_change = on_change
        self.servers = []
        self.ledger = None
        self.settings = None
        self.loaded = False

    def rows(self, now_ms):
        """getPoolStatus rows (CONTRACT.md §4), with checkedAt, at now_ms."""
        pool = Pool(self.servers, self.ledger)
        return with_checks(pool.status_rows(now_ms), checked_from(self.ledger, self.servers))

    def _set_settings(self, stored):
        self.settings = resolve_settings(build_config.DEFAULTS, stored)[0]
        self.servers = self.settings['servers']

    async def load(self):
        both = await Promise.all([get_item(SETTINGS), get_item(POOL_HEALTH)])
        self._set_settings(both[0])
        self.ledger = both[1]
        self.loaded = True
        self.on_change()
        return None

    def on_storage_changed(self, changes, area):
        """Part of the page's chrome.storage.onChanged listener; True if it changed the pool."""
        if not self.loaded:
            return False
        if area == POOL_HEALTH.area and POOL_HEALTH.key in changes:
            value = changes[POOL_HEALTH.key].newValue
            self.ledger = value if value != None else None
        elif area == SETTINGS.area and SETTINGS.key in changes:
            value = changes[SETTINGS.key].newValue
            self._set_settings(value if value != None else None)
        else:
            return False
        self.on_change()
        return True
