"""chrome.storage items, each declared once (CONTRACT.md §4).

session (in memory, survives the service worker, not a browser restart):
  status, lastAnalysis, poolHealth, keyCache
local (on disk): settings, testConfig
An API key is only ever written to session (keyCache), never to local.
"""

SESSION = 'session'
LOCAL = 'local'

STATUS = 'status'
LAST_ANALYSIS = 'lastAnalysis'
POOL_HEALTH = 'poolHealth'
KEY_CACHE = 'keyCache'
SETTINGS = 'settings'
TEST_CONFIG = 'testConfig'


def _area(area):
    return chrome.storage.session if area == SESSION else chrome.storage.local


async def get_item(area, key, fallback):
    """The stored value, or fallback when absent."""
    got = await _area(area).js_get(key)
    value = got[key]
    if value == None:  # noqa: E711
        return fallback
    return value


async def set_item(area, key, value):
    item = {}
    item[key] = value
    await _area(area).set(item)


async def remove_item(area, key):
    await _area(area).remove(key)
