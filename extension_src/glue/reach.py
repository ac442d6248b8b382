"""Was a failed request refused by the server, or blocked by the browser?

fetch() throws the same TypeError for a refused connection and for a CORS
failure (a preflight that refuses a header, an answer with no
Access-Control-Allow-Origin). On an origin Keypool holds a host permission
for, CORS does not apply, so the error is the network's. On any other origin,
a `no-cors` GET tells the two apart: the browser sends it without a
preflight and resolves it (opaquely) whenever the server answers at all.
"""

from core.urls import host_pattern
from glue import log


async def is_granted(url):
    """Does Keypool hold a host permission covering url?"""
    try:
        return await chrome.permissions.contains({'origins': [host_pattern(url)]})
    except Exception as e:
        log.error('permissions.contains failed for ' + url, e)
        return False


async def answers_without_cors(url, timeout_ms):
    """Does anything answer at url when CORS is out of the picture? (never throws)"""
    # no-cors requires redirect 'follow' (Fetch spec); the opaque answer is never read.
    init = {'method': 'GET', 'mode': 'no-cors', 'cache': 'no-store', 'credentials': 'omit',
            'signal': AbortSignal.timeout(timeout_ms)}
    try:
        await fetch(url, init)
        return True
    except Exception:
        return False


async def is_blocked(base_url, probe_path, timeout_ms):
    """After a network error on base_url: was it the browser (CORS) rather than the server?"""
    if await is_granted(base_url):
        return False
    return await answers_without_cors(base_url + probe_path, timeout_ms)
