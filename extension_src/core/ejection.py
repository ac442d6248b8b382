"""How long a failed server stays out of the pool.

The original design kept every failed server out for a fixed 5 minutes. We
follow Envoy's outlier detection and Finagle's failure accrual instead: the
first ejection is short and each consecutive failure doubles it, with jitter
so that a fleet of installs does not come back in lockstep, capped at
`failedResetMs`. A success resets the count (done by the pool).
"""

JITTER_FRACTION = 0.2   # the ejection is drawn from [d * 0.8, d * 1.0]
# Outage trials (core.pool.Outage): how long after a failed trial the next one may go.
OUTAGE_TRIAL_CAP_MS = 40000   # so a fleet finds a returned pool within a minute
OUTAGE_TRIAL_JITTER = 0.5     # the gap is drawn from [d * 0.5, d * 1.0]


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


def outage_trial_gap_ms(empty, failed_trials, base_ms, cap_ms, random_fn):
    """How long after its n-th failed trial (n >= 1) an outage is tried again.

    d = min(cap, base_ms * 2 ** (n - 1)) with cap = min(OUTAGE_TRIAL_CAP_MS,
    cap_ms), drawn from [d / 2, d]. An empty pool (empty: True) starts at the
    cap: it refills when someone donates, not in seconds, and a donation in
    this browser ends the outage at once (core.pool.Pool.refilled). The
    fleet simulation (benchmarks/fleet.py) chose the cap: installs that stop
    asking for minutes keep failing their users for minutes after the pool
    is back; 40 s brings every active install back within a minute while
    each asks at most once per gap. The wide jitter spreads a fleet's
    trials, so a returning pool is not met by every install at once.
    """
    cap = min(OUTAGE_TRIAL_CAP_MS, cap_ms)
    d = _doubled(cap if empty else base_ms, failed_trials, cap)
    return int(d * (1.0 - OUTAGE_TRIAL_JITTER * random_fn()))
