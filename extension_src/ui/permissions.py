"""Host permissions, asked for in the click that needs them (the options and set-up pages).

Chrome shows its prompt only while the click is being handled, so the
request starts before any await (request_origins) and its answer is awaited
later (was_granted). Neither ever throws: a failed request is a refusal.
"""


def request_origins(origins):
    """chrome.permissions.request for origins, started now: a promise of True or False."""
    try:
        return chrome.permissions.request({'origins': origins})
    except Exception as e:
        console.warn('[keypool] permission request failed:', str(e))
        return Promise.resolve(False)


async def was_granted(granted):
    """The answer of request_origins(): True when Chrome gave every origin asked for."""
    try:
        allowed = await granted
    except Exception as e:
        console.warn('[keypool] permission request failed:', str(e))
        allowed = False
    return allowed == True   # a JS truthy value that is not true is not a grant
