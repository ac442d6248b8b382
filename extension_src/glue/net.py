"""fetch() with a timeout and a cancel signal, answering plain data, never throwing.

AbortSignal.timeout gives a TimeoutError, an abort of the caller's signal an
AbortError, a refused connection a TypeError: the three are told apart by
core.outcome.error_outcome.
"""


async def request(url, method, headers, body_text, timeout_ms, cancel_signal):
    """{status, isJson, body, retryAfter, errorName, latencyMs} of one HTTP exchange.

    status is 0 when fetch threw (errorName says why). The body is read under
    the same signals, so a server that sends headers and then stalls times out.
    """
    started_ms = Date.now()
    signals = [AbortSignal.timeout(timeout_ms)]
    if cancel_signal != None:  # noqa: E711
        signals.append(cancel_signal)
    init = {'method': method, 'signal': AbortSignal.any(signals), 'cache': 'no-store',
            'credentials': 'omit'}
    if headers != None:  # noqa: E711
        init['headers'] = headers          # a list of [name, value] pairs: safe for fetch
    if body_text != None:  # noqa: E711
        init['body'] = body_text
    result = {'status': 0, 'isJson': False, 'body': None, 'retryAfter': None,
              'errorName': None, 'latencyMs': 0}
    try:
        resp = await fetch(url, init)
        result['status'] = resp.status
        result['retryAfter'] = resp.headers.js_get('retry-after')
        text = await resp.text()
        try:
            result['body'] = JSON.parse(text)
            result['isJson'] = True
        except Exception:
            result['isJson'] = False
    except Exception as e:
        result['status'] = 0
        result['errorName'] = e.js_name if e.js_name != None else 'Error'  # noqa: E711
        if result['errorName'] == 'cls':   # a Python exception: never from fetch itself
            result['errorName'] = 'Error'
    result['latencyMs'] = Date.now() - started_ms
    return result


def sleep(ms):
    return __new__(Promise(lambda resolve: setTimeout(resolve, ms)))


def timer(ms, value):
    """A promise that resolves to value after ms."""
    return __new__(Promise(lambda resolve: setTimeout(lambda: resolve(value), ms)))
