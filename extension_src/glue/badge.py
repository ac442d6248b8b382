"""The toolbar action's badge and title: an analysis's mark, and the pool's lasting one.

An analysis shows work (…), then its outcome (✓ or !) for a few seconds.
Underneath, while no key server is reachable, the badge keeps a lasting
mark and the title says why (core.poolview.pool_mark): issue 9 found the
only sign of a dead pool vanishing after 8 s.
"""

from core.poolview import pool_mark
from glue import log
from glue.status import note_activity

OUTCOME_SHOWN_MS = 8000
BADGE_TEXTS = {'work': '…', 'ok': '✓', 'error': '!', '': ''}
BADGE_COLORS = {'work': '#0969da', 'ok': '#1a7f37', 'error': '#cf222e', '': '#0969da'}
POOL_MARK_COLOR = '#cf222e'

# The worker's view of the badge. Lost when the worker stops: the next ledger
# write (glue.ledger) sets the pool's mark again.
_badge = {'pool': None, 'busy': 0, 'shownTitle': None}


# Nothing here takes keyword arguments: no kwargs support (the worker's size budget).
# __pragma__ ('nokwargs')

def _default_title():
    return chrome.runtime.getManifest().action.default_title


async def _show(text, color, title):
    try:
        await chrome.action.setBadgeBackgroundColor({'color': color})
        await chrome.action.setBadgeText({'text': text})
        if title != _badge['shownTitle']:
            _badge['shownTitle'] = title
            await chrome.action.setTitle({'title': title if len(title) > 0 else _default_title()})
    except Exception as e:
        log.warn('badge: ' + str(e))


async def set_badge(state):
    """'work', 'ok', 'error'; or '' for the pool's lasting mark (none when the pool is fine)."""
    if state != '':
        note_activity()
        await _show(BADGE_TEXTS[state], BADGE_COLORS[state], '')
        return None
    mark = _badge['pool']
    if mark == None:
        await _show('', BADGE_COLORS[''], '')
    else:
        await _show(mark['text'], POOL_MARK_COLOR, mark['title'])
    return None


def note_pool(pool, now_ms):
    """The ledger changed: update the lasting mark if it is different (and not covered)."""
    mark = pool_mark(pool.status_rows(now_ms))
    old = _badge['pool']
    if old != None and old['text'] == mark['text'] and old['title'] == mark['title']:
        return None
    _badge['pool'] = mark
    if _badge['busy'] == 0:
        log.in_background(set_badge(''), 'pool badge')
    return None


async def with_badge(job):
    """Run an analysis promise with the badge showing work, then the outcome, then the pool."""
    _badge['busy'] = _badge['busy'] + 1
    await set_badge('work')
    try:
        answer = await job
    finally:
        _badge['busy'] = _badge['busy'] - 1
    await set_badge('ok' if answer['ok'] else 'error')

    def back_to_pool():
        if _badge['busy'] == 0:
            log.in_background(set_badge(''), 'pool badge')
    setTimeout(back_to_pool, OUTCOME_SHOWN_MS)
    return answer

# __pragma__ ('kwargs')
