"""Consent, once per tab, before anything from a tab goes to the AI provider (issue 9).

A screenshot of a tab, or an image on it, is sent to the provider: the first
analysis in each tab asks first. From the popup, the person answers in the
popup (analyzeTab with `consent: true`). From the shortcut or the context
menu there is no popup: the page's panel says what would be sent where, and
doing the same thing again in that tab is the answer. Kept in
chrome.storage.session (in memory; a browser restart asks again).
"""

from core.contract import ASKED_TABS, CONSENTED_TABS
from glue.store import get_item, set_item

# CONSENTED_TABS: [tab id] that may send what they show; ASKED_TABS: [tab id]
# shown the question once, by the panel (core.contract declares both).
MAX_TABS = 200                     # a long session's list stays small

# Called with positional arguments only: no kwargs support (the worker's size budget).
# __pragma__ ('nokwargs')


async def _add(item, tab_id):
    tabs = await get_item(item)
    if tab_id not in tabs:
        tabs.append(tab_id)
        await set_item(item, tabs[len(tabs) - MAX_TABS:] if len(tabs) > MAX_TABS else tabs)
    return None


async def has_consent(tab_id):
    if tab_id == None:
        return True    # nothing of a tab is sent (an address typed in the popup)
    return tab_id in await get_item(CONSENTED_TABS)


async def give_consent(tab_id):
    if tab_id != None:
        await _add(CONSENTED_TABS, tab_id)
    return None


async def consent_by_repeat(tab_id):
    """A trigger with no popup (shortcut, menu): may it go ahead? The second try in a tab says yes."""
    if await has_consent(tab_id):
        return True
    if tab_id in await get_item(ASKED_TABS):
        await give_consent(tab_id)
        return True
    await _add(ASKED_TABS, tab_id)
    return False


async def active_tab_id():
    """The id of the tab "Analyze this tab" would picture, or None."""
    try:
        tabs = await chrome.tabs.query({'active': True, 'lastFocusedWindow': True})
    except Exception:
        return None
    if tabs == None or len(tabs) == 0:
        return None
    return tabs[0].id

# __pragma__ ('kwargs')
