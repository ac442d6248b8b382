"""Writes held back a little: a queue that one timer (or the next caller) empties in order.

glue.log and glue.status use it for what a key fetch writes while its first
request is in flight: the console lines and status records then come after
the answer, in the order they were made.
"""


def new_queue():
    return {'items': [], 'timer': None}


def flush(queue, write):
    """write(item) for every item queued, oldest first; the timer is cancelled."""
    if queue['timer'] != None:
        clearTimeout(queue['timer'])
        queue['timer'] = None
    items = queue['items']
    if len(items) > 0:
        queue['items'] = []
        for item in items:
            write(item)


def add(queue, item, write, delay_ms):
    """Queue item; it is written within delay_ms, or at the next flush."""
    queue['items'].append(item)
    if queue['timer'] == None:
        queue['timer'] = setTimeout(lambda: flush(queue, write), delay_ms)
