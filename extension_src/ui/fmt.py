"""Texts for people: durations, relative times, hosts, failure kinds.

Pure (no DOM, no clock): the caller passes now_ms. Works in CPython and in
Transcrypt alike (no format specs, no negative indexes).
"""
from core import urls, words

# The names the pages still use, bound to core.urls' functions (not copies).
# Assigned, not re-imported: a Transcrypt module does not export what it
# imports. Issue 9 rewrites the popup; new code imports core.urls directly.
host_of = urls.host_of
short_url = urls.without_scheme
origin_pattern = urls.host_pattern
plural = words.plural
span_text = words.span_text

# Failure kinds of core.outcome, as a short label for the popup.
KIND_LABELS = {
    'network': 'Network error',
    'timeout': 'Timed out',
    'http': 'HTTP error',
    'retry_after': 'Asked to wait',
    'invalid': 'Bad answer',
    'unhealthy': 'Unhealthy',
    'outpaced': 'Too slow',
}


def kind_label(kind):
    """'Refused', 'Timed out'...; 'Failed' for a kind this page does not know."""
    if kind != None and kind in KIND_LABELS:
        return KIND_LABELS[kind]
    return 'Failed'


def _tenths(ms, unit_ms):
    """ms in units of unit_ms, rounded to one decimal, without a trailing '.0'."""
    tenths = int((ms * 10 + unit_ms // 2) // unit_ms)
    whole = tenths // 10
    frac = tenths % 10
    if frac == 0:
        return str(whole)
    return str(whole) + '.' + str(frac)


def duration_text(ms):
    """A duration for people: '0 ms', '250 ms', '1.5 s', '5 min', '2 h', '1 d'."""
    if ms == None or ms < 0:
        return ''
    if ms < 1000:
        return str(int(ms)) + ' ms'
    if ms < 60000:
        return _tenths(ms, 1000) + ' s'
    if ms < 3600000:
        return _tenths(ms, 60000) + ' min'
    if ms < 86400000:
        return _tenths(ms, 3600000) + ' h'
    return _tenths(ms, 86400000) + ' d'


def ago_text(at_ms, now_ms):
    """'just now' or '42 s ago'; '' when at_ms is unknown."""
    if at_ms == None:
        return ''
    delta = now_ms - at_ms
    if delta < 1500:
        return 'just now'
    return span_text(delta) + ' ago'


def back_in_text(retry_at_ms, now_ms):
    """'back in 42 s', or 'due for a check' once the time has passed."""
    if retry_at_ms == None:
        return ''
    delta = retry_at_ms - now_ms
    if delta <= 0:
        return 'due for a check'
    return 'back in ' + span_text(delta)


def is_thumbnail_url(url):
    """May this URL be an <img src>? Only http(s) and data:image URLs."""
    if url == None:
        return False
    text = str(url).strip()
    return urls.is_http_url(text) or text.lower().startswith('data:image/')


def failure_text(kind, reason):
    """Why a server is out, for the pool list: 'Network error: ...', 'HTTP 503 ...'."""
    text = '' if reason == None else str(reason)
    if kind == 'network' and (len(text) == 0 or text.startswith('network error')):
        return 'Network error'   # refused, unreachable or reset: the browser does not say
    if (kind == 'http' or kind == 'retry_after') and len(text) > 0:
        return text  # 'HTTP 503 Service Unavailable, Retry-After 120 s' says it all
    label = kind_label(kind)
    if len(text) == 0:
        return label
    return label + ': ' + text
