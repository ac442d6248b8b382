"""Every chrome.storage key and every message type, declared once (CONTRACT.md §3, §4).

Pages, the worker and the glue import these names instead of writing the
strings: a typo is then an import error, not a listener that never fires.
Pure data, importable by CPython and Transcrypt (no chrome.*).

Named `contract`, not `keys`: Transcrypt renames the identifier `keys`.
"""

SESSION = 'session'   # in memory: survives the service worker, not a browser restart
LOCAL = 'local'       # on disk


class StoreItem:
    """One chrome.storage item: its area, its key and the value read when it is absent.

    fallback=None means "absent reads as None". An API key is only ever
    stored in a SESSION item, never in LOCAL.
    """

    def __init__(self, area, key, fallback):
        self.area = area
        self.key = key
        self.fallback = fallback

    def __repr__(self):
        return 'StoreItem(' + self.area + ', ' + self.key + ')'


# session
STATUS = StoreItem(SESSION, 'status', None)              # {text, level, at}: the status line
LAST_ANALYSIS = StoreItem(SESSION, 'lastAnalysis', None)  # {imageUrl, text|error, server?, at}
POOL_HEALTH = StoreItem(SESSION, 'poolHealth', None)      # the failover ledger (core.pool)
KEY_CACHE = StoreItem(SESSION, 'keyCache', None)          # the cached key: session only
HISTORY = StoreItem(SESSION, 'history', [])               # the latest analyses, newest last
CONSENTED_TABS = StoreItem(SESSION, 'consentedTabs', [])  # tabs whose screenshots may be sent
ASKED_TABS = StoreItem(SESSION, 'consentAskedTabs', [])  # tabs asked for that consent once
# local
SETTINGS = StoreItem(LOCAL, 'settings', None)             # CONTRACT.md §3
TEST_CONFIG = StoreItem(LOCAL, 'testConfig', None)        # e2e only: {offline}

STORE_ITEMS = [STATUS, LAST_ANALYSIS, POOL_HEALTH, KEY_CACHE, HISTORY, CONSENTED_TABS,
               ASKED_TABS, SETTINGS, TEST_CONFIG]

# Message types of chrome.runtime.sendMessage({type: ...}) to the worker.
MSG_GET_API_KEY = 'getApiKey'         # CONTRACT.md §4
MSG_DONATE_KEY = 'donateKey'          # CONTRACT.md §4
MSG_ANALYZE_IMAGE = 'analyzeImage'    # CONTRACT.md §4
MSG_ANALYZE_TAB = 'analyzeTab'        # CONTRACT.md §4
MSG_GET_POOL_STATUS = 'getPoolStatus'  # CONTRACT.md §4
MSG_RETRY_SERVER = 'retryServer'      # addition: the popup's "retry now" on a failed server
MSG_GET_SETTINGS = 'getSettings'      # addition: the options page's effective settings and warnings
MSG_CHECK_SERVERS = 'checkServers'    # addition: the popup's and set-up page's /health check

MESSAGE_TYPES = [MSG_GET_API_KEY, MSG_DONATE_KEY, MSG_ANALYZE_IMAGE, MSG_ANALYZE_TAB,
                 MSG_GET_POOL_STATUS, MSG_RETRY_SERVER, MSG_GET_SETTINGS, MSG_CHECK_SERVERS]
