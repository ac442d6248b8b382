"""The options page: edit chrome.storage.local `settings` (CONTRACT.md §3).

The form shows the effective settings (stored values over the build
defaults). Save checks every field with core.settings, the validator the
service worker uses, so the page and the worker agree; any invalid field
gets an inline error and nothing is saved. Only values that differ from the
build defaults are stored, so untouched fields follow future defaults.
Hosts the manifest does not cover are requested from Chrome inside the Save
click; if Chrome refuses, nothing is saved and the page says which hosts.
"""
import jsfix  # noqa: F401  (first: lets `except Exception` catch native errors)
import build_config
from core.compat import field
from core.contract import MSG_GET_SETTINGS, SETTINGS
from core.settings import (ENDPOINT_NAMES, MAX_MODEL_CHARS, MAX_PROMPT_CHARS, PROVIDER_KINDS,
                           check_base_url, check_path, ejection_fits, is_ms_in_range, ms_bounds,
                           resolve_settings, text_fits)
from core.urls import host_of
from core.words import plural
from glue.store import get_item, remove_item, set_item
from ui.permissions import request_origins, was_granted
from ui import dom, fmt
from ui.serverlist import check_servers_text, server_origins

DEFAULTS = build_config.DEFAULTS
ENDPOINTS = ENDPOINT_NAMES
MS_FIELDS = ['keyTimeoutMs', 'healthTimeoutMs', 'ejectionBaseMs', 'failedResetMs',
             'allFailedBackoffMs', 'probeIntervalMs', 'keyCacheMs']
HEDGE = 'hedgeDelayMs'
ZERO_TEXT = {'keyCacheMs': 'off: a new key every time', 'hedgeDelayMs': 'off',
             'allFailedBackoffMs': 'no pause'}

page = {'dirty': False, 'undo': None, 'saving': False}


def run(promise):
    promise.catch(lambda e: console.error('[keypool] options:', str(e)))


def all_field_ids():
    ids = ['servers']
    for name in ENDPOINTS:
        ids.append('endpoint-' + name)
    for name in MS_FIELDS:
        ids.append(name)
    ids.append(HEDGE)
    for name in ['kind', 'baseUrl', 'model', 'prompt']:
        ids.append('provider-' + name)
    return ids


def value_of(field_id):
    return dom.by_id(field_id).value


# --------------------------------------------------------------- form <-> settings

def fill_form(settings):
    """Put the effective settings into the fields."""
    dom.by_id('servers').value = '\n'.join(settings['servers'])
    for name in ENDPOINTS:
        dom.by_id('endpoint-' + name).value = settings['endpoints'][name]
    for name in MS_FIELDS:
        dom.by_id(name).value = str(settings[name])
    hedge = settings[HEDGE]
    dom.by_id(HEDGE).value = '' if hedge == None else str(hedge)
    provider = settings['provider']
    dom.by_id('provider-kind').value = provider['kind']
    dom.by_id('provider-baseUrl').value = provider['baseUrl']
    dom.by_id('provider-model').value = provider['model']
    dom.by_id('provider-prompt').value = provider['prompt']
    for field_id in all_field_ids():
        dom.set_field_error(dom.by_id(field_id), dom.by_id(field_id + '-error'), None)
    for name in MS_FIELDS:
        update_human(name)
    update_human(HEDGE)
    page['dirty'] = False


def parse_ms(text):
    """[value, None] for a whole number of ms ('' gives None), or [None, problem]."""
    raw = text.strip().replace('_', '').replace(' ', '')
    if len(raw) == 0:
        return [None, None]
    for ch in raw:
        if ch < '0' or ch > '9':
            return [None, 'Enter a whole number of milliseconds, e.g. 1500.']
    if len(raw) > 12:
        return [None, 'That number is too large.']
    return [int(raw), None]


def range_text(bounds):
    return ('between ' + str(bounds[0]) + ' and ' + str(bounds[1]) + ' ms ('
            + fmt.duration_text(bounds[0]) + ' to ' + fmt.duration_text(bounds[1]) + ')')


