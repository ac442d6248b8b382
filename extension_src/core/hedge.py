"""When to ask a second server for a key (a hedged request, Dean & Barroso 2013).

Ask one server; if it has not answered after the hedge delay, ask another too
and keep the first good answer. A delay near a high percentile of the
latencies seen keeps the extra load small when servers are healthy, and cuts
the wait on a hanging server from the 10 s timeout to the delay.
"""

from core.compat import is_int, is_number

COLD_DELAY_MS = 250     # no latencies seen yet: a guess that keeps 4 hanging servers under ~1 s
FLOOR_MS = 60           # below this, scheduling noise alone would trigger hedges
CEILING_MS = 1000       # CONTRACT.md §3: a derived delay is never over 1 s
MIN_SAMPLES = 5
MAX_SAMPLES = 32        # the latency window kept in the pool ledger
PERCENTILE = 0.95
MULTIPLIER = 2          # headroom over p95 so a healthy server is rarely hedged


def percentile(samples, q):
    """The q-quantile (nearest rank) of a non-empty list of numbers."""
    ordered = sorted(samples)
    rank = int(q * len(ordered) + 0.999999)
    index = min(len(ordered) - 1, max(0, rank - 1))
    return ordered[index]


def hedge_delay_ms(configured_ms, latencies_ms):
    """The hedge delay in ms; 0 means "do not hedge".

    A configured hedgeDelayMs wins (0 turns hedging off). Otherwise: fewer than
    5 latencies seen -> 250 ms; else 2 x p95 of the latencies, within
    [60 ms, 1000 ms].
    """
    if is_int(configured_ms) and configured_ms >= 0:
        return configured_ms
    usable = [x for x in latencies_ms if is_number(x) and x >= 0]
    if len(usable) < MIN_SAMPLES:
        return COLD_DELAY_MS
    estimate = int(percentile(usable, PERCENTILE) * MULTIPLIER)
    return max(FLOOR_MS, min(CEILING_MS, estimate))


def remember_latency(latencies_ms, latency_ms):
    """A new latency list with latency_ms appended, the oldest dropped past 32."""
    out = [x for x in latencies_ms]
    out.append(latency_ms)
    while len(out) > MAX_SAMPLES:
        out.pop(0)
    return out
