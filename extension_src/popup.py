"""The toolbar popup: status, the pool at a glance, image analysis, key donation.

Reads chrome.storage.session `status` and `lastAnalysis` once, then follows
chrome.storage.onChanged; asks the worker for getPoolStatus on open and
whenever the ledger or the status changes. Every text that came from a
server or the provider is set with textContent, never as HTML.
"""
import jsfix  # noqa: F401  (first: lets `except Exception` catch native errors)
from core.donation import check_donor_input, check_key_input
from core.redact import redact
from ui import dom, fmt

TICK_MS = 1000
DUE_REFRESH_GAP_MS = 2000      # while a server is due for its check, ask again this often
PERMISSION_HINT_DELAY_MS = 300  # say "waiting for your answer" only if Chrome really asks
LEVELS = ['info', 'success', 'error']

state = {
    'status': None,        # chrome.storage.session `status`
    'statusSeen': False,   # a change arrived before the first read finished
    'last': None,          # chrome.storage.session `lastAnalysis`
    'lastSeen': False,
    'rows': [],            # the latest getPoolStatus servers
    'fetching': False,
    'again': False,
    'fetchedAt': 0,
    'donating': False,
    'analyzing': False,
}
row_nodes = {}  # server URL -> its list item's nodes, kept so focus survives refreshes


def value_or_none(obj, key):
    value = obj[key] if obj != None else None  # noqa: E711
    return None if value == None else value  # noqa: E711


def run(promise):
    """Fire and forget, with a console line if it fails."""
    promise.catch(lambda e: console.error('[keypool] popup:', str(e)))


# --------------------------------------------------------------- status line

def render_status():
    status = state['status']
    box = dom.by_id('status')
    if status == None:  # noqa: E711
        dom.set_text(dom.by_id('status-text'), 'Ready.')
        dom.set_text(dom.by_id('status-age'), '')
        box.setAttribute('data-level', 'info')
        return None
    level = status['level'] if status['level'] in LEVELS else 'info'
    box.setAttribute('data-level', level)
    dom.set_text(dom.by_id('status-text'), status['text'])
    dom.set_text(dom.by_id('status-age'), fmt.ago_text(status['at'], Date.now()))
    return None


# --------------------------------------------------------------- the pool

def make_row(url):
    """The list item of one server, with its Retry button wired to url."""
    li = dom.el('li', 'server')
    li.dataset.url = url
    dot = dom.el('span', 'dot')
    dot.setAttribute('aria-hidden', 'true')
    name = dom.el('span', 'server-name', fmt.short_url(url))
    name.title = url
    state_node = dom.el('span', 'server-state')
    button = dom.el('button', 'secondary small retry', 'Retry now')
    button.setAttribute('type', 'button')
    button.setAttribute('aria-label', 'Retry ' + fmt.short_url(url) + ' now')
    detail = dom.el('p', 'server-detail')
    note = dom.el('p', 'server-note')
    note.hidden = True
    li.append(dot, name, state_node, button, detail, note)
    nodes = {'li': li, 'dot': dot, 'state': state_node, 'detail': detail, 'note': note,
             'button': button}
    dom.on(button, 'click', lambda event: retry_server(url, nodes))
    row_nodes[url] = nodes
    return nodes


def update_row(nodes, row, now_ms):
    failed = row['state'] == 'failed'
    probation = not failed and row['probation'] == True  # noqa: E712
    if failed:
        nodes['li'].setAttribute('data-state', 'failed')
        parts = ['Failed ' + fmt.ago_text(row['failedAt'], now_ms)]
        back = fmt.back_in_text(row['retryAt'], now_ms)
        if len(back) > 0:
            parts.append(back)
        dom.set_text(nodes['state'], ' · '.join(parts))
    elif probation:
        nodes['li'].setAttribute('data-state', 'probation')
        dom.set_text(nodes['state'], 'Back on probation · being checked')
    else:
        nodes['li'].setAttribute('data-state', 'available')
        dom.set_text(nodes['state'], 'Available')
    if failed or probation:
        dom.set_text(nodes['detail'], fmt.failure_text(row['kind'], row['reason']))
        nodes['detail'].hidden = False
    else:
        dom.set_text(nodes['detail'], '')
        nodes['detail'].hidden = True
    nodes['button'].hidden = not (failed or probation)


