"""Make `except Exception` catch native JS errors (TRANSCRYPT.md §3).

Import this first in every entry module. Transcrypt's `except Exception`
only matches Transcrypt classes; giving Error.prototype a `__class__` makes
native TypeError / DOMException / AbortError match too.
"""
__pragma__('js', '{}', '''
Object.defineProperty(Error.prototype, "__class__", {value: Exception, writable: true, configurable: true});
''')