def read_form():
    """[settings, errors]: the settings the form describes (every field), and field_id -> problem."""
    errors = {}
    out = {}
    # One rule for every field: empty means its default (the grey placeholder).
    if len(value_of('servers').strip()) == 0:
        servers = [[u for u in DEFAULTS['servers']], None]
    else:
        servers = check_servers_text(value_of('servers'))
    if servers[1] != None:
        errors['servers'] = servers[1]
    else:
        out['servers'] = servers[0]

    out['endpoints'] = {}
    for name in ENDPOINTS:
        text = value_of('endpoint-' + name).strip()
        path = DEFAULTS['endpoints'][name] if len(text) == 0 else check_path(text)
        if path == None:
            errors['endpoint-' + name] = ('A path starting with /, such as '
                                          + DEFAULTS['endpoints'][name]
                                          + ' (no spaces, ? or #).')
        else:
            out['endpoints'][name] = path

    for name in MS_FIELDS:
        parsed = parse_ms(value_of(name))
        if parsed[1] != None:
            errors[name] = parsed[1]
        elif parsed[0] == None:
            out[name] = DEFAULTS[name]
        elif not is_ms_in_range(name, parsed[0]):
            errors[name] = 'Must be ' + range_text(ms_bounds(name)) + '.'
        else:
            out[name] = parsed[0]
    if 'ejectionBaseMs' not in errors and 'failedResetMs' not in errors \
            and not ejection_fits(out['ejectionBaseMs'], out['failedResetMs']):
        errors['ejectionBaseMs'] = ('Must not be longer than the longest time out of the pool ('
                                    + fmt.duration_text(out['failedResetMs']) + ').')

    parsed = parse_ms(value_of(HEDGE))
    if parsed[1] != None:
        errors[HEDGE] = parsed[1] + ' Leave it empty for automatic.'
    elif parsed[0] != None and not is_ms_in_range(HEDGE, parsed[0]):
        errors[HEDGE] = 'Must be ' + range_text(ms_bounds(HEDGE)) + ', or empty for automatic.'
    else:
        out[HEDGE] = parsed[0]

    provider = {}
    kind = value_of('provider-kind')
    if kind not in PROVIDER_KINDS:
        errors['provider-kind'] = 'Choose Gemini or OpenAI-compatible.'
    else:
        provider['kind'] = kind
    base_text = value_of('provider-baseUrl').strip()
    base = DEFAULTS['provider']['baseUrl'] if len(base_text) == 0 else check_base_url(base_text)
    if base == None:
        errors['provider-baseUrl'] = ('An http:// or https:// URL, such as '
                                      + DEFAULTS['provider']['baseUrl'] + '.')
    else:
        provider['baseUrl'] = base
    model = value_of('provider-model').strip()
    if len(model) == 0:
        model = DEFAULTS['provider']['model']
    if not text_fits('model', model):
        errors['provider-model'] = ('At most ' + str(MAX_MODEL_CHARS)
                                    + ' characters, such as ' + DEFAULTS['provider']['model'] + '.')
    else:
        provider['model'] = model
    prompt = value_of('provider-prompt').strip()
    if len(prompt) == 0:
        prompt = DEFAULTS['provider']['prompt']
    if not text_fits('prompt', prompt):
        errors['provider-prompt'] = ('At most ' + str(MAX_PROMPT_CHARS) + ' characters.')
    else:
        provider['prompt'] = prompt
    out['provider'] = provider
    return [out, errors]


def same_list(a, b):
    if len(a) != len(b):
        return False
    for i in range(len(a)):
        if a[i] != b[i]:
            return False
    return True


def differs(a, b, names):
    for name in names:
        if a[name] != b[name]:
            return True
    return False


def to_store(settings):
    """The `settings` object to store: only what differs from the build defaults."""
    out = {}
    if not same_list(settings['servers'], DEFAULTS['servers']):
        out['servers'] = settings['servers']
    for name in MS_FIELDS:
        if settings[name] != DEFAULTS[name]:
            out[name] = settings[name]
    hedge = settings[HEDGE]
    if hedge != None and hedge != field(DEFAULTS, HEDGE):
        out[HEDGE] = hedge
    if differs(settings['endpoints'], DEFAULTS['endpoints'], ENDPOINTS):
        out['endpoints'] = settings['endpoints']
    if differs(settings['provider'], DEFAULTS['provider'], ['kind', 'baseUrl', 'model', 'prompt']):
        out['provider'] = settings['provider']
    # A plain JSON copy: no Python dict methods go into storage.
    return JSON.parse(JSON.stringify(out))


# --------------------------------------------------------------- messages

def save_message(text, level):
    dom.set_message(dom.by_id('save-message'), text, level)


