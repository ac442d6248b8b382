"""Settings: chrome.storage.local `settings` over the build defaults (CONTRACT.md §3).

The only source of every limit: the worker, the options page and the build
(which fails on any warning for [tool.keypool]) all ask this module.

Every field is checked on its own, then the one rule between fields
(ejectionBaseMs <= failedResetMs). A field of the wrong type or out of range
is dropped with a warning and its default used: a bad setting never breaks
the extension. The result is a fresh plain dict with every field present
(hedgeDelayMs may be None: "derive it").
"""

from core.compat import field, is_int, is_list, is_object, is_str, keys_of
from core.urls import split_scheme

MAX_SERVERS = 20
MAX_URL_CHARS = 2048
MAX_PATH_CHARS = 200
MAX_MODEL_CHARS = 200
MAX_PROMPT_CHARS = 4000
PROVIDER_KINDS = ['gemini', 'openai']
ENDPOINT_NAMES = ['health', 'key', 'donate']

# field -> (min, max) for the integer millisecond settings
MS_RANGES = {
    'keyTimeoutMs': [100, 120000],
    'healthTimeoutMs': [100, 60000],
    'failedResetMs': [1000, 86400000],
    'allFailedBackoffMs': [0, 60000],
    'keyCacheMs': [0, 86400000],
    'ejectionBaseMs': [100, 86400000],
    'probeIntervalMs': [500, 86400000],
}
OPTIONAL_MS_RANGES = {
    'hedgeDelayMs': [0, 60000],
}
KNOWN_FIELDS = ['servers', 'endpoints', 'provider', 'hedgeDelayMs']


def ms_bounds(name):
    """[min, max] of an integer millisecond setting (hedgeDelayMs included), or None."""
    if name in MS_RANGES:
        return MS_RANGES[name]
    if name in OPTIONAL_MS_RANGES:
        return OPTIONAL_MS_RANGES[name]
    return None


def is_ms_in_range(name, value):
    """Is value a whole number of ms within the bounds of setting name?"""
    bounds = ms_bounds(name)
    return bounds != None and _ms_problem(value, bounds[0], bounds[1]) == None


def ejection_fits(ejection_base_ms, failed_reset_ms):
    """May the first ejection last ejection_base_ms when failed_reset_ms is the longest?"""
    return ejection_base_ms <= failed_reset_ms


def text_fits(name, value):
    """Is value a usable provider model or prompt (non-empty, within its limit)?"""
    limit = MAX_MODEL_CHARS if name == 'model' else MAX_PROMPT_CHARS
    return is_str(value) and len(value.strip()) > 0 and len(value) <= limit


def check_base_url(value):
    """The normalized http(s) base URL (no trailing slash), or None if unusable."""
    if not is_str(value):
        return None
    url = value.strip()
    if len(url) == 0 or len(url) > MAX_URL_CHARS:
        return None
    parts = split_scheme(url)
    if parts == None:
        return None
    rest = parts[1]
    for ch in url:
        if ord(ch) <= 32 or ch == '"' or ch == '<' or ch == '>' or ch == '\\':
            return None
    host = rest.split('/')[0]
    if len(host) == 0 or host.startswith(':') or host.endswith(':') or '@' in host:
        return None
    if '?' in rest or '#' in rest:
        return None
    while url.endswith('/'):
        url = url[:len(url) - 1]
    return url


def check_servers(value):
    """(servers, problem): a list of 1..20 distinct base URLs, or None and why not."""
    if not is_list(value):
        return [None, 'must be a list of http(s) URLs']
    if len(value) < 1 or len(value) > MAX_SERVERS:
        return [None, 'must hold 1 to ' + str(MAX_SERVERS) + ' servers, got ' + str(len(value))]
    out = []
    for item in value:
        url = check_base_url(item)
        if url == None:
            return [None, 'not an http(s) URL: ' + str(item)[:80]]
        if url not in out:
            out.append(url)
    return [out, None]


def check_path(value):
    """A normalized endpoint path ('/health'), or None."""
    if not is_str(value):
        return None
    path = value.strip()
    if len(path) == 0 or len(path) > MAX_PATH_CHARS or not path.startswith('/'):
        return None
    for ch in path:
        if ord(ch) <= 32 or ch == '?' or ch == '#':
            return None
    # The deployed servers answer a trailing slash with 308 (KEYSERVERS.md): never send one.
    while len(path) > 1 and path.endswith('/'):
        path = path[:len(path) - 1]
    if path == '/':
        return None
    return path


def _ms_problem(value, low, high):
    if not is_int(value):
        return 'must be an integer number of ms'
    if value < low or value > high:
        return 'must be between ' + str(low) + ' and ' + str(high) + ' ms'
    return None


