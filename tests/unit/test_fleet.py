"""The fleet simulation (benchmarks/fleet.py): its engine against a published result, and the gate."""
import pytest

from benchmarks import fleet

CLIENTS = 100
BASE_MS = 10
CAP_MS = 10_000
NET_MEAN_MS = 10      # the post's network: delay mean 10 ms, standard deviation 4 ms
NET_SD_MS = 4
SEEDS = range(20)


def contend(jitter, seed):
    """AWS Architecture Blog, "Exponential Backoff and Jitter" (Brooker, 2015), on fleet.Sim.

    Optimistic concurrency against a remote database, as the post describes
    it: CLIENTS clients start at once; each reads the row's version, and its
    conditional write (one network delay later) succeeds only if nobody wrote
    since that read; a client that lost sleeps min(cap, base * 2^n), jittered
    as named, and tries again. Returns (calls, ms until the last client is done).
    """
    sim = fleet.Sim(seed)
    rng = sim.rng
    row = {"version": 0}
    state = {"calls": 0, "done": 0, "last_ms": 0.0}

    def net_ms():
        return abs(rng.normalvariate(NET_MEAN_MS, NET_SD_MS))

    def attempt(n):
        state["calls"] += 1
        sim.at(sim.now + net_ms(), write, n, row["version"])

    def write(n, seen):
        if row["version"] == seen:
            row["version"] += 1
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
        sim.at(sim.now + net_ms() + sleep, attempt, n + 1)

    for _ in range(CLIENTS):
        sim.at(0, attempt, 0)
    sim.run(10 ** 9)
    assert state["done"] == CLIENTS
    return state["calls"], state["last_ms"]


def totals(jitter):
    runs = [contend(jitter, seed) for seed in SEEDS]
    return sum(c for c, _ in runs), sum(ms for _, ms in runs)


def test_engine_reproduces_the_published_ordering_of_backoff_with_and_without_jitter():
    """The post's result: exponential backoff without jitter is the clear loser, in work
    and in time; of the jittered ones, equal jitter takes longer than full jitter.

    (Its other finding, that equal jitter also does "slightly more work", is within
    the noise of this model: 25.7k against 25.5k calls over 40 seeds.)
    """
    none_calls, none_ms = totals("none")
    full_calls, full_ms = totals("full")
    equal_calls, equal_ms = totals("equal")
    assert none_calls > 1.2 * max(full_calls, equal_calls)
    assert none_ms > 10 * max(full_ms, equal_ms)
    assert full_ms < 0.9 * equal_ms


def test_sim_runs_events_in_time_order_and_ties_in_insertion_order():
    sim = fleet.Sim(0)
    seen = []
    for t, tag in [(5, "b"), (1, "a"), (5, "c"), (9, "late")]:
        sim.at(t, seen.append, tag)
    sim.run(6)
    assert seen == ["a", "b", "c"] and sim.now == 6


# The two targets of issue 10 that the quick run misses, each explained in BENCHMARKS.md
# "Fleet" (and the first one shown below it to be under what any client can send).
NOT_MET = [("brownout", "goodput back to 95 % after (s)"),
           ("outage", "pool traffic during, x steady keys")]


@pytest.fixture(scope="module")
def quick_results():
    """The --quick run: every scenario, Keypool and the original, seed 1 (deterministic)."""
    return fleet.run_all([s.name for s in fleet.SCENARIOS], ["keypool", "original"],
                         fleet.QUICK_INSTALLS, 1)


@pytest.mark.slow
def test_quick_fleet_meets_every_target_but_the_two_explained(quick_results):
    """The gate: any other target missed fails it, and so does meeting one of the two
    (then take it off NOT_MET, and off the xfail below)."""
    assert fleet.missed_targets(quick_results) == NOT_MET


@pytest.mark.slow
@pytest.mark.xfail(reason="issue 10: the quick fleet run still misses the two targets in "
                   "NOT_MET: the outage's traffic (1.1x asked; the floor any client keeping "
                   "the promise must send is 4.4x, see the test below) and the brownout's "
                   "recovery (70 s, not 60: the slow servers' queues drain for as long, for "
                   "the original too). Remove this mark when every target holds.",
                   strict=True)
def test_quick_fleet_meets_every_target(quick_results):
    assert fleet.missed_targets(quick_results) == []


@pytest.mark.slow
def test_the_outage_traffic_target_is_below_what_any_client_keeping_the_promise_can_send(
        quick_results):
    """Issue 10 asks a full outage to draw <= 1.1x the steady key rate. Each install's first
    fetch in the outage knows nothing of it and must ask all five servers before it may say
    none is up: that alone is the floor figure, and the simulation measures it above 1.1x.
    Keypool sends at least the floor (its first fetches ask every server, then one more
    round, CONTRACT §3 allFailedBackoffMs) and the original more than Keypool."""
    kp, orig = quick_results[("outage", "keypool")], quick_results[("outage", "original")]
    floor = kp["floor: first fetches x servers, x steady keys"]
    bound = fleet.TARGETS[("outage", "pool traffic during, x steady keys")][1]
    assert floor > 3 * bound
    traffic = kp["pool traffic during, x steady keys"]
    assert 2 * floor <= traffic < orig["pool traffic during, x steady keys"]


def test_main_exits_non_zero_when_a_target_is_missed(capsys):
    """The exit status is the gate's: the report counts a missed target."""
    assert fleet.main(["--installs", "500", "--only", "outage", "--keypool-only",
                       "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "| full outage 10 min" in out and "target(s) missed." in out
