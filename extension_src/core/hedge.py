"""When to ask a second server for a key (a hedged request, Dean & Barroso 2013).

Ask one server; if it has not answered after the hedge delay, ask another too
and keep the first good answer. A delay near a high percentile of the
latencies seen keeps the extra load small when servers are healthy, and cuts
the wait on a hanging server from the 10 s timeout to the delay.

A key request is not free for the servers (KEYSERVERS.md): each one spends an
allocation and a live Gemini call, even when the client aborts it. So a hedge
needs a reason:
- evidence: after some silence (core.hedge.liveness_check_ms), the silent server and the
  untried ones are asked for /health (a cheap route). If another server
  answers and the silent one does not, the silent one is hanging: hedge to
  the one that answered. A silent server that answers its health check is
  alive and merely slow (its key route waits on Gemini): no hedge.
- a blind hedge at the derived delay (2 x p95 of the key latencies, 1 s
  while fewer than 5 are known), paid from a budget (Finagle's backup
  requests): each key fetch earns HEDGE_CREDIT_PER_RUN, a blind hedge costs
  one credit, so blind hedges add at most ~5 % to the pool's key traffic.
"""

from core.compat import is_int, is_number

COLD_DELAY_MS = 1000    # no latencies seen yet: a healthy key route takes 300-900 ms
LIVENESS_CHECK_MS = 950  # cold: silence after which /health is asked who is alive; above a
                         # healthy key route (300-900 ms), below the 1 s cold hedge delay
LIVENESS_CHECK_FACTOR = 1.5  # once latencies are known: this x p95 of them, at least FLOOR_MS
LIVENESS_GRACE_MIN_MS = 50   # a silent server gets this long (or 3x the fastest answer)
LIVENESS_GRACE_FACTOR = 3
HEDGE_CREDIT_INITIAL = 1.0   # a fresh profile may hedge blindly once
HEDGE_CREDIT_PER_RUN = 0.05  # earned by each key fetch: blind hedges <= ~5 % extra load
HEDGE_CREDIT_MAX = 2.0
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
    5 latencies seen -> 1000 ms; else 2 x p95 of the latencies, within
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


def is_configured(configured_ms):
    """Did the person set hedgeDelayMs? Then it is honoured exactly: no checks, no budget."""
    return is_int(configured_ms) and configured_ms >= 0


def liveness_check_ms(delay_ms, latencies_ms):
    """After how much silence /health is asked.

    Once the key route's latencies are known: above their usual range
    (LIVENESS_CHECK_FACTOR x p95, at least FLOOR_MS), so a healthy but slow key
    route (a live Gemini call, 300-900 ms) never triggers a check; never later
    than the hedge delay. Cold: LIVENESS_CHECK_MS (950 ms). The fleet
    simulation (benchmarks/fleet.py) showed a cold 250 ms firing on most
    healthy fetches: installs with a 2 h key cache rarely learn 5 latencies.
    """
    usable = [x for x in latencies_ms if is_number(x) and x >= 0]
    if len(usable) < MIN_SAMPLES:
        return min(LIVENESS_CHECK_MS, delay_ms)
    usual_ms = int(percentile(usable, PERCENTILE) * LIVENESS_CHECK_FACTOR)
    return min(delay_ms, max(FLOOR_MS, usual_ms))


def liveness_grace_ms(fastest_answer_ms):
    """How long a silent server may lag behind the fastest health answer before it counts as hanging."""
    return max(LIVENESS_GRACE_MIN_MS, LIVENESS_GRACE_FACTOR * fastest_answer_ms)


def earn_credit(credit):
    """The hedge credit after one more key fetch."""
    base = credit if is_number(credit) else HEDGE_CREDIT_INITIAL
    return min(HEDGE_CREDIT_MAX, max(0, base) + HEDGE_CREDIT_PER_RUN)
