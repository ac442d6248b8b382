"""A donation: checks on the key before any network, then the flow's decisions (CONTRACT.md §1 donate)."""

from core import outcome as oc
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
    if raw == None:
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


# -------------------------------------------------------------------- the flow
#
# A donation asks every server's /health at once (a cheap route), then POSTs
# the key to one server at a time, in a random order, healthy servers first.
# The key route's record in the pool ledger plays no part: an empty pool
# (every key request failing) is exactly when a donation is needed
# (CONTRACT.md §1). A server whose /health answered over HTTP but not
# "healthy" (the older server's broken /health) is tried after the healthy
# ones, as the original extension did; one that did not answer at all
# (refused, timed out) is skipped.

HEALTHY = 'healthy'
ANSWERED = 'answered'      # answered over HTTP, but not healthy
SILENT = 'silent'          # refused, timed out, blocked: no POST goes there
HEALTH_GRACE_MS = 300      # how long the random order may wait on a slower health answer

NO_SERVER_MESSAGE = ('No key server could take the donation right now. '
                     'Your key was not sent anywhere else; please try again later.')
BLOCKED_MESSAGE = ('Keypool may not reach the key servers: allow them in Options '
                   '(Keypool asks for the permission when you save the servers there). '
                   'Your key was not sent.')
IN_POOL_MESSAGE = ('Your key is in the pool. An earlier attempt reached a server without '
                   'an answer, and the pool now has the key. Thank you!')

# verdicts of after_post
ACCEPTED = 'accepted'
IN_POOL = 'in_pool'
REJECTED = 'rejected'
NEXT = 'next'


def is_already_donated(text):
    """Does a server's rejection say that the key is already in the pool?"""
    lowered = text.lower() if is_str(text) else ''
    return lowered.find('already') >= 0 and lowered.find('donated') >= 0


class DonationRun:
    """The decisions of one donation; the glue sends the requests and reports back.

    order: the servers in the order to try them (the glue shuffles).
    """

    def __init__(self, order, started_ms):
        self.order = [u for u in order]
        self.started_ms = started_ms
        self.health = {}        # url -> HEALTHY / ANSWERED / SILENT
        self.blocked = []       # servers the browser would not let us reach
        self.posted = []
        self.ambiguous = False  # a POST may have been stored without our seeing the answer

    def saw_health(self, url, verdict, is_blocked):
        self.health[url] = verdict
        if is_blocked:
            self.blocked.append(url)

    def next_server(self, now_ms):
        """[url, None] to POST to, [None, wait] to wait for more health answers, or [None, None].

        The first server in the order that is healthy, once every server before
        it has answered (or HEALTH_GRACE_MS has passed with a healthy one known);
        when no healthy one is left, the ones that answered over HTTP.
        """
        pending = False
        for url in self.order:
            if url in self.posted:
                continue
            verdict = self.health[url] if url in self.health else None
            if verdict == None:
                pending = True
                continue
            if verdict == HEALTHY:
                if not pending or now_ms - self.started_ms >= HEALTH_GRACE_MS:
                    return [url, None]
                return [None, HEALTH_GRACE_MS - (now_ms - self.started_ms)]
        if pending:
            return [None, -1]      # wait for the next health answer, however long
        for url in self.order:
            if url not in self.posted and self.health[url] == ANSWERED:
                return [url, None]
        return [None, None]

    def after_post(self, url, kind, reason):
        """ACCEPTED, IN_POOL, REJECTED or NEXT for a POST's outcome kind (core.outcome)."""
        self.posted.append(url)
        if kind == oc.OK:
            return ACCEPTED
        if kind == oc.REJECTED:
            if self.ambiguous and is_already_donated(reason):
                return IN_POOL
            return REJECTED
        if kind == oc.TIMEOUT or kind == oc.NETWORK_ERROR:
            # The request may have reached the server and been stored: a later
            # "already donated" then means the key is in, not that it was refused.
            self.ambiguous = True
        if kind == oc.BLOCKED:
            self.blocked.append(url)
        return NEXT

    def failure_message(self):
        """Nobody took the key: why, for a person."""
        reached = [u for u in self.posted if u not in self.blocked]
        if len(self.blocked) > 0 and len(reached) == 0:
            return BLOCKED_MESSAGE
        return NO_SERVER_MESSAGE
