"""Image analysis: a key from the pool, the image, the provider (CONTRACT.md §2, §4).

Triggers: analyzeImage (popup URL field, context menu), analyzeTab (popup
button, Ctrl+Shift+Y). A refused or exhausted key is dropped and one other
key is tried. The outcome goes to chrome.storage.session `lastAnalysis`, the
status line, the toolbar badge and, where no popup is open, a panel on the
page.
"""

from core import image as im
from core import provider as pv
from core import status as st
from core.contract import HISTORY, LAST_ANALYSIS
from core.outcome import REDIRECT_ERROR
from core.compat import is_str
from core.redact import mask_key
from core.urls import host_pattern, is_http_url
from glue import log
from glue.config import load_settings
from glue.keyfetch import drop_cached_key, get_api_key
from glue.net import read_capped, request
from glue.status import set_status
from glue.store import get_item, set_item
from pagepanel import keypoolMarkDocument, showKeypoolPanel

IMAGE_TIMEOUT_MS = 15000
# Chrome stops a service worker whose fetch has waited 30 s for a response:
# a longer provider timeout would leave the person with no answer at all.
PROVIDER_TIMEOUT_MS = 25000
TAB = 'tab'


class AnalysisError(Exception):
    """A failure with a message meant for the person."""

    def __init__(self, message):
        Exception.__init__(self, message)
        self.message = message


def _bytes_to_base64(buffer):
    data = __new__(Uint8Array(buffer))
    chunks = []
    step = 32768
    i = 0
    while i < data.length:
        chunks.append(String.fromCharCode.apply(None, data.subarray(i, i + step)))
        i += step
    return btoa(''.join(chunks))


def _parse_data_url(url):
    """{mime, data} of a base64 data: URL, else None."""
    comma = url.find(',')
    if comma < 0:
        return None
    meta = url[5:comma]
    payload = url[comma + 1:]
    parts = meta.split(';')
    mime = parts[0] if len(parts[0]) > 0 else 'image/png'
    if 'base64' in parts:
        return {'mime': mime, 'data': payload}
    utf8 = __new__(TextEncoder()).encode(decodeURIComponent(payload))
    return {'mime': mime, 'data': _bytes_to_base64(utf8.buffer)}


async def _origin_permitted(url):
    pattern = host_pattern(url)
    if pattern == None:
        return False
    return await chrome.permissions.contains({'origins': [pattern]})


TOO_LARGE_MESSAGE = 'That image is too large to analyze (over 7 MB).'
FORBIDDEN_MESSAGE = ('Keypool does not load images from its key servers or its AI provider: '
                     'that address is one of theirs.')


async def _discard(resp):
    """Stop a download whose body Keypool will not read."""
    try:
        if resp.body != None:
            await resp.body.cancel()
    except Exception as e:
        log.warn('could not cancel a download: ' + str(e))
    return None


