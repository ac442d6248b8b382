"""fetch() with a timeout and a cancel signal, answering plain data, never throwing.

AbortSignal.timeout gives a TimeoutError, an abort of the caller's signal an
AbortError, a refused connection a TypeError: the three are told apart by
core.outcome.error_outcome.

Redirects are never followed. Every request made here carries or fetches a
key (the key, donate and provider calls; health shares the same path), and
Chrome follows a redirect to another origin with custom headers such as
x-goog-api-key and with a 307/308's body (the donated key) intact. A
same-origin redirect is not followed either: with redirect 'manual' fetch
answers an opaque response that hides the Location, so a same-origin target
cannot be told from a foreign one without following it. A redirect is an
unusable answer from that server (errorName REDIRECT_ERROR): the key fetch
fails over, a donation moves on to the next server and is never a success,
and the provider call fails with a sentence that says so.

Bodies are read as a stream and given up past MAX_ANSWER_BYTES, and a JSON
body comes back as a prototype-free copy (core.compat.json_copy).
"""

from core.compat import json_copy
from core.outcome import REDIRECT_ERROR, TOO_LARGE_ERROR
MAX_ANSWER_BYTES = 1024 * 1024   # a key, health, donate or provider answer is a few KB


def monotonic_ms():
    """A clock for deadlines and latencies that a wall-clock jump (sleep, NTP) cannot move."""
    return performance.now()


async def read_capped(resp, max_bytes):
    """The body of resp as a Uint8Array, or None once more than max_bytes arrived.

    Reads the stream and cancels it at the cap: a 700 MB answer costs
    max_bytes, not 700 MB. A Content-Length over the cap is refused unread.
    """
    if resp.body == None:
        return __new__(Uint8Array(0))
    declared = resp.headers.js_get('content-length')
    if declared != None and Number(declared) > max_bytes:
        await resp.body.cancel()
        return None
    reader = resp.body.getReader()
    chunks = []
    total = 0
    while True:
        step = await reader.read()
        if step.done:
            break
        total += step.value.length
        if total > max_bytes:
            await reader.cancel()
            return None
        chunks.append(step.value)
    out = __new__(Uint8Array(total))
    offset = 0
    for chunk in chunks:
        out.set(chunk, offset)
        offset += chunk.length
    return out


async def request(url, method, headers, body_text, timeout_ms, cancel_signal):
    """{status, isJson, body, retryAfter, errorName, latencyMs} of one HTTP exchange.

    status is 0 when fetch threw (errorName says why) or when the server
    redirected (errorName REDIRECT_ERROR) or sent more than MAX_ANSWER_BYTES
    (TOO_LARGE_ERROR). The body is read under the same signals, so a server
    that sends headers and then stalls times out.
    """
    started_ms = monotonic_ms()
    signals = [AbortSignal.timeout(timeout_ms)]
    if cancel_signal != None:
        signals.append(cancel_signal)
    init = {'method': method, 'signal': AbortSignal.any(signals), 'cache': 'no-store',
            'credentials': 'omit', 'redirect': 'manual'}
    if headers != None:
        init['headers'] = headers          # a list of [name, value] pairs: safe for fetch
    if body_text != None:
        init['body'] = body_text
    result = {'status': 0, 'isJson': False, 'body': None, 'retryAfter': None,
              'errorName': None, 'latencyMs': 0}
    try:
        resp = await fetch(url, init)
        if resp['type'] == 'opaqueredirect' or (resp.status >= 300 and resp.status <= 399):
            result['errorName'] = REDIRECT_ERROR
        else:
            result['status'] = resp.status
            result['retryAfter'] = resp.headers.js_get('retry-after')
            data = await read_capped(resp, MAX_ANSWER_BYTES)
            if data == None:
                result['status'] = 0
                result['errorName'] = TOO_LARGE_ERROR
            else:
                text = __new__(TextDecoder()).decode(data)
                try:
                    result['body'] = json_copy(JSON.parse(text), 0)
                    result['isJson'] = True
                except Exception:
                    result['isJson'] = False
    except Exception as e:
        result['status'] = 0
        result['errorName'] = e.js_name if e.js_name != None else 'Error'
        if result['errorName'] == 'cls':   # a Python exception: never from fetch itself
            result['errorName'] = 'Error'
    result['latencyMs'] = Math.round(monotonic_ms() - started_ms)
    return result


def sleep(ms):
    return __new__(Promise(lambda resolve: setTimeout(resolve, ms)))


def timer(ms, value):
    """A promise that resolves to value after ms."""
    return __new__(Promise(lambda resolve: setTimeout(lambda: resolve(value), ms)))
