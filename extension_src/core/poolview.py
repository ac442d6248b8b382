"""What people are told about the pool: each server's row, the status line, the badge.

Pure (no DOM, no clock): rows are core.pool.Pool.status_rows() (CONTRACT.md
§4 getPoolStatus rows), with `checkedAt` added where known (glue.ledger keeps
the time of each server's last answer next to the ledger). Shared by the
popup, the set-up page and the worker's badge, so all three say the same.

"available" in the ledger only means "never failed". A server is shown as
available only when it answered recently; a server never contacted, or not
for STALE_MS, is "not checked yet" (issue 9: a fresh install with no server
running showed five green "Available" rows).
"""

from core.compat import field, is_number

STALE_MS = 600000          # 10 min: older than this, an answer no longer vouches for a server
IN_PROGRESS_MS = 60000     # an info status older than this is a leftover, not work under way

VIEW_AVAILABLE = 'available'
VIEW_UNCHECKED = 'unchecked'
VIEW_PROBATION = 'probation'
VIEW_FAILED = 'failed'

LEVEL_INFO = 'info'
LEVEL_SUCCESS = 'success'
LEVEL_WARNING = 'warning'  # display only: stored statuses keep CONTRACT.md's three levels
LEVEL_ERROR = 'error'

READY_TEXT = 'Ready.'
CHECKING_TEXT = 'Checking the key servers…'
NO_SERVER_TEXT = 'No key server answered.'
NO_SERVER_TITLE = 'Keypool: no key server answered. Click to set up servers.'


# Nothing here takes keyword arguments: no kwargs support (smaller code in the worker).
# __pragma__ ('nokwargs')

def is_true(value):
    return value == True   # a JS value may be undefined


def has_failed(row):
    """Did this server fail, with nothing since showing it recovered?"""
    return row['state'] == VIEW_FAILED or is_true(field(row, 'probation'))


def row_view(row, now_ms, stale_ms):
    """VIEW_FAILED, VIEW_PROBATION, VIEW_UNCHECKED or VIEW_AVAILABLE for one row."""
    if row['state'] == VIEW_FAILED:
        return VIEW_FAILED
    if is_true(field(row, 'probation')):
        return VIEW_PROBATION
    checked_at = field(row, 'checkedAt')
    if checked_at == None or now_ms - checked_at > stale_ms or now_ms < checked_at:
        return VIEW_UNCHECKED
    return VIEW_AVAILABLE


CHECKED_AT = 'checkedAt'   # the ledger's {url: epoch ms of the last answer} (glue.ledger)


def checked_from(ledger, servers):
    """{url: ms} of the configured servers' last answers in a stored ledger."""
    stored = field(ledger, CHECKED_AT)
    checked = {}
    for url in servers:
        at = field(stored, url)
        if is_number(at):
            checked[url] = at
    return checked


def with_checks(rows, checked):
    """rows, each given `checkedAt` from checked ({url: epoch ms}, or None) where known."""
    for row in rows:
        at = field(checked, row['url'])
        if at != None:
            row['checkedAt'] = at
    return rows


def out_count(rows):
    return len([r for r in rows if has_failed(r)])


def is_unreachable(rows):
    """No server can be used: every one has failed, and none has shown it recovered."""
    return len(rows) > 0 and out_count(rows) == len(rows)


def stale_urls(rows, now_ms, stale_ms):
    """The servers to check now (never contacted, or not recently), in order."""
    return [r['url'] for r in rows if row_view(r, now_ms, stale_ms) == VIEW_UNCHECKED]


def out_text(out, total):
    """'1 of 5 key servers is out', '3 of 5 key servers are out'."""
    verb = ' is out' if out == 1 else ' are out'
    return str(out) + ' of ' + str(total) + (' key server' if total == 1 else ' key servers') + verb


def status_line(status, rows, now_ms):
    """{text, level, noServer} of the popup's status line.

    Work under way (a recent info status) is shown as it is. Otherwise the
    pool's state comes first: with no server left, one message that the
    popup makes actionable; with some out, how many (issue 9: "Ready." was
    shown while 3 of 5 were out), after the latest success if there is one.
    """
    total = len(rows)
    out = out_count(rows)
    level = field(status, 'level')
    at = field(status, 'at')
    if level == LEVEL_INFO and at != None and 0 <= now_ms - at < IN_PROGRESS_MS:
        return {'text': status['text'], 'level': LEVEL_INFO, 'noServer': False}
    if is_unreachable(rows):
        return {'text': NO_SERVER_TEXT, 'level': LEVEL_ERROR, 'noServer': True}
    if level == LEVEL_ERROR:
        return {'text': status['text'], 'level': LEVEL_ERROR, 'noServer': False}
    if out > 0:
        text = out_text(out, total)
        if level == LEVEL_SUCCESS:
            text = status['text'] + ' · ' + text
        return {'text': text, 'level': LEVEL_WARNING, 'noServer': False}
    if level == LEVEL_SUCCESS:
        return {'text': status['text'], 'level': LEVEL_SUCCESS, 'noServer': False}
    if total > 0 and len(stale_urls(rows, now_ms, STALE_MS)) == total:
        return {'text': CHECKING_TEXT, 'level': LEVEL_INFO, 'noServer': False}
    return {'text': READY_TEXT, 'level': LEVEL_INFO, 'noServer': False}


def pool_mark(rows):
    """The action's lasting badge {text, title} for the pool; text '' for none."""
    if is_unreachable(rows):
        return {'text': '!', 'title': NO_SERVER_TITLE}
    return {'text': '', 'title': ''}

# __pragma__ ('kwargs')
