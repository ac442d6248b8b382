"""Show an API key without giving it away (CONTRACT.md §5)."""

from core.compat import is_str

MASK = '…'


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


def clean_text(text, max_chars):
    """An untrusted text, one line, control characters removed, cut to max_chars.

    Server and provider texts are shown as plain text (never HTML); this keeps
    a hostile or broken server from flooding the popup or the console.
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
    joined = ''.join(out).strip()
    if len(joined) > max_chars:
        return joined[:max_chars - 1] + '…'
    return joined
