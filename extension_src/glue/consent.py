"""Consent, once per tab, before anything from a tab goes to the AI provider (issue 9).

A screenshot of a tab, or an image on it, is sent to the provider: the first
analysis in each tab asks first. From the popup, the person answers in the
popup (analyzeTab with `consent: true`). From the shortcut or the context
menu there is no popup: the page's panel says what would be sent where, and
doing the same thing again in that tab is the answer. Kept in
chrome.storage.session (in memory; a browser restart asks again).
"""

from glue.store import SESSION, get_item, set_item

CONSENTED_TABS = 'consentedTabs'   # [tab id]: may send what they show
ASKED_TABS = 'consentAskedTabs'    # [tab id]: shown the question once, by the panel
MAX_TABS = 200                     # a long session's list stays small

# Called with positional arguments only: no kwargs support (the worker's size budget).
# __pragma__ ('nokwargs')


async def _add(key, tab_id):
    tabs = await get_item(SESSION, key, [])
    if tab_id not in tabs:
        tabs.append(tab_id)
        await set_item(SESSION, key, tabs[len(tabs) - MAX_TABS:] if len(tabs) > MAX_TABS else tabs)
    return None


async def has_consent(tab_id):
    if tab_id == None:  # noqa: E711
        return True    # nothing of a tab is sent (an address typed in the popup)
    return tab_id in await get_item(SESSION, CONSENTED_TABS, [])


async def give_consent(tab_id):
    if tab_id != None:  # noqa: E711
        await _add(CONSENTED_TABS, tab_id)
    return None


async def consent_by_repeat(tab_id):
    """A trigger with no popup (shortcut, menu): may it go ahead? The second try in a tab says yes."""
    if await has_consent(tab_id):
        return True
    if tab_id in await get_item(SESSION, ASKED_TABS, []):
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
    if tabs == None or len(tabs) == 0:  # noqa: E711
        return None
    return tabs[0].id

# __pragma__ ('kwargs')
