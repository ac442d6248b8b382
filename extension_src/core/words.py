"""Words that follow a count or a span, for the texts people read (status lines, errors)."""


def plural(n, one, many):
    """'1 server', '3 servers': n and the word that fits it (English: only 1 is singular)."""
    return str(n) + ' ' + (one if n == 1 else many)


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
