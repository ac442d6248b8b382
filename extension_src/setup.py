"""The set-up page: what a key server is, the configured servers checked live, new addresses.

Opened on install (background.on_installed), and from the popup and the
options page. Saving asks Chrome for the new hosts in the same click, stores
`settings.servers` and checks every server; the list follows poolHealth
(ui.poolsource), so each row changes as its answer lands.
"""
import jsfix  # noqa: F401  (first: lets `except Exception` catch native errors)
from core.contract import MSG_CHECK_SERVERS, SETTINGS
from core.poolview import (STALE_MS, VIEW_AVAILABLE, VIEW_FAILED, VIEW_PROBATION, row_view,
                           stale_urls)
from glue.store import get_item, set_item
from ui.permissions import request_origins, was_granted
from ui import dom, fmt
from ui.poolsource import PoolSource
from ui.serverlist import check_servers_text, server_origins

page = {'checking': False, 'saving': False, 'filled': False}


def run(promise):
    promise.catch(lambda e: console.error('[keypool] set-up page:', str(e)))


def row_text(row, now_ms):
    view = row_view(row, now_ms, STALE_MS)
    if page['checking'] and view != VIEW_AVAILABLE:
        return 'Checking…'
    if view == VIEW_AVAILABLE:
        return 'Answered'
    if view == VIEW_FAILED or view == VIEW_PROBATION:
        return 'No answer: ' + fmt.failure_text(row['kind'], row['reason'])
    return 'Not checked yet'


def render():
    now_ms = Date.now()
    rows = source.rows(now_ms)
    list_node = dom.by_id('setup-servers')
    dom.clear(list_node)
    answered = 0
    for row in rows:
        view = row_view(row, now_ms, STALE_MS)
        if view == VIEW_AVAILABLE:
            answered += 1
        li = dom.el('li')
        li.setAttribute('data-state', view)
        li.append(dom.el('span', 'server-name', fmt.short_url(row['url'])),
                  dom.el('span', 'server-state', row_text(row, now_ms)))
        list_node.appendChild(li)
    summary = dom.by_id('setup-summary')
    if page['checking']:
        text, level = 'Checking your key servers…', 'info'
    elif answered > 0:
        text = ('Ready: ' + fmt.plural(answered, 'key server answers', 'key servers answer')
                + '. You can analyze images now.')
        level = 'success'
    elif len(stale_urls(rows, now_ms, STALE_MS)) == len(rows):
        text, level = 'Your key servers have not been checked yet.', 'info'
    else:
        text = ('No key server answered. Start one, or enter the addresses of your pool '
                'below.')
        level = 'error'
    if summary.textContent != text:
        dom.set_text(summary, text)   # a live region: written only when it changes
    summary.setAttribute('data-level', level)
    if not page['filled']:
        page['filled'] = True
        dom.by_id('servers-input').value = '\n'.join(source.servers)


source = PoolSource(render)


async def check_all():
    page['checking'] = True
    button = dom.by_id('check-again')
    dom.set_busy(button, True, 'Checking…')
    render()
    try:
        await dom.send({'type': MSG_CHECK_SERVERS, 'all': True})
    finally:
        page['checking'] = False
        dom.set_busy(button, False)
        render()
    return None


def message(text, level):
    dom.set_message(dom.by_id('setup-message'), text, level)


def on_submit(event):
    """Check the addresses, ask Chrome for their hosts (in this click), then save and check."""
    event.preventDefault()
    if page['saving']:
        return None
    field = dom.by_id('servers-input')
    checked = check_servers_text(field.value)
    dom.set_field_error(field, dom.by_id('servers-error'), checked[1])
    if checked[1] != None:
        message(None, 'info')
        field.focus()
        return None
    servers = checked[0]
    origins = server_origins(servers, None)
    granted = request_origins(origins)   # no await before it (ui.permissions)
    run(save(servers, granted))
    return None


async def save(servers, granted):
    button = dom.by_id('save-servers')
    page['saving'] = True
    dom.set_busy(button, True, 'Saving…')
    try:
        if not await was_granted(granted):
            message('Nothing was saved: Keypool needs your permission to reach these '
                    'servers. Click "Save and check" again and choose Allow.', 'error')
            dom.by_id('setup-message').focus()
            return None
        stored = await get_item(SETTINGS)
        stored = stored if stored != None else {}
        stored['servers'] = servers
        await set_item(SETTINGS, stored)
        message('Saved ' + fmt.plural(len(servers), 'server', 'servers') + '. Checking them…', 'info')
    finally:
        page['saving'] = False
        dom.set_busy(button, False)
    await check_all()
    message('Saved ' + fmt.plural(len(servers), 'server', 'servers') + '.', 'success')
    dom.by_id('setup-message').focus()
    return None


def on_storage_changed(changes, area):
    source.on_storage_changed(changes, area)


async def load():
    await source.load()
    await check_all()
    return None


def main():
    chrome.storage.onChanged.addListener(on_storage_changed)
    dom.on(dom.by_id('setup-form'), 'submit', on_submit)
    dom.on(dom.by_id('check-again'), 'click', lambda event: check_all())
    dom.on(dom.by_id('servers-input'), 'input',
           lambda event: dom.set_field_error(event.target, dom.by_id('servers-error'), None))
    run(load())


main()

