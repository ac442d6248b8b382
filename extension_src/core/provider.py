"""Requests to the image-analysis provider and what its answers mean (CONTRACT.md §2).

The key always travels in a header (x-goog-api-key, or Authorization:
Bearer), never in the URL, where it would end up in logs and history.

The provider's answers are untrusted like a key server's (core.outcome):
read from a prototype-free copy with core.compat.field, in a module compiled
without keyword arguments; every text is masked before it is cut.
"""

from core.compat import field, is_list, is_object, is_str, json_copy
from core.redact import clean_text, redact

# The readers below get foreign bodies; nothing here takes keyword arguments.
# __pragma__ ('nokwargs')

GEMINI = 'gemini'
OPENAI = 'openai'

# What a failed provider call means for the key that made it.
BAD_KEY = 'bad_key'          # 401, 403, or 400 naming an invalid key: drop it, get another
EXHAUSTED = 'exhausted'      # 429: quota used up; drop it, get another
FAILED = 'failed'            # anything else: report, keep the key

PROVIDER_TEXT_MAX_CHARS = 300
RESULT_MAX_CHARS = 20000


def request_spec(provider, api_key, mime_type, data_b64, image_url):
    """{url, headers, body} for one analysis call.

    provider: the resolved settings.provider. The image goes inline as base64
    (data_b64 with mime_type); for "openai", as a data: URL (image_url is only a
    fallback when no bytes are available).
    """
    base = provider['baseUrl']
    prompt = provider['prompt']
    model = provider['model']
    if provider['kind'] == OPENAI:
        if data_b64 != None:
            url_for_model = 'data:' + mime_type + ';base64,' + data_b64
        else:
            url_for_model = image_url
        body = {'model': model, 'messages': [{'role': 'user', 'content': [
            {'type': 'text', 'text': prompt},
            {'type': 'image_url', 'image_url': {'url': url_for_model}},
        ]}]}
        headers = [['Content-Type', 'application/json'], ['Authorization', 'Bearer ' + api_key]]
        return {'url': base + '/chat/completions', 'headers': headers, 'body': body}
    body = {'contents': [{'parts': [
        {'text': prompt},
        {'inline_data': {'mime_type': mime_type, 'data': data_b64}},
    ]}]}
    headers = [['Content-Type', 'application/json'], ['x-goog-api-key', api_key]]
    return {'url': base + '/models/' + model + ':generateContent', 'headers': headers, 'body': body}


def answer_text(kind, body):
    """The model's text from a 2xx JSON body, whole (see result_text), or None if it has none."""
    body = json_copy(body, 0)
    if kind == OPENAI:
        choices = field(body, 'choices')
        if not is_list(choices) or len(choices) == 0:
            return None
        content = field(field(choices[0], 'message'), 'content')
    else:
        candidates = field(body, 'candidates')
        if not is_list(candidates) or len(candidates) == 0:
            return None
        parts = field(field(candidates[0], 'content'), 'parts')
        if not is_list(parts) or len(parts) == 0:
            return None
        content = field(parts[0], 'text')
    if not is_str(content) or len(content.strip()) == 0:
        return None
    return content.strip()


def result_text(text, api_key):
    """The answer as shown and stored: the key masked first, then cut to RESULT_MAX_CHARS."""
    masked = redact(text, api_key)
    if len(masked) > RESULT_MAX_CHARS:
        return masked[:RESULT_MAX_CHARS - 1] + '…'
    return masked


def _error_message(body):
    """The provider's error message from {"error": {"message": ...}} or {"error": "..."}."""
    err = field(body, 'error')
    if is_str(err):
        return err
    if is_object(err):
        message = field(err, 'message')
        if is_str(message):
            return message
        status = field(err, 'status')
        if is_str(status):
            return status
    return ''


def failure_kind(status, body):
    """BAD_KEY, EXHAUSTED or FAILED for a non-2xx provider answer."""
    body = json_copy(body, 0)
    if status == 401 or status == 403:
        return BAD_KEY
    if status == 429:
        return EXHAUSTED
    if status == 400:
        text = _error_message(body).lower()
        if 'api key' in text or 'api_key' in text or 'apikey' in text:
            return BAD_KEY
    return FAILED


def failure_text(status, body, api_key):
    """A sentence for the person, with the provider's own words (never the key)."""
    body = json_copy(body, 0)
    message = clean_text(redact(_error_message(body), api_key), PROVIDER_TEXT_MAX_CHARS)
    while message.endswith('.'):   # the sentence gets its own full stop below
        message = message[:len(message) - 1]
    kind = failure_kind(status, body)
    if kind == BAD_KEY:
        lead = 'The AI provider refused the API key'
    elif kind == EXHAUSTED:
        lead = 'The API key has run out of quota'
    elif status >= 500:
        lead = 'The AI provider had a problem (HTTP ' + str(status) + ')'
    else:
        lead = 'The AI provider could not analyze the image (HTTP ' + str(status) + ')'
    return lead + (': ' + message if len(message) > 0 else '') + '.'
# __pragma__ ('kwargs')