def render_pool():
    rows = state['rows']
    now_ms = Date.now()
    list_node = dom.by_id('pool')
    wanted = []
    index = 0
    for row in rows:
        url = row['url']
        nodes = row_nodes[url] if url in row_nodes else make_row(url)
        update_row(nodes, row, now_ms)
        here = list_node.children[index]
        if here == None:  # noqa: E711
            list_node.appendChild(nodes['li'])
        elif here is not nodes['li']:
            list_node.insertBefore(nodes['li'], here)
        wanted.append(url)
        index += 1
    for url in list(row_nodes.keys()):
        if url not in wanted:
            row_nodes[url]['li'].remove()
            del row_nodes[url]
    available = len([r for r in rows if r['state'] != 'failed'])
    summary = str(available) + ' of ' + str(len(rows)) + ' available' if len(rows) > 0 else ''
    dom.set_text(dom.by_id('pool-summary'), summary)


def is_due(row, now_ms):
    """Has a failed server's time out passed, or is it waiting for its check?"""
    if row['state'] == 'failed':
        return row['retryAt'] != None and row['retryAt'] <= now_ms  # noqa: E711
    return row['probation'] == True  # noqa: E712


async def refresh_pool():
    """getPoolStatus, once at a time (a request during one runs right after it)."""
    if state['fetching']:
        state['again'] = True
        return None
    state['fetching'] = True
    try:
        while True:
            state['again'] = False
            answer = await dom.send({'type': 'getPoolStatus'})
            state['fetchedAt'] = Date.now()
            if answer['ok']:
                state['rows'] = answer['servers']
                dom.set_message(dom.by_id('pool-message'), None, 'info')
            else:
                dom.set_message(dom.by_id('pool-message'), answer['error'], 'error')
            render_pool()
            if not state['again']:
                break
    finally:
        state['fetching'] = False
    return None


async def retry_server(url, nodes):
    button = nodes['button']
    if button.disabled:
        return None
    dom.set_busy(button, True, 'Checking…')
    nodes['note'].hidden = True
    try:
        answer = await dom.send({'type': 'retryServer', 'url': url})
    finally:
        dom.set_busy(button, False)
    if answer['ok']:
        text = answer['message']
        if answer['healthy'] == True:  # noqa: E712
            level = 'success'
        elif answer['healthy'] == False:  # noqa: E712
            level = 'error'
        else:
            level = 'info'  # a check was already running
    else:
        text = answer['error']
        level = 'error'
    dom.set_text(nodes['note'], text)
    nodes['note'].setAttribute('data-level', level)
    nodes['note'].hidden = False
    await refresh_pool()
    return None


# --------------------------------------------------------------- last analysis

def render_last():
    last = state['last']
    section = dom.by_id('last')
    if last == None:  # noqa: E711
        section.hidden = True
        return None
    section.hidden = False
    thumb = dom.by_id('last-thumb')
    tab_box = dom.by_id('last-tab')
    url = value_or_none(last, 'imageUrl')
    if url == 'tab':
        thumb.hidden = True
        tab_box.hidden = False
    elif fmt.is_thumbnail_url(url) and value_or_none(last, 'error') == None:  # noqa: E711
        # Only an image Keypool loaded: a failed address may be a key server's
        # (core.image), and an <img> would fetch it again at every open.
        if thumb.getAttribute('src') != url:
            thumb.src = url  # http(s) and data:image only: never javascript: or others
        thumb.hidden = False
        tab_box.hidden = True
    else:
        thumb.hidden = True
        tab_box.hidden = True
    text_node = dom.by_id('last-text')
    error = value_or_none(last, 'error')
    parts = []
    if url == 'tab':
        parts.append('Screenshot of a tab')
    if error != None:  # noqa: E711
        text_node.setAttribute('data-level', 'error')
        dom.set_text(text_node, error)
        parts.append('Failed')
    else:
        text_node.removeAttribute('data-level')
        dom.set_text(text_node, value_or_none(last, 'text'))
        server = value_or_none(last, 'server')
        if server != None:  # noqa: E711
            parts.append('Key from ' + fmt.host_of(server))
    age = fmt.ago_text(value_or_none(last, 'at'), Date.now())
    if len(age) > 0:
        parts.append(age)
    dom.set_text(dom.by_id('last-meta'), ' · '.join(parts))
    return None