async def load_image(image_url, settings):
    """{mime, data (base64)} of an image URL, or raise AnalysisError saying what to do.

    The address is untrusted (core.image): never a key server's or the
    provider's origin, before or after redirects; never from or into the
    HTTP cache (an answer from a key server would sit on disk); only a body
    whose first bytes are an image; reading stops at MAX_IMAGE_BYTES.
    """
    if image_url.startswith('data:'):
        if len(image_url) > im.MAX_DATA_URL_CHARS:
            raise AnalysisError(TOO_LARGE_MESSAGE)
        parsed = _parse_data_url(image_url)
        if parsed == None or not parsed['mime'].startswith('image/'):
            raise AnalysisError('That data: URL is not an image.')
        return parsed
    if not is_http_url(image_url):
        raise AnalysisError('Keypool can analyze http(s) and data: image URLs only.')
    forbidden_in = [settings['servers'], settings['provider']['baseUrl']]
    if im.is_forbidden_image_url(image_url, forbidden_in[0], forbidden_in[1]):
        raise AnalysisError(FORBIDDEN_MESSAGE)
    if not await _origin_permitted(image_url):
        raise AnalysisError('Keypool has no permission to read images from '
                            + __new__(URL(image_url)).host + '. Allow it from the popup, '
                            'or use "Analyze this tab" instead.')
    try:
        resp = await fetch(image_url, {'signal': AbortSignal.timeout(IMAGE_TIMEOUT_MS),
                                       'credentials': 'omit', 'cache': 'no-store'})
    except Exception as e:
        raise AnalysisError('Could not download the image (' + str(e.js_name) + '). '
                            'Try "Analyze this tab" instead.')
    if im.is_forbidden_image_url(resp.url, forbidden_in[0], forbidden_in[1]):
        await _discard(resp)
        raise AnalysisError(FORBIDDEN_MESSAGE)
    if not resp.ok:
        await _discard(resp)
        raise AnalysisError('Could not download the image: HTTP ' + str(resp.status) + '.')
    declared = resp.headers.js_get('content-type')
    if declared != None and not declared.lower().strip().startswith('image/'):
        await _discard(resp)
        raise AnalysisError('That address is not an image (it is ' + declared[:60] + ').')
    try:
        data = await read_capped(resp, im.MAX_IMAGE_BYTES)
    except Exception as e:
        raise AnalysisError('Could not download the image (' + str(e.js_name) + '). '
                            'Try "Analyze this tab" instead.')
    if data == None:
        raise AnalysisError(TOO_LARGE_MESSAGE)
    mime = im.sniff_mime(Array.js_from(data.subarray(0, im.SNIFF_BYTES)))
    if mime == None:
        raise AnalysisError('That address is not an image Keypool can analyze '
                            '(PNG, JPEG, GIF, WebP, BMP, HEIC or AVIF).')
    return {'mime': mime, 'data': _bytes_to_base64(data.buffer)}


