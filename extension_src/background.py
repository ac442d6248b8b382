"""Keypool's service worker: listeners only, registered at the top level.

Chrome stops an idle worker after ~30 s; nothing here keeps state in
globals that must outlive it (see glue/store.py).
"""
import jsfix  # noqa: F401  (first: lets `except Exception` catch native errors)
from core.contract import STATUS
from glue import log
from glue.analyze import TAB, analyze, analyze_tab, pin_document, show_analyzing, show_consent, \
    show_on_page, subject_text
from glue.badge import with_badge
from glue.consent import consent_by_repeat
from glue.config import load_settings
from glue.health import PROBE_ALARM, on_probe_alarm, schedule_probe_alarm
from glue.keyfetch import get_api_key
from glue.messages import on_message, pool_status
from glue.startup import repair_after_restart
from glue.store import on_storage_changed, prefetch_mirrors

MENU_ID = 'analyze-image'
STARTED_LOG_DELAY_MS = 500
REPAIR_DELAY_MS = 300
COMMAND_ANALYZE_TAB = 'analyze-tab'


def create_menu():
    async def run():
        await chrome.contextMenus.removeAll()
        chrome.contextMenus.create({'id': MENU_ID, 'title': 'Analyze image with Keypool',
                                    'contexts': ['image']})
    log.in_background(run(), 'context menu')


SETUP_PAGE = 'setup.html'


def on_installed(details):
    create_menu()
    log.info('installed (' + details.reason + ')')
    if details.reason == 'install':
        # A first run meets the set-up page, not a failing analysis (issue 9).
        log.in_background(chrome.tabs.create({'url': chrome.runtime.getURL(SETUP_PAGE)}),
                          'set-up page')


def on_startup():
    async def run():
        await schedule_probe_alarm(await load_settings())
    log.in_background(run(), 'startup')


def on_menu_click(info, tab):
    if info.menuItemId != MENU_ID:
        return None
    tab_id = tab.id if tab != None else None

    async def run():
        pin = pin_document(tab_id)          # at once: the document acted on, not a later one
        subject = subject_text(info.srcUrl)
        if not await consent_by_repeat(tab_id):
            await show_consent(await pin, subject, 'choose "Analyze image with Keypool" again')
            return None
        job = with_badge(analyze(info.srcUrl, None))
        await show_analyzing(await pin, subject)
        await show_on_page(await pin, await job, subject)
    log.in_background(run(), 'context menu analysis')
    return None


def on_command(command, tab):
    if command != COMMAND_ANALYZE_TAB:
        return None
    tab_id = tab.id if tab != None else None
    window_id = tab.windowId if tab != None else None

    async def run():
        pin = pin_document(tab_id)
        if not await consent_by_repeat(tab_id):
            await show_consent(await pin, subject_text(TAB), 'press the shortcut again')
            return None

        async def analyzing():   # after the screenshot: the panel must not be in it
            await show_analyzing(await pin, subject_text(TAB))
        answer = await with_badge(analyze_tab(window_id, analyzing))
        await show_on_page(await pin, answer, subject_text(TAB))
    log.in_background(run(), 'shortcut analysis')
    return None


def on_alarm(alarm):
    if alarm.js_name == PROBE_ALARM:
        log.in_background(on_probe_alarm(), 'probe alarm')


# First: the settings, the ledger and the cached key are read while the rest
# starts, so the message that woke the worker does not wait for them.
prefetch_mirrors(lambda e: log.error('prefetch failed', e), [STATUS])
# The settings resolved (validated, memoized) as soon as they arrive: while
# the waking event is still on its way, not after it.
log.in_background(load_settings(), 'settings')
chrome.storage.onChanged.addListener(on_storage_changed)
chrome.runtime.onInstalled.addListener(on_installed)
chrome.runtime.onStartup.addListener(on_startup)
chrome.runtime.onMessage.addListener(on_message)
chrome.contextMenus.onClicked.addListener(on_menu_click)
chrome.commands.onCommand.addListener(on_command)
chrome.alarms.onAlarm.addListener(on_alarm)
# For the DevTools console of the worker and for the benchmark, which times
# a key fetch inside the worker itself: `await keypool.getApiKey()`. Only what
# the README documents; the storage mirrors (glue.store) stay private, since
# they hold the cached key.
globalThis.keypool = {'getApiKey': get_api_key, 'poolStatus': pool_status}
# Not during the script's run, nor while the waking event is on its way: the
# repair (chrome.action's bindings, the badge: ~1 ms of the worker's thread)
# would delay that event's dispatch. An action that writes its status or
# badge first wins, as before (has_activity).
setTimeout(lambda: log.in_background(repair_after_restart(), 'start-up repair'), REPAIR_DELAY_MS)
# Logged once the waking event has been answered, not before it: the first
# console line of a fresh worker costs ~2 ms with DevTools attached.
setTimeout(lambda: log.info('service worker started'), STARTED_LOG_DELAY_MS)
