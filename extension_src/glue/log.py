"""Console output of the service worker.

The failover lines of CONTRACT.md §5 are written verbatim (other tests match
them); everything else carries the [keypool] prefix. Never pass a whole API
key here: use core.redact.mask_key.

Lines are written in the order they are logged. A line logged with
contract_line_soon waits (at most SOON_MS) for the next line or flush(): the
lines a key fetch logs while its first request is in flight then do not
compete with that request's answer on the worker's thread (with DevTools
attached, the first console line of a fresh worker costs 0.5-2 ms).
"""

from glue import soon

PREFIX = '[keypool]'
SOON_MS = 100

_soon = soon.new_queue()


def _console_log(text):
    console.log(text)


def flush():
    """Write the lines that contract_line_soon holds, in order."""
    soon.flush(_soon, _console_log)


def contract_line(text):
    """A CONTRACT.md §5 line, exactly as specified."""
    flush()
    console.log(text)


def contract_line_soon(text):
    """A CONTRACT.md §5 line, written before the next line, within SOON_MS."""
    soon.add(_soon, text, _console_log, SOON_MS)


def info(text):
    flush()
    console.log(PREFIX + ' ' + text)


def warn(text):
    flush()
    console.warn(PREFIX + ' ' + text)


def error(text, err=None):
    flush()
    if err != None:
        console.error(PREFIX + ' ' + text, str(err), err.stack if err.stack != None else '')
    else:
        console.error(PREFIX + ' ' + text)


def in_background(promise, what):
    """Let promise run without anyone awaiting it; log its failure under `what`."""
    promise.catch(lambda e: error(what + ' failed', e))