def on_thumb_error(event):
    dom.by_id('last-thumb').hidden = True


# --------------------------------------------------------------- analysis

def analyze_message(text, level):
    dom.set_message(dom.by_id('analyze-message'), text, level)


def image_url_problem(raw):
    """Why raw cannot be analyzed, or None."""
    if len(raw) == 0:
        return 'Enter the address of an image, or use "Analyze this tab".'
    lower = raw.lower()
    if lower.startswith('data:'):
        if not lower.startswith('data:image/'):
            return 'That data: address is not an image.'
        return None
    if not (lower.startswith('http://') or lower.startswith('https://')):
        return 'Use an http://, https:// or data:image address.'
    if not is_valid_url(raw) or fmt.origin_pattern(raw) == None:  # noqa: E711
        return 'That is not a valid address.'
    return None


def is_valid_url(raw):
    try:
        __new__(URL(raw))
    except Exception:
        return False
    return True


def on_analyze_submit(event):
    """Check the address, ask for the host permission (in the gesture), then analyze."""
    event.preventDefault()
    if state['analyzing']:
        return None
    field = dom.by_id('image-url')
    raw = field.value.strip()
    problem = image_url_problem(raw)
    if problem != None:  # noqa: E711
        field.setAttribute('aria-invalid', 'true')
        analyze_message(problem, 'error')
        field.focus()
        return None
    field.removeAttribute('aria-invalid')
    pattern = fmt.origin_pattern(raw)
    granted = Promise.resolve(True)
    if pattern != None:  # noqa: E711
        # No await before this line: Chrome shows its prompt only during the click.
        try:
            granted = chrome.permissions.request({'origins': [pattern]})
        except Exception as e:
            console.warn('[keypool] permission request failed:', str(e))
    run(analyze_url(raw, granted))
    return None


async def analyze_url(raw, granted):
    button = dom.by_id('analyze-url')
    state['analyzing'] = True
    dom.set_busy(button, True, 'Analyzing…')
    host = fmt.host_of(raw)
    hint = setTimeout(lambda: analyze_message(
        'Chrome is asking whether Keypool may read images from ' + host + '…', 'info'),
        PERMISSION_HINT_DELAY_MS)
    try:
        try:
            allowed = await granted
        except Exception as e:
            console.warn('[keypool] permission request failed:', str(e))
            allowed = True  # let the worker check and explain
        clearTimeout(hint)
        if not allowed:
            analyze_message('Keypool may not read images from ' + host + ', so it cannot '
                            'download this one. Click Analyze again and choose Allow, or '
                            'open the image in a tab and use "Analyze this tab".', 'error')
            return None
        analyze_message(None, 'info')
        answer = await dom.send({'type': 'analyzeImage', 'imageUrl': raw})
        if answer['ok']:
            analyze_message(None, 'info')
        else:
            analyze_message(answer['error'], 'error')
    finally:
        clearTimeout(hint)
        state['analyzing'] = False
        dom.set_busy(button, False)
    return None


async def on_analyze_tab(event):
    if state['analyzing']:
        return None
    button = dom.by_id('analyze-tab')
    state['analyzing'] = True
    dom.set_busy(button, True, 'Analyzing…')
    analyze_message(None, 'info')
    try:
        answer = await dom.send({'type': 'analyzeTab'})
        if not answer['ok']:
            analyze_message(answer['error'], 'error')
    finally:
        state['analyzing'] = False
        dom.set_busy(button, False)
    return None


# --------------------------------------------------------------- donation

def donate_message(text, level):
    dom.set_message(dom.by_id('donate-message'), text, level)


def set_key_visible(visible):
    field = dom.by_id('donate-key')
    toggle = dom.by_id('toggle-key')
    field.setAttribute('type', 'text' if visible else 'password')
    toggle.setAttribute('aria-pressed', 'true' if visible else 'false')
    dom.set_text(toggle, 'Hide' if visible else 'Show')


def on_toggle_key(event):
    set_key_visible(dom.by_id('donate-key').getAttribute('type') == 'password')


