"""Show an API key without giving it away (CONTRACT.md §5).

Mask first, cut after: a text is cut only once every key in it is masked.
Cutting first turned "...260 characters... AIzaSy<30 more>" into a text
that ended in 34 of the key's 36 characters, which no mask then matched.
"""

from core.compat import is_str

MASK = '…'
KEYLIKE_MIN_CHARS = 20       # a run of key characters this long, with a digit, is masked
KEY_PREFIXES = ['AIza', 'sk-']
KEY_PREFIX_MIN_CHARS = 12    # ... or this long when it starts like a known key


def mask_key(key):
    """The first 4 and last 2 characters of a key, e.g. 'AIza…9f'.

    Keys of 12 characters or fewer show nothing but the mask: revealing 6 of
    them would give away half the secret.
    """
    if not is_str(key) or len(key) <= 12:
        return MASK
    return key[:4] + MASK + key[len(key) - 2:]


def redact(text, key):
    """text with every occurrence of key replaced by its mask.

    For texts that may echo a key back (a provider's error message).
    """
    if not is_str(text):
        return ''
    if not is_str(key) or len(key) == 0:
        return text
    return text.replace(key, mask_key(key))


def _is_key_char(ch):
    return (ch >= 'a' and ch <= 'z') or (ch >= 'A' and ch <= 'Z') or (ch >= '0' and ch <= '9') \
        or ch == '-' or ch == '_'


def _looks_like_key(run):
    """Is this run of key characters probably a secret? (long with a digit, or a key prefix)"""
    for prefix in KEY_PREFIXES:
        if run.startswith(prefix) and len(run) >= KEY_PREFIX_MIN_CHARS:
            return True
    if len(run) < KEYLIKE_MIN_CHARS:
        return False
    for ch in run:
        if ch >= '0' and ch <= '9':
            return True
    return False


def mask_keylike(text):
    """text with every token that looks like an API key masked (mask_key).

    For texts that may echo a key Keypool does not know (a server's error
    text); a known key is masked exactly by redact(). Runs of letters,
    digits, '-' and '_' count as tokens.
    """
    out = []
    run = []
    for ch in text + ' ':          # the sentinel ends the last run
        if _is_key_char(ch):
            run.append(ch)
            continue
        if len(run) > 0:
            token = ''.join(run)
            out.append(mask_key(token) if _looks_like_key(token) else token)
            run = []
        out.append(ch)
    joined = ''.join(out)
    return joined[:len(joined) - 1]


def clean_text(text, max_chars):
    """An untrusted text, one line, control characters removed, keys masked, cut to max_chars.

    Server and provider texts are shown as plain text (never HTML); this keeps
    a hostile or broken server from flooding the popup or the console. Masking
    comes before the cut, so a cut never leaves part of a key unmasked; to
    mask a key Keypool knows, redact() the text before cleaning it.
    """
    if not is_str(text):
        return ''
    out = []
    for ch in text:
        code = ord(ch)
        if code < 32 or code == 127:
            out.append(' ')
        else:
            out.append(ch)
    joined = mask_keylike(''.join(out).strip())
    if len(joined) > max_chars:
        return joined[:max_chars - 1] + '…'
    return joined
