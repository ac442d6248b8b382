"""Texts for people: durations, relative times, hosts, failure kinds.

Pure (no DOM, no clock): the caller passes now_ms. Works in CPython and in
Transcrypt alike (no format specs, no negative indexes).
"""

# Failure kinds of core.outcome, as a short label for the popup.
KIND_LABELS = {
    'refused': 'Refused',
    'timeout': 'Timed out',
    'http': 'HTTP error',
    'retry_after': 'Asked to wait',
    'invalid': 'Bad answer',
    'unhealthy': 'Unhealthy',
    'outpaced': 'Too slow',
}


def kind_label(kind):
    """'Refused', 'Timed out'...; 'Failed' for a kind this page does not know."""
    if kind != None and kind in KIND_LABELS:  # noqa: E711
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
    if ms == None or ms < 0:  # noqa: E711
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


def span_text(ms):
    """A span rounded to its nearest unit: '42 s', '2 min' (for 117 s), '2 h', '1 d'; never below 1 s.

    Rounded, not cut: "back in 1 min" for 117 s would be wrong by almost a minute.
    """
    seconds = int((ms + 500) // 1000)
    if seconds < 1:
        seconds = 1
    if seconds < 60:
        return str(seconds) + ' s'
    minutes = int((seconds + 30) // 60)
    if minutes < 60:
        return str(minutes) + ' min'
    hours = int((minutes + 30) // 60)
    if hours < 24:
        return str(hours) + ' h'
    return str(int((hours + 12) // 24)) + ' d'


def ago_text(at_ms, now_ms):
    """'just now' or '42 s ago'; '' when at_ms is unknown."""
    if at_ms == None:  # noqa: E711
        return ''
    delta = now_ms - at_ms
    if delta < 1500:
        return 'just now'
    return span_text(delta) + ' ago'


def back_in_text(retry_at_ms, now_ms):
    """'back in 42 s', or 'due for a check' once the time has passed."""
    if retry_at_ms == None:  # noqa: E711
        return ''
    delta = retry_at_ms - now_ms
    if delta <= 0:
        return 'due for a check'
    return 'back in ' + span_text(delta)


def host_of(url):
    """'localhost:3001' for 'http://localhost:3001/api'; the text itself if it is no URL."""
    if url == None:  # noqa: E711
        return ''
    text = str(url)
    lower = text.lower()
    if lower.startswith('http://'):
        rest = text[7:]
    elif lower.startswith('https://'):
        rest = text[8:]
    else:
        return text
    return rest.split('/')[0]


def short_url(url):
    """A server URL without its scheme: 'localhost:3001/api'."""
    if url == None:  # noqa: E711
        return ''
    text = str(url)
    lower = text.lower()
    if lower.startswith('http://'):
        return text[7:]
    if lower.startswith('https://'):
        return text[8:]
    return text


def origin_pattern(url):
    """'https://host:port/*' (a host permission pattern) for an http(s) URL, else None."""
    if url == None:  # noqa: E711
        return None
    text = str(url).strip()
    lower = text.lower()
    if lower.startswith('http://'):
        scheme = 'http://'
    elif lower.startswith('https://'):
        scheme = 'https://'
    else:
        return None
    host = text[len(scheme):].split('/')[0].split('?')[0].split('#')[0]
    if '@' in host:
        host = host.split('@')[len(host.split('@')) - 1]
    if len(host) == 0:
        return None
    return scheme + host.lower() + '/*'


def is_thumbnail_url(url):
    """May this URL be an <img src>? Only http(s) and data:image URLs."""
    if url == None:  # noqa: E711
        return False
    lower = str(url).strip().lower()
    return lower.startswith('http://') or lower.startswith('https://') \
        or lower.startswith('data:image/')


def plural(n, one, many):
    """'1 server', '3 servers'."""
    return str(n) + ' ' + (one if n == 1 else many)


def failure_text(kind, reason):
    """Why a server is out, for the pool list: 'Connection refused', 'HTTP 503 ...'."""
    text = '' if reason == None else str(reason)  # noqa: E711
    if kind == 'refused' and (len(text) == 0 or text.lower() == 'connection refused'):
        return 'Connection refused'
    if (kind == 'http' or kind == 'retry_after') and len(text) > 0:
        return text  # 'HTTP 503 Service Unavailable, Retry-After 120 s' says it all
    label = kind_label(kind)
    if len(text) == 0:
        return label
    return label + ': ' + text
