"""Messages to the service worker (CONTRACT.md §4): checked, routed, always answered."""

from core import contract as ct
from core.compat import is_object, is_str
from core.poolview import with_checks
from glue import log
from glue.analyze import analyze, analyze_tab, question_of
from glue.badge import with_badge
from glue.consent import active_tab_id, give_consent, has_consent
from glue.config import load_settings, settings_report
from glue.donate import donate_key
from glue.health import check_servers, retry_server_now
from glue.keyfetch import get_api_key
from glue.ledger import read_pool
from glue.status import flush_status
from glue.store import get_item


CONSENT_QUESTION = ('Keypool sends a picture of the visible part of this tab to your AI '
                    'provider. Send it?')


def is_from_this_extension(sender):
    """Only our own pages may talk to the worker; web pages and other extensions may not."""
    if sender == None or sender.id != chrome.runtime.id:
        return False
    own_origin = 'chrome-extension://' + chrome.runtime.id + '/'
    return sender.url == None or sender.url.startswith(own_origin)


async def pool_status():
    flush_status()                     # the status line as this worker last set it
    pool = await read_pool(await load_settings())
    status = await get_item(ct.STATUS)
    rows = with_checks(pool.status_rows(Date.now()), pool.checked_at_ms)
    return {'ok': True, 'servers': rows, 'status': status}


async def handle(request, sender):
    """The answer object for one request."""
    if not is_object(request) or not is_str(request['type']):
        return {'ok': False, 'error': 'Malformed request: expected an object with a "type".'}
    kind = request['type']
    if kind == ct.MSG_GET_API_KEY:
        return await get_api_key()
    if kind == ct.MSG_GET_POOL_STATUS:
        return await pool_status()
    if kind == ct.MSG_DONATE_KEY:
        return await donate_key(request['apiKey'], request['donorEmail'])
    if kind == ct.MSG_ANALYZE_IMAGE:
        if not is_str(request['imageUrl']) or len(request['imageUrl'].strip()) == 0:
            return {'ok': False, 'error': 'Please give the address of an image.'}
        return await with_badge(analyze(request['imageUrl'].strip(), None, question_of(request)))
    if kind == ct.MSG_ANALYZE_TAB:
        window_id = sender.tab.windowId if sender.tab != None else None
        tab_id = sender.tab.id if sender.tab != None else await active_tab_id()
        if request['consent'] == True:
            await give_consent(tab_id)
        elif not await has_consent(tab_id):
            return {'ok': False, 'needsConsent': True, 'error': CONSENT_QUESTION}
        return await with_badge(analyze_tab(window_id, None, question_of(request)))
    if kind == ct.MSG_RETRY_SERVER:
        if not is_str(request['url']):
            return {'ok': False, 'error': 'Malformed request: "url" must be a server URL.'}
        return await retry_server_now(request['url'])
    if kind == ct.MSG_CHECK_SERVERS:
        return await check_servers(request['all'] == True)
    if kind == ct.MSG_GET_SETTINGS:
        report = await settings_report()
        return {'ok': True, 'settings': report[0], 'warnings': report[1]}
    return {'ok': False, 'error': 'Unknown request type: ' + kind[:40]}


def on_message(request, sender, send_response):
    """chrome.runtime.onMessage listener: answers asynchronously (returns True)."""
    if not is_from_this_extension(sender):
        log.warn('ignored a message from outside the extension')
        return False

    async def respond():
        try:
            answer = await handle(request, sender)
        except Exception as e:
            log.error('message handler failed', e)
            answer = {'ok': False, 'error': 'Keypool hit an unexpected error; please try again.'}
        # A plain JSON copy: no Python methods or class instances cross the boundary.
        send_response(JSON.parse(JSON.stringify(answer)))
    respond()
    return True
