"""The fleet simulation (benchmarks/fleet.py): its engine against a published result, and the gate."""
import pytest

from benchmarks import fleet

CLIENTS = 100
CALL_MS = 10          # one write to the contended resource
BASE_MS = 10
CAP_MS = 10_000


def contend(jitter, seed=7):
    """AWS Architecture Blog, "Exponential Backoff and Jitter" (Brooker, 2015), on fleet.Sim.

    CLIENTS clients each want one write in the first 100 ms; a write succeeds only if no
    other write overlapped it (optimistic concurrency), else the client backs
    off (min(cap, base * 2^n), jittered as named) and tries again.
    Returns (total calls, time until the last client is done, ms).
    """
    sim = fleet.Sim(seed)
    rng = sim.rng
    busy = []                     # [start, end, ok] of writes in progress
    state = {"calls": 0, "done": 0, "last_ms": 0.0}

    def attempt(client, n):
        state["calls"] += 1
        call = [sim.now, sim.now + CALL_MS, len(busy) == 0]   # the write in progress wins
        busy.append(call)
        sim.at(call[1], end, client, n, call)

    def end(client, n, call):
        busy.remove(call)
        if call[2]:
            state["done"] += 1
            state["last_ms"] = sim.now
            return
        exp = min(CAP_MS, BASE_MS * 2 ** n)
        if jitter == "none":
            sleep = exp
        elif jitter == "full":
            sleep = rng.uniform(0, exp)
        else:                     # equal
            sleep = exp / 2 + rng.uniform(0, exp / 2)
        sim.at(sim.now + sleep, attempt, client, n + 1)

    for c in range(CLIENTS):              # arrivals spread over the first 100 ms
        sim.at(rng.uniform(0, 100), attempt, c, 0)
    sim.run(10 ** 9)
    assert state["done"] == CLIENTS
    return state["calls"], state["last_ms"]


def test_engine_exponential_without_jitter_takes_far_longer_and_more_calls():
    """The published ordering: no jitter takes far longer than full or equal jitter."""
    none_calls, none_ms = contend("none")
    full_calls, full_ms = contend("full")
    equal_calls, equal_ms = contend("equal")
    assert none_calls > 2 * max(full_calls, equal_calls)
    assert none_ms > 5 * max(full_ms, equal_ms)


@pytest.mark.xfail(reason="not reproduced yet: in this contention model full and equal jitter "
                   "make about the same number of calls (9539 vs 9330 over 10 seeds)", strict=True)
def test_engine_full_jitter_makes_fewer_calls_than_equal_jitter():
    full = sum(contend("full", s)[0] for s in range(10))
    equal = sum(contend("equal", s)[0] for s in range(10))
    assert full < equal


def test_sim_runs_events_in_time_order_and_ties_in_insertion_order():
    sim = fleet.Sim(0)
    seen = []
    for t, tag in [(5, "b"), (1, "a"), (5, "c"), (9, "late")]:
        sim.at(t, seen.append, tag)
    sim.run(6)
    assert seen == ["a", "b", "c"] and sim.now == 6


@pytest.mark.slow
@pytest.mark.xfail(reason="issue 10: the quick fleet run still misses four targets (brownout "
                   "back in 70 s, not 60; outage traffic, whose floor is 8.8x; peak on return "
                   "2.8x; empty pool 1.7x), each explained in BENCHMARKS.md 'Fleet'. Remove "
                   "this mark when every target holds.",
                   strict=True)
def test_quick_fleet_meets_every_target(capsys):
    """The --quick run (10k installs) as a gate: exit status 0 means every target holds."""
    assert fleet.main(["--quick", "--jobs", "1"]) == 0