# A stored setting's path -> the element whose label names it on this page.
WARNING_FIELDS = {'servers': 'servers', 'endpoints': 'endpoints-legend',
                  'provider': 'provider-title', 'hedgeDelayMs': HEDGE}


def field_label(path):
    """The label people see for a stored setting ('keyTimeoutMs' -> 'Key request time out')."""
    parts = path.split('.')
    element_id = None
    if len(parts) == 2 and parts[0] == 'endpoints':
        element_id = 'endpoint-' + parts[1]
    elif len(parts) == 2 and parts[0] == 'provider':
        element_id = 'provider-' + parts[1]
    elif path in WARNING_FIELDS:
        element_id = WARNING_FIELDS[path]
    elif path in MS_FIELDS:
        element_id = path
    if element_id == None:
        return None
    node = document.getElementById(element_id)
    if node == None:
        return None
    label = document.querySelector('label[for="' + element_id + '"]')
    source = label if label != None else node
    first = source.childNodes[0]
    text = first.textContent.strip() if first != None else ''
    return text if len(text) > 0 else None


def warning_text(text):
    """'settings.keyTimeoutMs: must be ...' in the page's words: 'Key request time out: must be ...'."""
    if not text.startswith('settings'):
        return text
    head = text.split(':')[0]
    rest = text[len(head):]
    if head == 'settings':
        return 'Settings' + rest
    path = head[len('settings.'):]
    label = field_label(path)
    if label == None:
        return 'A setting this page does not know ("' + path[:60] + '")' + rest
    return label + rest


def show_warnings(warnings):
    box = dom.by_id('warnings')
    items = dom.by_id('warnings-list')
    dom.clear(items)
    if warnings == None or len(warnings) == 0:
        box.hidden = True
        return None
    for text in warnings:
        items.appendChild(dom.el('li', None, warning_text(text)))
    box.hidden = False
    return None


def show_errors(errors):
    """Inline errors next to their fields; focus the first one. How many there were."""
    first = None
    for field_id in all_field_ids():
        node = dom.by_id(field_id)
        problem = errors[field_id] if field_id in errors else None
        dom.set_field_error(node, dom.by_id(field_id + '-error'), problem)
        if problem != None and first == None:
            first = node
    if first != None:
        advanced = first.closest('details')
        if advanced != None:
            advanced.open = True   # a field in "Advanced" with an error must be seen
        first.focus()
    return len(Object.js_keys(errors))


def update_human(name):
    """The '= 10 s' next to a millisecond field."""
    parsed = parse_ms(value_of(name))
    if parsed[1] != None:
        text = ''
    elif parsed[0] == None:
        text = 'automatic' if name == HEDGE else '= default'
    elif parsed[0] == 0:
        text = ZERO_TEXT[name] if name in ZERO_TEXT else '= 0'
    else:
        text = '= ' + fmt.duration_text(parsed[0])
    dom.set_text(dom.by_id(name + '-human'), text)


# --------------------------------------------------------------- save and reset

def required_origins(settings):
    """Host permission patterns for every server and the provider, without repeats."""
    return server_origins(settings['servers'], settings['provider']['baseUrl'])


def on_submit(event):
    """Check every field; ask Chrome for missing hosts (in the gesture); then save."""
    event.preventDefault()
    if page['saving']:
        return None
    read = read_form()
    settings = read[0]
    errors = read[1]
    count = show_errors(errors)
    if count > 0:
        save_message('Nothing was saved: ' + plural(count, 'field needs', 'fields need')
                     + ' fixing (marked in red).', 'error')
        return None
    origins = required_origins(settings)
    granted = request_origins(origins)   # no await before it (ui.permissions)
    run(finish_save(settings, origins, granted))
    return None


async def missing_hosts(origins):
    hosts = []
    for origin in origins:
        try:
            has = await chrome.permissions.contains({'origins': [origin]})
        except Exception:
            has = False
        if not has:
            hosts.append(host_of(origin))
    return hosts