def resolve_settings(defaults, stored):
    """[settings, warnings]: the effective settings and one warning per ignored value.

    defaults: the build defaults (every field); stored: whatever was in
    chrome.storage.local `settings` (anything at all, including None).
    """
    warnings = []
    out = {}
    for name in keys_of(MS_RANGES):
        out[name] = defaults[name]
    out['servers'] = [s for s in defaults['servers']]
    out['endpoints'] = {'health': defaults['endpoints']['health'],
                        'key': defaults['endpoints']['key'],
                        'donate': defaults['endpoints']['donate']}
    dp = defaults['provider']
    out['provider'] = {'kind': dp['kind'], 'baseUrl': dp['baseUrl'], 'model': dp['model'],
                       'prompt': dp['prompt']}
    out['hedgeDelayMs'] = field(defaults, 'hedgeDelayMs')

    if stored == None:
        return [out, warnings]
    if not is_object(stored):
        warnings.append('settings: must be an object; using the defaults')
        return [out, warnings]

    for name in keys_of(stored):
        if name not in MS_RANGES and name not in KNOWN_FIELDS:
            warnings.append('settings.' + name + ': unknown setting, ignored')

    for name in keys_of(MS_RANGES):
        value = field(stored, name)
        if value == None:
            continue
        bounds = MS_RANGES[name]
        problem = _ms_problem(value, bounds[0], bounds[1])
        if problem == None:
            out[name] = value
        else:
            warnings.append('settings.' + name + ': ' + problem + '; ignored')

    hedge = field(stored, 'hedgeDelayMs')
    if hedge != None:
        bounds = OPTIONAL_MS_RANGES['hedgeDelayMs']
        problem = _ms_problem(hedge, bounds[0], bounds[1])
        if problem == None:
            out['hedgeDelayMs'] = hedge
        else:
            warnings.append('settings.hedgeDelayMs: ' + problem + '; ignored')

    servers = field(stored, 'servers')
    if servers != None:
        checked = check_servers(servers)
        if checked[0] == None:
            warnings.append('settings.servers: ' + checked[1] + '; ignored')
        else:
            out['servers'] = checked[0]

    endpoints = field(stored, 'endpoints')
    if endpoints != None:
        if not is_object(endpoints):
            warnings.append('settings.endpoints: must be an object; ignored')
        else:
            for name in ENDPOINT_NAMES:
                value = field(endpoints, name)
                if value == None:
                    continue
                path = check_path(value)
                if path == None:
                    warnings.append('settings.endpoints.' + name + ': must be a path like /'
                                    + name + '; ignored')
                else:
                    out['endpoints'][name] = path

    provider = field(stored, 'provider')
    if provider != None:
        if not is_object(provider):
            warnings.append('settings.provider: must be an object; ignored')
        else:
            _merge_provider(out['provider'], provider, warnings)
    _check_ejection(out, defaults, stored, warnings)
    return [out, warnings]


def _check_ejection(out, defaults, stored, warnings):
    """ejectionBaseMs <= failedResetMs, else the stored values that break it are ignored.

    A stored ejectionBaseMs is blamed first; then a stored failedResetMs
    below the first ejection. The defaults always fit (the build checks).
    """
    if ejection_fits(out['ejectionBaseMs'], out['failedResetMs']):
        return None
    if field(stored, 'ejectionBaseMs') == out['ejectionBaseMs']:
        warnings.append('settings.ejectionBaseMs: must not exceed failedResetMs ('
                        + str(out['failedResetMs']) + ' ms, the longest ejection); ignored')
        out['ejectionBaseMs'] = defaults['ejectionBaseMs']
    if not ejection_fits(out['ejectionBaseMs'], out['failedResetMs']):
        warnings.append('settings.failedResetMs: must not be below ejectionBaseMs ('
                        + str(out['ejectionBaseMs']) + ' ms, the first ejection); ignored')
        out['failedResetMs'] = defaults['failedResetMs']
    return None


def _merge_provider(target, provider, warnings):
    kind = field(provider, 'kind')
    if kind != None:
        if is_str(kind) and kind in PROVIDER_KINDS:
            target['kind'] = kind
        else:
            warnings.append('settings.provider.kind: must be "gemini" or "openai"; ignored')
    base = field(provider, 'baseUrl')
    if base != None:
        url = check_base_url(base)
        if url == None:
            warnings.append('settings.provider.baseUrl: not an http(s) URL; ignored')
        else:
            target['baseUrl'] = url
    for name in ['model', 'prompt']:
        value = field(provider, name)
        if value == None:
            continue
        limit = MAX_MODEL_CHARS if name == 'model' else MAX_PROMPT_CHARS
        if text_fits(name, value):
            target[name] = value.strip()
        else:
            warnings.append('settings.provider.' + name + ': must be a non-empty text of at most '
                            + str(limit) + ' characters; ignored')
