"""Parse a Retry-After header (RFC 9110 §10.2.3): delay-seconds or an HTTP date."""

from core.compat import is_str

MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']


def _digits(s):
    if len(s) == 0:
        return False
    for ch in s:
        if ch < '0' or ch > '9':
            return False
    return True


def _month_number(abbrev):
    for i in range(len(MONTHS)):
        if MONTHS[i] == abbrev:
            return i + 1
    return 0


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - 1 if month <= 2 else year
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_http_date_ms(text):
    """Epoch ms of an HTTP date, or None.

    Accepts the IMF-fixdate 'Sun, 06 Nov 1994 08:49:37 GMT', the obsolete
    RFC 850 'Sunday, 06-Nov-94 08:49:37 GMT' and asctime
    'Sun Nov  6 08:49:37 1994' forms, as RFC 9110 requires of recipients.
    """
    if not is_str(text):
        return None
    parts = [p for p in text.replace(',', ' ').replace('-', ' ').strip().split(' ') if len(p) > 0]
    if len(parts) == 6 and parts[5].upper() == 'GMT':
        day_s, month_s, year_s, time_s = parts[1], parts[2], parts[3], parts[4]
    elif len(parts) == 5:  # asctime: Sun Nov 6 08:49:37 1994
        month_s, day_s, time_s, year_s = parts[1], parts[2], parts[3], parts[4]
    else:
        return None
    month_key = month_s.lower()
    if month_key not in MONTHS or not _digits(day_s) or not _digits(year_s):
        return None
    hms = time_s.split(':')
    if len(hms) != 3 or not _digits(hms[0]) or not _digits(hms[1]) or not _digits(hms[2]):
        return None
    year = int(year_s)
    if len(year_s) == 2:  # RFC 850: a two-digit year within 50 years
        year = year + 2000 if year < 70 else year + 1900
    day = int(day_s)
    hour, minute, second = int(hms[0]), int(hms[1]), int(hms[2])
    if day < 1 or day > 31 or hour > 23 or minute > 59 or second > 60:
        return None
    days = days_from_civil(year, _month_number(month_key), day)
    return ((days * 24 + hour) * 60 + minute) * 60000 + second * 1000


def retry_after_ms(value, now_ms):
    """How long (ms, >= 0) a Retry-After value asks us to wait, or None if unusable.

    '120' -> 120000. A date in the past -> 0. Garbage, a negative or fractional
    number -> None (the caller falls back to its own ejection time).
    """
    if not is_str(value):
        return None
    text = value.strip()
    if _digits(text):
        return int(text) * 1000
    at_ms = parse_http_date_ms(text)
    if at_ms == None:
        return None
    return max(0, at_ms - now_ms)