async def _call_provider(settings, api_key, image, image_url):
    """[text, None] or [None, {kind, message}] for one provider call."""
    provider = settings['provider']
    spec = pv.request_spec(provider, api_key, image['mime'], image['data'],
                           image_url if image_url != TAB else None)
    res = await request(spec['url'], 'POST', spec['headers'], JSON.stringify(spec['body']),
                        PROVIDER_TIMEOUT_MS, None)
    if res['errorName'] != None:
        what = 'could not be reached'
        if res['errorName'] == 'TimeoutError':
            what = 'did not answer within ' + str(PROVIDER_TIMEOUT_MS // 1000) + ' s'
        elif res['errorName'] == REDIRECT_ERROR:
            what = 'answered with a redirect, which Keypool does not follow (it would take the key along)'
        return [None, {'kind': pv.FAILED, 'message': 'The AI provider ' + what + '.'}]
    if res['status'] < 200 or res['status'] > 299:
        body = res['body'] if res['isJson'] else None
        return [None, {'kind': pv.failure_kind(res['status'], body),
                       'message': pv.failure_text(res['status'], body, api_key)}]
    text = pv.answer_text(provider['kind'], res['body']) if res['isJson'] else None
    if text == None:
        return [None, {'kind': pv.FAILED, 'message': 'The AI provider gave no text for this image.'}]
    return [pv.result_text(text, api_key), None]


# The helpers below take no keyword arguments: no kwargs support (the worker's size budget).
# __pragma__ ('nokwargs')
# HISTORY (core.contract): chrome.storage.session, the last HISTORY_SIZE analyses
HISTORY_SIZE = 10
HISTORY_URL_CHARS = 120        # "a short image address": enough to recognize it
HISTORY_TEXT_CHARS = 4000
MAX_QUESTION_CHARS = 1000


def question_of(request):
    """The person's question about the image (analyzeImage/analyzeTab `question`), or None."""
    question = request['question']
    if not is_str(question) or len(question.strip()) == 0:
        return None
    return question.strip()[:MAX_QUESTION_CHARS]


def with_question(settings, question):
    """settings whose provider prompt is the question (empty: the configured prompt)."""
    if question == None:
        return settings
    provider = {}
    for name in ['kind', 'baseUrl', 'model']:
        provider[name] = settings['provider'][name]
    provider['prompt'] = question
    copy = {}
    for name in Object.js_keys(settings):
        copy[name] = settings[name]
    copy['provider'] = provider
    return copy


# __pragma__ ('kwargs')


async def analyze(image_url, image, question=None):
    """Analyze an image (URL, or an already loaded {mime, data}); {ok, text, server} or error.

    question: asked instead of the configured prompt (None: the prompt).
    """
    settings = with_question(await load_settings(), question)
    try:
        if image == None:
            image = await load_image(image_url, settings)
        key_answer = await get_api_key()
        if not key_answer['ok']:
            raise AnalysisError(key_answer['error'])
        for attempt in range(2):
            await set_status(st.ANALYZING, st.INFO)
            result = await _call_provider(settings, key_answer['apiKey'], image, image_url)
            if result[1] == None:
                return await _finish_ok(image_url, result[0], key_answer['server'])
            failure = result[1]
            if attempt == 0 and (failure['kind'] == pv.BAD_KEY or failure['kind'] == pv.EXHAUSTED):
                log.warn('provider refused key ' + mask_key(key_answer['apiKey']) + ' ('
                         + failure['kind'] + '); getting another')
                await drop_cached_key(key_answer['apiKey'])
                await set_status(st.NEW_KEY, st.INFO)
                key_answer = await get_api_key(False, key_answer['server'])
                if not key_answer['ok']:
                    raise AnalysisError(key_answer['error'])
                continue
            raise AnalysisError(failure['message'])
    except AnalysisError as e:
        return await _finish_error(image_url, e.message)
    except Exception as e:
        log.error('analysis failed unexpectedly', e)
        return await _finish_error(image_url, 'Something went wrong while analyzing the image.')
    return await _finish_error(image_url, 'The AI provider refused the API keys it was given.')


# __pragma__ ('nokwargs')
async def _remember(entry):
    """Put an analysis at the head of the session's history (no key: the text is redacted)."""
    short = {'imageUrl': entry['imageUrl'][:HISTORY_URL_CHARS], 'at': entry['at']}
    if entry['text'] != None:
        short['text'] = entry['text'][:HISTORY_TEXT_CHARS]
    else:
        short['error'] = entry['error']
    old = await get_item(HISTORY)
    items = [short]
    for item in old:
        if len(items) < HISTORY_SIZE:
            items.append(item)
    await set_item(HISTORY, items)


# __pragma__ ('kwargs')


async def _finish_ok(image_url, text, server):
    entry = {'imageUrl': im.stored_image_url(image_url), 'text': text, 'server': server,
             'at': Date.now()}
    await set_item(LAST_ANALYSIS, entry)
    await _remember(entry)
    await set_status(st.ANALYSIS_DONE, st.SUCCESS)
    return {'ok': True, 'text': text, 'server': server}


async def _finish_error(image_url, message):
    entry = {'imageUrl': im.stored_image_url(image_url), 'error': message, 'at': Date.now()}
    await set_item(LAST_ANALYSIS, entry)
    await _remember(entry)
    await set_status(st.error_text(message), st.ERROR)
    return {'ok': False, 'error': message}


async def capture_tab(window_id):
    """{mime, data} of a PNG of the visible part of the active tab, or raise AnalysisError."""
    try:
        if window_id != None:
            data_url = await chrome.tabs.captureVisibleTab(window_id, {'format': 'png'})
        else:
            data_url = await chrome.tabs.captureVisibleTab({'format': 'png'})
    except Exception as e:
        log.warn('captureVisibleTab failed: ' + str(e.message))
        raise AnalysisError('Keypool could not take a picture of this tab (Chrome allows it on '
                            'normal web pages, after you click the toolbar button or press '
                            'Ctrl+Shift+Y).')
    return _parse_data_url(data_url)


async def analyze_tab(window_id, after_capture=None, question=None):
    """Analyze a screenshot of the visible tab; after_capture() (a coroutine function) runs
    once the picture is taken, so that whatever it draws on the page is not in it."""
    try:
        await set_status(st.CAPTURING, st.INFO)
        image = await capture_tab(window_id)
    except AnalysisError as e:
        return await _finish_error(TAB, e.message)
    if after_capture != None:
        await after_capture()
    return await analyze(TAB, image, question)


# --- the on-page panel, for triggers without a popup --------------------------

async def pin_document(tab_id):
    """{tabId, documentId} of the document a person acted on (its top frame), or None.

    Called when they act (context menu, shortcut), so that the answer is shown
    in that document only: after they navigate elsewhere, the new site must
    not get the panel, whose text may describe the old one.
    """
    if tab_id == None or tab_id < 0:
        return None
    try:
        results = await chrome.scripting.executeScript({'target': {'tabId': tab_id, 'frameIds': [0]},
                                                        'func': keypoolMarkDocument})
    except Exception as e:
        log.warn('could not note the page the action came from: ' + str(e.message))
        return None
    if results == None or len(results) == 0 or results[0].documentId == None:
        return None
    return {'tabId': tab_id, 'documentId': results[0].documentId}


# __pragma__ ('nokwargs')
PANEL_SCRIPT = 'js/panel.js'


def subject_text(image_url):
    """What was analyzed, for the panel: 'Screenshot of this tab' or the image's short address."""
    if image_url == TAB:
        return 'Screenshot of this tab'
    if image_url.startswith('data:'):
        return 'An image embedded in the page'
    short = im.stored_image_url(image_url)
    return 'Image: ' + (short[:80] + '…' if len(short) > 80 else short)


async def _draw_panel(pin, state):
    """Draw the panel in the pinned document (js/panel.js, then its state). Best effort.

    Some pages forbid scripts; a document the tab no longer shows is refused
    by Chrome ("No document with id"), and then nothing is shown.
    """
    if pin == None:
        return None
    target = {'tabId': pin['tabId'], 'documentIds': [pin['documentId']]}
    try:
        await chrome.scripting.executeScript({'target': target, 'files': [PANEL_SCRIPT]})
        await chrome.scripting.executeScript({'target': target, 'func': showKeypoolPanel,
                                              'args': [state]})
    except Exception as e:
        log.warn('could not show the result on the page: ' + str(e.message))
    return None


async def show_analyzing(pin, subject):
    """The panel says "Analyzing…" the moment the shortcut or menu fires (issue 9)."""
    await _draw_panel(pin, {'title': 'Keypool', 'subject': subject, 'text': 'Analyzing…',
                            'level': 'info', 'markdown': False})


async def show_consent(pin, subject, how):
    """The first analysis in a tab with no popup open: say what would go where, and how to agree."""
    await _draw_panel(pin, {'title': 'Send this to your AI provider?', 'subject': subject,
                            'text': 'Keypool would send it to your AI provider for analysis, '
                            'with an API key from your key servers. To send it, ' + how
                            + '. What is sent where: Keypool\'s popup, "Privacy".',
                            'level': 'info', 'markdown': False})


async def show_on_page(pin, answer, subject):
    """Put the outcome in the pinned document (the popup is closed)."""
    if answer['ok']:
        state = {'title': 'Keypool', 'subject': subject, 'text': answer['text'],
                 'level': 'success', 'markdown': True}
    else:
        state = {'title': 'Keypool could not analyze this', 'subject': subject,
                 'text': answer['error'], 'level': 'error', 'markdown': False}
    await _draw_panel(pin, state)
# __pragma__ ('kwargs')