def on_donate_submit(event):
    """Check the inputs with no network at all; then donate."""
    event.preventDefault()
    if state['donating']:
        return None
    key_field = dom.by_id('donate-key')
    donor_field = dom.by_id('donor')
    key_checked = check_key_input(key_field.value)
    donor_checked = check_donor_input(donor_field.value)
    dom.set_field_error(key_field, dom.by_id('donate-key-error'), key_checked[1])
    dom.set_field_error(donor_field, dom.by_id('donor-error'), donor_checked[1])
    if key_checked[1] != None or donor_checked[1] != None:  # noqa: E711
        donate_message(None, 'info')
        (key_field if key_checked[1] != None else donor_field).focus()  # noqa: E711
        return None
    run(donate(key_checked[0], donor_checked[0]))
    return None


async def donate(key, donor):
    button = dom.by_id('donate')
    key_field = dom.by_id('donate-key')
    state['donating'] = True
    dom.set_busy(button, True, 'Donating…')
    key_field.readOnly = True
    donate_message(None, 'info')
    request = {'type': 'donateKey', 'apiKey': key}
    if len(donor) > 0:
        request['donorEmail'] = donor
    try:
        answer = await dom.send(request)
    finally:
        state['donating'] = False
        key_field.readOnly = False
        dom.set_busy(button, False)
    if answer['ok']:
        dom.by_id('donate-form').reset()
        set_key_visible(False)
        where = fmt.host_of(answer['server'])
        if answer['alreadyInPool'] == True:  # noqa: E712
            donate_message(answer['message'], 'success')
        else:
            donate_message('Thank you! Your key was added to the pool'
                           + (' by ' + where if len(where) > 0 else '') + '.', 'success')
    else:
        # The key stays in the field, so that the person can fix it or try again.
        error = redact(answer['error'], key)
        if answer['invalidInput'] == True:  # noqa: E712
            dom.set_field_error(key_field, dom.by_id('donate-key-error'), error)
        donate_message(error, 'error')
    return None


def on_donate_input(event):
    dom.set_field_error(event.target, dom.by_id(event.target.id + '-error'), None)


# --------------------------------------------------------------- wiring

def on_storage_changed(changes, area):
    if area == 'session':
        if 'status' in changes:
            state['statusSeen'] = True
            state['status'] = value_or_none(changes['status'], 'newValue')
            render_status()
        if 'lastAnalysis' in changes:
            state['lastSeen'] = True
            state['last'] = value_or_none(changes['lastAnalysis'], 'newValue')
            render_last()
        if 'poolHealth' in changes or 'status' in changes:
            run(refresh_pool())
    elif area == 'local' and 'settings' in changes:
        run(refresh_pool())


def tick():
    now_ms = Date.now()
    render_status()
    render_pool()
    if state['last'] != None:  # noqa: E711
        render_last()
    due = len([r for r in state['rows'] if is_due(r, now_ms)]) > 0
    if due and not state['fetching'] and now_ms - state['fetchedAt'] >= DUE_REFRESH_GAP_MS:
        run(refresh_pool())


async def load_session():
    got = await chrome.storage.session.js_get(['status', 'lastAnalysis'])
    if not state['statusSeen']:
        state['status'] = value_or_none(got, 'status')
        render_status()
    if not state['lastSeen']:
        state['last'] = value_or_none(got, 'lastAnalysis')
        render_last()
    return None


def main():
    chrome.storage.onChanged.addListener(on_storage_changed)
    dom.on(dom.by_id('open-options'), 'click', lambda event: chrome.runtime.openOptionsPage())
    dom.on(dom.by_id('analyze-form'), 'submit', on_analyze_submit)
    dom.on(dom.by_id('analyze-tab'), 'click', on_analyze_tab)
    dom.on(dom.by_id('image-url'), 'input',
           lambda event: event.target.removeAttribute('aria-invalid'))
    dom.on(dom.by_id('donate-form'), 'submit', on_donate_submit)
    dom.on(dom.by_id('toggle-key'), 'click', on_toggle_key)
    dom.on(dom.by_id('donate-key'), 'input', on_donate_input)
    dom.on(dom.by_id('donor'), 'input', on_donate_input)
    dom.on(dom.by_id('last-thumb'), 'error', on_thumb_error)
    render_status()
    run(load_session())
    run(refresh_pool())
    setInterval(tick, TICK_MS)


main()
