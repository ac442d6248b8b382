"""Repairs at service-worker start: what a worker stopped mid-action left behind.

Chrome may stop the worker in the middle of an analysis or a donation (or the
browser may kill it). The badge then stays at "…" for good, since the toolbar
badge outlives the worker, and the status line keeps saying "in progress".
A fresh worker runs no action yet, so on start an in-progress status or a
"…" badge can only be stale: tell the person the action was interrupted.
"""

from core import status as st
from core.contract import STATUS
from glue import log
from glue.badge import BADGE_TEXTS, set_badge
from glue.status import WORKER_ID, has_activity, set_status
from glue.store import take_prefetched

IN_PROGRESS_TEXTS = [st.GETTING_KEY, st.CONNECTING, st.ANALYZING, st.FINDING_SERVER,
                     st.VALIDATING, st.RETRYING_ROUND, st.NEW_KEY, st.CAPTURING]
INTERRUPTED_MESSAGE = ("The last action was interrupted: Chrome stopped Keypool's background "
                       'worker before it finished. Please try again.')
BADGE_CLEAR_MS = 8000


def _is_in_progress(status):
    """An in-progress status written by a worker that is gone (every worker stamps its own)."""
    if status == None or status['level'] != st.INFO:
        return False
    writer = status['worker']
    if writer == None or writer == WORKER_ID:
        return False
    return status['text'] in IN_PROGRESS_TEXTS


async def repair_after_restart():
    """Replace a stale in-progress status and a stale "…" badge, unless an action has begun."""
    both = await Promise.all([take_prefetched(STATUS), chrome.action.getBadgeText({})])
    stale_status = _is_in_progress(both[0])
    stale_badge = both[1] == BADGE_TEXTS['work']
    if not (stale_status or stale_badge) or has_activity():
        return None
    # No await between the check and the writes: an action that starts now
    # writes after us, and its status and badge win.
    if not stale_status:
        await set_badge('')          # a "…" with nothing in progress: just clear it
        return None
    log.warn('the previous worker stopped in the middle of an action; telling the person')
    jobs = [set_status(st.error_text(INTERRUPTED_MESSAGE), st.ERROR)]
    if stale_badge:
        jobs.append(set_badge('error'))
        setTimeout(lambda: set_badge('') if not has_activity() else None, BADGE_CLEAR_MS)
    await Promise.all(jobs)
    return None
