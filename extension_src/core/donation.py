"""Checks on a donated key before any network (CONTRACT.md §1 donate)."""

from core.compat import is_str

MAX_KEY_CHARS = 512
MAX_DONOR_CHARS = 254


def check_key_input(raw):
    """[key, None] with the trimmed key, or [None, a message for the person]."""
    if not is_str(raw):
        return [None, 'Please enter an API key.']
    key = raw.strip()
    if len(key) == 0:
        return [None, 'Please enter an API key.']
    if len(key) > MAX_KEY_CHARS:
        return [None, 'That key is too long: at most ' + str(MAX_KEY_CHARS) + ' characters.']
    for ch in key:
        code = ord(ch)
        if code <= 32 or code == 127 or (code >= 128 and code <= 159) or code == 160 \
                or code == 0x2028 or code == 0x2029 or code == 0xfeff:
            return [None, 'An API key has no spaces or invisible characters inside; '
                          'please check what you pasted.']
    return [key, None]


def check_donor_input(raw):
    """[donor, None] (may be ''), or [None, message]: an optional name or e-mail."""
    if raw == None:  # noqa: E711
        return ['', None]
    if not is_str(raw):
        return [None, 'The name or e-mail must be text.']
    donor = raw.strip()
    if len(donor) > MAX_DONOR_CHARS:
        return [None, 'The name or e-mail is too long: at most ' + str(MAX_DONOR_CHARS)
                + ' characters.']
    for ch in donor:
        if ord(ch) < 32 or ord(ch) == 127:
            return [None, 'The name or e-mail has invisible characters; please retype it.']
    return [donor, None]
