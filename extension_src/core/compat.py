"""Type checks that give the same answers in CPython and in Transcrypt.

Values reach the core from JSON, chrome.storage and sendMessage: in the
browser they are plain JS objects and arrays, in CPython dicts and lists.
`isinstance(x, dict)` is False for a plain JS object, and JS has no int type,
so each check has one branch per runtime.
"""

# __pragma__ ('ecom')
IS_TRANSCRYPT = False
#?IS_TRANSCRYPT = True
# __pragma__ ('noecom')


def is_str(x):
    """Is x a string?"""
    if IS_TRANSCRYPT:
        return x != None and Object.prototype.toString.call(x) == '[object String]'  # noqa: E711
    return isinstance(x, str)


def is_int(x):
    """Is x an integer number (booleans are not)?"""
    if IS_TRANSCRYPT:
        return Number.isInteger(x)
    return isinstance(x, int) and not isinstance(x, bool)


def is_number(x):
    """Is x a finite number (booleans are not)?"""
    if IS_TRANSCRYPT:
        return Number.isFinite(x)
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float('inf')


def is_bool(x):
    """Is x exactly True or False?"""
    if IS_TRANSCRYPT:
        return x is True or x is False
    return isinstance(x, bool)


def is_list(x):
    """Is x a list (a JS array)?"""
    if IS_TRANSCRYPT:
        return Array.isArray(x)
    return isinstance(x, list)


def is_object(x):
    """Is x a plain mapping (a dict, or a plain JS object)?"""
    if IS_TRANSCRYPT:
        return x != None and Object.prototype.toString.call(x) == '[object Object]'  # noqa: E711
    return isinstance(x, dict)


def is_missing(x):
    """Is x None, or JS undefined/null?"""
    return x == None  # noqa: E711  (JS: == null also matches undefined)


def field(obj, key):
    """obj[key] if obj is a mapping holding key, else None (never undefined)."""
    if not is_object(obj):
        return None
    if key not in obj:
        return None
    value = obj[key]
    if value == None:  # noqa: E711
        return None
    return value


def keys_of(obj):
    """The own keys of a mapping, as a list of strings."""
    if IS_TRANSCRYPT:
        return Object.js_keys(obj)
    return list(obj.keys())


def int_div(a, b):
    """Integer division that is the same in both runtimes (floor)."""
    return int(a // b)
