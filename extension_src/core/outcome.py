"""What one answer from a key server means (CONTRACT.md §1).

Expected failures are values, not exceptions: every attempt ends in an
Outcome, and the pool and the failover loop decide from its kind.

A server's body is untrusted: each reader starts with a prototype-free copy
(core.compat.json_copy) and looks into it with core.compat.field only, and
the module is compiled without keyword arguments, so no field name of a
server's JSON can change what the code does (../shared/TRANSCRYPT.md §8).
Texts are masked before they are cut (core.redact.clean_text).
"""

from core.compat import field, is_object, is_str, json_copy, text_or_kind
from core.redact import clean_text, redact
from core.retry_after import retry_after_ms

OK = 'ok'
TIMEOUT = 'timeout'          # our AbortSignal timed out: the server may be hanging
NETWORK_ERROR = 'network'    # fetch() threw: refused, reset, DNS, TLS, no route (the browser
                             # says only "Failed to fetch", so Keypool cannot tell which)
NETWORK_ERROR_REASON = 'network error (refused, unreachable or reset)'
HTTP = 'http'                # non-2xx status
RETRY_AFTER = 'retry_after'  # 429 / 503 with a usable Retry-After: cool down exactly that long
INVALID = 'invalid'          # 2xx with a body that is not the contract's JSON
UNHEALTHY = 'unhealthy'      # a health check said so
OUTPACED = 'outpaced'        # a hedge answered first while this server stayed silent
ABORTED = 'aborted'          # we cancelled it (user action over): not the server's fault
REJECTED = 'rejected'        # donation: the server's verdict on the key (4xx); not a failure
OFFLINE = 'offline'          # the browser is offline: nobody's fault but the network's
POOL_EMPTY = 'pool_empty'    # key route: the shared pool has no key left (KEYSERVERS.md)
BLOCKED = 'blocked'          # the browser blocked the request (CORS, no host permission):
                             # the server is up, Keypool may not reach it; not its fault

# What the deployed servers say when the shared pool has no usable key left.
POOL_EMPTY_MARKERS = ['no active api keys', 'api keys have been deactivated']
BLOCKED_REASON = 'Keypool may not reach this server: allow it in Options'

# Set by glue.net for answers it does not read (never a JS error's name).
REDIRECT_ERROR = 'RedirectError'
TOO_LARGE_ERROR = 'TooLargeError'

SERVER_TEXT_MAX_CHARS = 300
MAX_KEY_CHARS = 512     # the same bound as a donated key (core.donation)

REASON_PHRASES = {
    '400': 'Bad Request', '401': 'Unauthorized', '403': 'Forbidden', '404': 'Not Found',
    '405': 'Method Not Allowed', '408': 'Request Timeout', '409': 'Conflict',
    '410': 'Gone', '413': 'Content Too Large', '415': 'Unsupported Media Type',
    '422': 'Unprocessable Content', '429': 'Too Many Requests',
    '500': 'Internal Server Error', '501': 'Not Implemented', '502': 'Bad Gateway',
    '503': 'Service Unavailable', '504': 'Gateway Timeout',
}


# Readers get foreign bodies; nothing here takes keyword arguments.
# __pragma__ ('nokwargs')


class Outcome:
    """The result of one attempt: kind, a reason for logs and people, and data.

    retry_after_ms is set only for RETRY_AFTER; key only for a good key answer.
    """

    def __init__(self, kind, reason, status=0, key=None, retry_after_ms=None):
        self.kind = kind
        self.reason = reason
        self.status = status
        self.key = key
        self.retry_after_ms = retry_after_ms

    def is_ok(self):
        return self.kind == OK

    def counts_against_server(self):
        """Does this outcome say the server is unwell? (ABORTED, OFFLINE, REJECTED do not.)"""
        return self.kind != OK and self.kind != ABORTED and self.kind != OFFLINE \
            and self.kind != REJECTED and self.kind != BLOCKED

    def __repr__(self):
        return 'Outcome(' + self.kind + ', ' + self.reason + ')'


def http_reason(status):
    """'HTTP 503 Service Unavailable'."""
    phrase = REASON_PHRASES[str(status)] if str(status) in REASON_PHRASES else ''
    text = 'HTTP ' + str(status)
    return text + ' ' + phrase if len(phrase) > 0 else text


def blocked_outcome():
    """A request the browser refused to send or to read (CORS), to a server that is up."""
    return Outcome(BLOCKED, BLOCKED_REASON)


def error_outcome(error_name, timeout_ms):
    """The Outcome of a fetch() that threw, from the JS error's name.

    TimeoutError: our own deadline; AbortError: cancelled by us (a lost hedge or
    the end of the user action); RedirectError / TooLargeError (glue.net): an
    unusable answer; anything else (TypeError 'Failed to fetch'): a network
    error of any kind (refused, reset, DNS, TLS), which the browser does not name.
    """
    if error_name == 'TimeoutError':
        return Outcome(TIMEOUT, 'timeout after ' + str(timeout_ms) + ' ms')
    if error_name == 'AbortError':
        return Outcome(ABORTED, 'cancelled')
    if error_name == REDIRECT_ERROR:
        return Outcome(INVALID, 'answered with a redirect, which Keypool does not follow')
    if error_name == TOO_LARGE_ERROR:
        return Outcome(INVALID, 'answer too large')
    return Outcome(NETWORK_ERROR, NETWORK_ERROR_REASON)


