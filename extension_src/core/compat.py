"""Type checks that give the same answers in CPython and in Transcrypt.

Values reach the core from JSON, chrome.storage and sendMessage: in the
browser they are plain JS objects and arrays, in CPython dicts and lists.
`isinstance(x, dict)` is False for a plain JS object, and JS has no int type,
so each check has one branch per runtime.

Values from a server (JSON bodies) are untrusted, and in Transcrypt they are
not inert (../shared/TRANSCRYPT.md §8): `key in obj` calls obj.indexOf or
obj.hasOwnProperty, and a Python function looks for `__kwargtrans__` with
obj.hasOwnProperty() on its last argument and on every defaulted parameter.
A body such as {"geminiApiKey": "...", "indexOf": 1} made those throw. So:
- json_copy() turns a foreign JSON value into a prototype-free copy. Reading
  it never reaches Object.prototype, and any `in`, or any pass of such an
  object as the last or a defaulted argument of a Python function, now
  throws on *every* answer rather than only on a hostile one: ordinary tests
  catch the mistake.
- The helpers below are compiled without keyword-argument support (the
  nokwargs pragma) and read own properties only, so they are the one safe
  way to look into a foreign object.
"""

# __pragma__ ('ecom')
IS_TRANSCRYPT = False
#?IS_TRANSCRYPT = True
# __pragma__ ('noecom')

MAX_JSON_DEPTH = 32     # deeper foreign JSON is cut off (None): no recursion bomb

# Every helper here may get a foreign object as its last argument: no kwargs.
# __pragma__ ('nokwargs')


def is_str(x):
    """Is x a string?"""
    if IS_TRANSCRYPT:
        return x != None and Object.prototype.toString.call(x) == '[object String]'
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
        return x != None and Object.prototype.toString.call(x) == '[object Object]'
    return isinstance(x, dict)


def has_own(obj, key):
    """Does the mapping obj hold key as its own field? (never `in`: see the module doc)"""
    if not is_object(obj):
        return False
    if IS_TRANSCRYPT:
        return Object.prototype.hasOwnProperty.call(obj, key)
    return key in obj


def field(obj, key):
    """obj[key] if obj is a mapping holding key as its own field, else None (never undefined)."""
    if not has_own(obj, key):
        return None
    value = obj[key]
    if value == None:
        return None
    return value


def keys_of(obj):
    """The own keys of a mapping, as a list of strings."""
    if IS_TRANSCRYPT:
        return Object.js_keys(obj)
    return list(obj.keys())


def _empty_mapping():
    if IS_TRANSCRYPT:
        return Object.create(None)
    return {}


def json_copy(value, depth):
    """A prototype-free deep copy of a foreign JSON value (call with depth 0).

    Objects become prototype-free mappings, arrays new lists, strings,
    numbers and booleans stay; anything else, or anything nested deeper than
    MAX_JSON_DEPTH, becomes None. Read the copy with field() only.
    """
    if depth > MAX_JSON_DEPTH:
        return None
    if is_str(value) or is_number(value) or is_bool(value):
        return value
    if is_list(value):
        return [json_copy(item, depth + 1) for item in value]
    if is_object(value):
        out = _empty_mapping()
        for key in keys_of(value):
            out[key] = json_copy(value[key], depth + 1)
        return out
    return None


def text_or_kind(value):
    """A foreign value as text for a message: a string as it is, else what it is.

    Never str() on a foreign object: a prototype-free one has no toString.
    """
    if is_str(value):
        return value
    if is_number(value):
        return 'a number'
    if is_bool(value):
        return 'a boolean'
    if is_list(value):
        return 'an array'
    if is_object(value):
        return 'an object'
    return 'nothing'
# __pragma__ ('kwargs')
