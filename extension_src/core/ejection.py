"""How long a failed server stays out of the pool.

The original design kept every failed server out for a fixed 5 minutes. We
follow Envoy's outlier detection and Finagle's failure accrual instead: the
first ejection is short and each consecutive failure doubles it, with jitter
so that a fleet of installs does not come back in lockstep, capped at
`failedResetMs`. A success resets the count (done by the pool).
"""

JITTER_FRACTION = 0.2   # the ejection is drawn from [d * 0.8, d * 1.0]
# Outage trials (core.pool.Outage): how long after a failed trial the next one may go.
# The fleet simulation (benchmarks/fleet.py, BENCHMARKS.md "Fleet") chose them.
OUTAGE_TRIAL_GAP_MS = 60000        # every server down: the pool is found within a minute
OUTAGE_EMPTY_TRIAL_GAP_MS = 150000  # the shared pool empty: a donation refills it, not seconds
OUTAGE_TRIAL_JITTER = 0.3          # the gap is drawn from [d * 0.7, d * 1.0]


def ejection_ms(consecutive_failures, base_ms, cap_ms, random_fn):
    """Ejection time for the n-th consecutive failure (n >= 1).

    d = min(cap_ms, base_ms * 2 ** (n - 1)), then jittered down by at most 20 %:
    the result is in [0.8 d, d], so it never exceeds cap_ms. base_ms >= cap_ms
    gives the original fixed window (jittered).
    """
    d = _doubled(base_ms, consecutive_failures, cap_ms)
    return int(d * (1.0 - JITTER_FRACTION * random_fn()))


def _doubled(base_ms, n, cap_ms):
    """min(cap_ms, base_ms * 2 ** (n - 1)) for n >= 1, without a huge power."""
    d = base_ms
    for _ in range(max(1, n) - 1):
        if d >= cap_ms:
            break
        d = d * 2
    return min(d, cap_ms)


def retry_after_ejection_ms(hint_ms, cap_ms):
    """Ejection for a server that said Retry-After: exactly the hint, capped, no jitter."""
    return max(0, min(hint_ms, cap_ms))


def outage_trial_gap_ms(empty, cap_ms, random_fn):
    """How long after a failed trial (or, for an empty pool, its discovery) the next one may go.

    d = OUTAGE_EMPTY_TRIAL_GAP_MS for an empty pool (empty: True), else
    OUTAGE_TRIAL_GAP_MS, capped at cap_ms (failedResetMs: no server stays out
    longer), drawn from [0.7 d, d]. The gap does not start short and double,
    as an ejection does: installs keep meeting an outage for the first time,
    and short first gaps made the young outages of all of them ask every few
    seconds (a returning pool met 2.5-3x the steady key rate, against under 2x
    with one gap). A person who has just restarted a server need not wait for
    it: the first trial goes at once, and "Try again" checks at once. An empty
    pool refills when someone donates (in this browser, the donation ends the
    outage at once: core.pool.Pool.refilled); asking every few seconds only
    adds to the servers' load (1.7x the steady key rate, against 1.0x).
    """
    d = min(OUTAGE_EMPTY_TRIAL_GAP_MS if empty else OUTAGE_TRIAL_GAP_MS, cap_ms)
    return int(d * (1.0 - OUTAGE_TRIAL_JITTER * random_fn()))