def _server_error_text(body):
    """The error/details text of a server's JSON body (a json_copy), cleaned, or ''."""
    parts = []
    for name in ['error', 'message', 'details']:
        value = field(body, name)
        if is_str(value) and len(value.strip()) > 0:
            parts.append(clean_text(value, SERVER_TEXT_MAX_CHARS))
        if len(parts) == 2:
            break
    return ': '.join(parts)


def _status_failure(status, body, retry_after_header, now_ms):
    """The Outcome for a non-2xx answer (with Retry-After honoured on 429/503)."""
    reason = http_reason(status)
    if status == 429 or status == 503:
        hint_ms = retry_after_ms(retry_after_header, now_ms)
        if hint_ms != None:
            return Outcome(RETRY_AFTER, reason + ', Retry-After ' + str(int(hint_ms / 1000)) + ' s',
                           status, None, hint_ms)
    detail = _server_error_text(body)
    if len(detail) > 0:
        reason = reason + ' (' + detail + ')'
    return Outcome(HTTP, reason, status, None, None)


def key_problem(key):
    """Why a key from a server is unusable, or None if it is a plausible key.

    A key travels in an HTTP header: printable ASCII only (no space, no
    control or non-ASCII character, which make fetch() reject the header and
    would blame the provider), and at most MAX_KEY_CHARS characters.
    """
    if len(key) > MAX_KEY_CHARS:
        return 'API key is too long (' + str(len(key)) + ' characters)'
    for ch in key:
        code = ord(ch)
        if code < 33 or code > 126:
            return 'API key has a character that is not printable ASCII'
    return None


def says_pool_empty(body):
    """Does a key route's error body say that the shared pool has no key left?"""
    error = field(body, 'error')
    if not is_str(error):
        return False
    lowered = error.lower()
    for marker in POOL_EMPTY_MARKERS:
        if lowered.find(marker) >= 0:
            return True
    return False


def key_outcome(status, is_json, body, retry_after_header, now_ms):
    """Classify a key answer: OK with the key, or why not.

    body is the parsed JSON value when is_json, else ignored. Accepts
    `geminiApiKey` (the deployed servers) or `apiKey` (other servers), if it
    is a plausible key (key_problem); anything else is an unusable answer.
    """
    body = json_copy(body, 0)
    if status < 200 or status > 299:
        failure = _status_failure(status, body if is_json else None, retry_after_header, now_ms)
        if failure.kind == HTTP and is_json and says_pool_empty(body):
            failure.kind = POOL_EMPTY
        return failure
    if not is_json:
        return Outcome(INVALID, 'invalid JSON', status)
    if not is_object(body):
        return Outcome(INVALID, 'answer is not a JSON object', status)
    key = field(body, 'geminiApiKey')
    if key == None:
        key = field(body, 'apiKey')
    if key == None:
        return Outcome(INVALID, 'no API key in the answer', status)
    if not is_str(key):
        return Outcome(INVALID, 'API key is not a string', status)
    key = key.strip()
    if len(key) == 0:
        return Outcome(INVALID, 'empty API key', status)
    problem = key_problem(key)
    if problem != None:
        return Outcome(INVALID, problem, status)
    return Outcome(OK, 'ok', status, key)


def health_outcome(status, is_json, body, retry_after_header, now_ms):
    """Classify a health answer: 2xx and, where the JSON has one, status healthy/ok."""
    body = json_copy(body, 0)
    if status < 200 or status > 299:
        return _status_failure(status, body if is_json else None, retry_after_header, now_ms)
    reported = field(body, 'status') if is_json else None
    if reported == None:
        return Outcome(OK, 'healthy', status)
    if is_str(reported) and (reported.lower() == 'healthy' or reported.lower() == 'ok'):
        return Outcome(OK, 'healthy', status)
    return Outcome(UNHEALTHY, 'reports status ' + clean_text(text_or_kind(reported), 40), status)


def donate_outcome(status, is_json, body, retry_after_header, now_ms, secret=None):
    """Classify a donation answer; secret (the donated key) is masked in every text.

    2xx: OK (reason = the server's message). 4xx other than 408/429: REJECTED,
    the server's verdict on the key, shown to the person, no failover.
    5xx, 408, 429, non-JSON: a server failure, try the next server.
    """
    body = json_copy(body, 0)
    if status >= 200 and status <= 299:
        if not is_json:
            return Outcome(INVALID, 'invalid JSON', status)
        message = clean_text(redact(field(body, 'message'), secret), SERVER_TEXT_MAX_CHARS)
        return Outcome(OK, message if len(message) > 0 else 'API key added', status)
    if status >= 400 and status <= 499 and status != 408 and status != 429:
        error = clean_text(redact(field(body, 'error') if is_json else '', secret),
                           SERVER_TEXT_MAX_CHARS)
        details = clean_text(redact(field(body, 'details') if is_json else '', secret),
                             SERVER_TEXT_MAX_CHARS)
        text = error if len(error) > 0 else http_reason(status)
        if len(details) > 0:
            text = text + ': ' + details
        return Outcome(REJECTED, text, status, None, None)
    return _status_failure(status, body if is_json else None, retry_after_header, now_ms)
# __pragma__ ('kwargs')
