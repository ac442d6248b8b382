"""Console output of the service worker.

The failover lines of CONTRACT.md §5 are written verbatim (other tests match
them); everything else carries the [keypool] prefix. Never pass a whole API
key here: use core.redact.mask_key.
"""

PREFIX = '[keypool]'


def contract_line(text):
    """A CONTRACT.md §5 line, exactly as specified."""
    console.log(text)


def info(text):
    console.log(PREFIX + ' ' + text)


def warn(text):
    console.warn(PREFIX + ' ' + text)


def error(text, err=None):
    if err != None:
        console.error(PREFIX + ' ' + text, str(err), err.stack if err.stack != None else '')
    else:
        console.error(PREFIX + ' ' + text)


def in_background(promise, what):
    """Let promise run without anyone awaiting it; log its failure under `what`."""
    promise.catch(lambda e: error(what + ' failed', e))