async def finish_save(settings, origins, granted):
    button = dom.by_id('save')
    page['saving'] = True
    dom.set_busy(button, True, 'Saving…')
    try:
        if not await was_granted(granted):
            hosts = await missing_hosts(origins)
            if len(hosts) == 0:
                hosts = [host_of(o) for o in origins]
            text = ('Chrome did not give Keypool access to ' + ', '.join(hosts)
                    + ', so it could not reach them. Nothing was saved: click Save again and '
                    'choose Allow, or remove those hosts.')
            provider_host = host_of(settings['provider']['baseUrl'])
            server_hosts = [host_of(u) for u in settings['servers']]
            if len([h for h in hosts if h in server_hosts]) > 0:
                dom.set_field_error(dom.by_id('servers'), dom.by_id('servers-error'), text)
            if provider_host in hosts:
                dom.set_field_error(dom.by_id('provider-baseUrl'),
                                    dom.by_id('provider-baseUrl-error'), text)
            save_message(text, 'error')
            return None
        stored = to_store(settings)
        check = resolve_settings(DEFAULTS, stored)
        if len(check[1]) > 0:  # the page and the worker disagree: never store that
            save_message('Nothing was saved: ' + '; '.join(check[1]), 'error')
            return None
        if len(Object.js_keys(stored)) == 0:
            await remove_item(SETTINGS)
        else:
            await set_item(SETTINGS, stored)
        fill_form(check[0])
        show_warnings([])
        page['undo'] = None
        dom.by_id('undo').hidden = True
        save_message('Saved. The next request uses these settings.', 'success')
    finally:
        page['saving'] = False
        dom.set_busy(button, False)
    return None


async def on_reset(event):
    previous = await get_item(SETTINGS)
    await remove_item(SETTINGS)
    fill_form(resolve_settings(DEFAULTS, None)[0])
    show_warnings([])
    page['undo'] = previous
    dom.by_id('undo').hidden = previous == None
    save_message('Defaults restored: the stored settings were removed.', 'success')
    return None


async def on_undo(event):
    previous = page['undo']
    if previous == None:
        return None
    await set_item(SETTINGS, previous)
    page['undo'] = None
    dom.by_id('undo').hidden = True
    resolved = resolve_settings(DEFAULTS, previous)
    fill_form(resolved[0])
    show_warnings(resolved[1])
    save_message('The previous settings are back.', 'success')
    return None


# --------------------------------------------------------------- wiring

async def load():
    resolved = resolve_settings(DEFAULTS, await get_item(SETTINGS))
    fill_form(resolved[0])
    show_warnings(resolved[1])
    # The worker's own view (the same validator, so normally the same warnings).
    answer = await dom.send({'type': MSG_GET_SETTINGS})
    if answer['ok'] and not page['dirty']:
        show_warnings(answer['warnings'])
    return None


def on_storage_changed(changes, area):
    """Settings changed elsewhere (another tab, Reset): follow them unless being edited."""
    if area != SETTINGS.area or SETTINGS.key not in changes or page['saving']:
        return None
    resolved = resolve_settings(DEFAULTS, field(changes[SETTINGS.key], 'newValue'))
    if not page['dirty']:
        fill_form(resolved[0])
    show_warnings(resolved[1])
    return None


def on_input(event):
    page['dirty'] = True
    target = event.target
    if target.id in MS_FIELDS or target.id == HEDGE:
        update_human(target.id)
    error_node = document.getElementById(target.id + '-error')
    if error_node != None:
        dom.set_field_error(target, error_node, None)


def show_ranges():
    for name in MS_FIELDS:
        bounds = ms_bounds(name)
        dom.set_text(dom.by_id(name + '-range'), 'Default ' + fmt.duration_text(DEFAULTS[name])
                     + ' · ' + fmt.duration_text(bounds[0]) + ' to '
                     + fmt.duration_text(bounds[1]) + '.')
    hedge_default = field(DEFAULTS, HEDGE)
    dom.set_text(dom.by_id(HEDGE + '-range'),
                 'Default ' + ('automatic' if hedge_default == None
                               else fmt.duration_text(hedge_default))
                 + ' · at most ' + fmt.duration_text(ms_bounds(HEDGE)[1]) + '.')


def on_before_unload(event):
    """Leaving with unsaved changes: Chrome asks whether to leave (issue 9)."""
    if page['dirty']:
        event.preventDefault()
        event.returnValue = ''
    return None


def main():
    chrome.storage.onChanged.addListener(on_storage_changed)
    form = dom.by_id('settings-form')
    window.addEventListener('beforeunload', on_before_unload)
    dom.on(form, 'submit', on_submit)
    dom.on(form, 'input', on_input)
    dom.on(form, 'change', on_input)
    dom.on(dom.by_id('reset'), 'click', on_reset)
    dom.on(dom.by_id('undo'), 'click', on_undo)
    show_ranges()
    run(load())


main()
