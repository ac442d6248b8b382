"""Reading and writing the chrome.storage items that core.contract declares.

An API key is only ever written to session (KEY_CACHE), never to local.
"""

from core.contract import KEY_CACHE, POOL_HEALTH, SESSION, SETTINGS
from jsonutil import canonicalJson


def _area(area):
    return chrome.storage.session if area == SESSION else chrome.storage.local


async def get_item(item):
    """The stored value of a core.contract StoreItem, or its fallback when absent."""
    got = await _area(item.area).js_get(item.key)
    value = got[item.key]
    if value == None:
        return item.fallback
    return value


async def get_items(items):
    """Several StoreItems of one area in one read: {key: value or its fallback}."""
    got = await _area(items[0].area).js_get([item.key for item in items])
    values = {}
    for item in items:
        value = got[item.key]
        values[item.key] = item.fallback if value == None else value
    return values


async def set_item(item, value):
    record = {}
    record[item.key] = value
    await _area(item.area).set(record)


async def remove_item(item):
    await _area(item.area).remove(item.key)


class Mirror:
    """One storage item, mirrored in the worker's memory.

    Reads hit memory while the mirror is valid; the first read after the
    worker starts, or after anyone else changed the item, goes to storage.
    chrome.storage.onChanged (forwarded by on_storage_changed) invalidates the
    mirror whenever the stored value is not the one this worker last wrote, so
    a settings change from the options page, or a cleared session, applies to
    the next request. A generation counter keeps a read that raced with a
    change from filling the mirror with the old value.

    Saves the storage round trips (about 1 ms each) on every key request:
    the difference between a key in ~1.3x a plain fetch and ~1.5x.
    """

    def __init__(self, item):
        self.item = item
        self.area = item.area
        self.key = item.key
        self.valid = False
        self.value = None
        self.json = 'null'
        self.generation = 0
        self.pending = None        # the storage read under way, shared by concurrent readers
        self.pending_generation = -1

    def invalidate(self):
        self.valid = False
        self.value = None
        self.generation = self.generation + 1

    def _remember(self, value):
        self.json = canonicalJson(value if value != None else None)
        self.value = JSON.parse(self.json)   # a private copy: nobody else can change it
        self.valid = True

    async def read(self):
        """The stored value (a copy that callers must not change), or None."""
        if self.valid:
            return self.value
        generation = self.generation
        if self.pending == None or self.pending_generation != generation:
            self.pending = get_item(self.item)
            self.pending_generation = generation
        value = await self.pending
        if generation == self.generation:
            self._remember(value)
            return self.value
        return value

    def prime(self, got):
        """Read from `got` (a pending storage.get of this item's area) unless already read."""
        if self.valid or self.pending != None:
            return self.read()
        self.pending = got.then(_reader(self.item))
        self.pending_generation = self.generation
        return self.read()

    async def write(self, value):
        self.generation = self.generation + 1
        self._remember(value)
        await set_item(self.item, value)

    async def remove(self):
        self.generation = self.generation + 1
        self._remember(None)
        await remove_item(self.item)

    def on_changed(self, changes, area):
        if area != self.area or self.key not in changes:
            return None
        new_value = changes[self.key].newValue
        if not self.valid or canonicalJson(new_value if new_value != None else None) != self.json:
            self.invalidate()
        return None


SETTINGS_ITEM = Mirror(SETTINGS)
POOL_HEALTH_ITEM = Mirror(POOL_HEALTH)
KEY_CACHE_ITEM = Mirror(KEY_CACHE)
MIRRORS = [SETTINGS_ITEM, POOL_HEALTH_ITEM, KEY_CACHE_ITEM]


_prefetched = {}   # key -> the promise of its value, read with the mirrors at start (one use)


def _value_of(got, item):
    value = got[item.key]
    return item.fallback if value == None else value


def _reader(item):
    return lambda got: _value_of(got, item)


def prefetch_mirrors(on_error, also):
    """Start reading every mirrored item now, without waiting (the worker's start).

    The storage reads then run while the worker is still starting, and the
    first request (a key, the popup's pool) finds them done or under way.
    One read per area (settings in local; the ledger, the cached key and the
    items in `also` in session): each read is a round trip to the browser,
    which the waking message would otherwise queue behind. The values of
    `also` are for take_prefetched, once.
    """
    items = [m.item for m in MIRRORS]
    items.extend(also)
    areas = {}
    for item in items:
        if item.area not in areas:
            areas[item.area] = []
        areas[item.area].append(item.key)
    reads = {}
    for area in Object.js_keys(areas):
        reads[area] = _area(area).js_get(areas[area])
    for mirror in MIRRORS:
        mirror.prime(reads[mirror.area]).catch(on_error)
    for item in also:
        _prefetched[item.key] = reads[item.area].then(_reader(item))


def take_prefetched(item):
    """The value of item as read at start (prefetch_mirrors), the first time; then a new read."""
    promise = _prefetched[item.key]
    if promise == None:
        return get_item(item)
    del _prefetched[item.key]
    return promise


def on_storage_changed(changes, area):
    """chrome.storage.onChanged listener (registered by background.py)."""
    for mirror in MIRRORS:
        mirror.on_changed(changes, area)
