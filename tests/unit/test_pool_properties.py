"""Property-based tests of the failover decisions (hypothesis), in CPython."""
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from core import outcome as oc
from core.failover import BACKOFF, GIVE_UP, MAX_ROUNDS, START, KeyRun, worst_case_ms
from core.pool import AVAILABLE, FAILED, PROBATION, Pool

BASE_MS = 5000
CAP_MS = 300000

urls = st.integers(min_value=1, max_value=20).map(lambda n: [f"http://s{i}.test/api" for i in range(n)])
kinds = st.sampled_from([oc.TIMEOUT, oc.NETWORK_ERROR, oc.HTTP, oc.INVALID, oc.OUTPACED, oc.RETRY_AFTER])


def fail(pool, url, now_ms, kind, rng, retry_after_ms=None):
    outcome = oc.Outcome(kind, "x", 0, None, retry_after_ms if kind == oc.RETRY_AFTER else None)
    return pool.mark_failed(url, now_ms, outcome, BASE_MS, CAP_MS, rng.random)


@given(servers=urls, data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_never_picks_a_failed_server_while_an_available_one_exists(servers, data, seed):
    rng = random.Random(seed)
    pool = Pool(servers, None)
    now_ms = 1_000_000
    failed = data.draw(st.sets(st.sampled_from(servers), max_size=len(servers)))
    for url in failed:
        fail(pool, url, now_ms, data.draw(kinds), rng, data.draw(st.integers(0, 10**7)))
    later_ms = now_ms + data.draw(st.integers(0, CAP_MS * 2))
    exclude = data.draw(st.lists(st.sampled_from(servers), max_size=len(servers)))
    picked = pool.pick(later_ms, rng.random, exclude)
    states = {u: pool.state(u, later_ms) for u in servers if u not in exclude}
    if any(s == AVAILABLE for s in states.values()):
        assert states[picked] == AVAILABLE
    elif any(s == PROBATION for s in states.values()):
        assert states[picked] == PROBATION
    else:
        assert picked is None
    assert picked is None or picked not in exclude


@given(servers=urls, data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_every_failed_server_is_eligible_again_after_its_window(servers, data, seed):
    rng = random.Random(seed)
    pool = Pool(servers, None)
    now_ms = 0
    for url in servers:
        for _ in range(data.draw(st.integers(1, 12))):
            fail(pool, url, now_ms, data.draw(kinds), rng, data.draw(st.integers(0, 10**8)))
            now_ms += data.draw(st.integers(0, 1000))
    for url in servers:
        assert pool.state(url, now_ms) in (FAILED, PROBATION)
    # failedResetMs is the longest any server stays out, whatever its history
    assert all(pool.state(u, now_ms + CAP_MS) == PROBATION for u in servers)
    assert sorted(pool.candidates(now_ms + CAP_MS, [])) == sorted(servers)


@given(servers=urls, data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_attempts_are_bounded_by_rounds_times_servers(servers, data, seed):
    """Whatever fails, a key fetch makes at most MAX_ROUNDS x n attempts, one per server per round."""
    rng = random.Random(seed)
    pool = Pool(servers, None)
    now_ms = 0
    timeout_ms, backoff_ms = 10000, 2000
    run = KeyRun(now_ms, len(servers), timeout_ms, backoff_ms)
    succeed_on = data.draw(st.one_of(st.none(), st.integers(0, 3 * len(servers))))
    per_round = {}
    while True:
        step = run.next_action(pool, now_ms, rng.random, 0)
        if step.kind == BACKOFF:
            assert pool.candidates(now_ms, run.tried) == []
            now_ms += step.wait_ms
            pool.reset_round(now_ms)
            run.new_round()
            continue
        if step.kind == GIVE_UP:
            assert pool.candidates(now_ms, run.tried) == [] or run.is_past_deadline(now_ms)
            break
        assert step.kind == START
        url = step.url
        assert (run.round, url) not in per_round
        per_round[(run.round, url)] = True
        run.start(url, now_ms)
        now_ms += data.draw(st.integers(1, timeout_ms))
        if succeed_on is not None and run.attempts > succeed_on:
            run.finish(url, oc.Outcome(oc.OK, "ok", 200, "k"))
            pool.mark_ok(url, now_ms, 5)
            break
        outcome = oc.Outcome(data.draw(kinds), "x")
        run.finish(url, outcome)
        pool.mark_failed(url, now_ms, outcome, BASE_MS, CAP_MS, rng.random)
    assert run.attempts <= MAX_ROUNDS * len(servers)
    assert now_ms <= worst_case_ms(len(servers), timeout_ms, backoff_ms)


@given(servers=urls, seed=st.integers(0, 2**32 - 1))
def test_ledger_round_trip_keeps_every_decision(servers, seed):
    rng = random.Random(seed)
    pool = Pool(servers, None)
    for i, url in enumerate(servers):
        if rng.random() < 0.5:
            fail(pool, url, i * 100, rng.choice([oc.TIMEOUT, oc.NETWORK_ERROR]), rng)
    copy = Pool(servers, pool.to_obj())
    for now_ms in (0, 1000, 10000, CAP_MS * 2):
        assert copy.status_rows(now_ms) == pool.status_rows(now_ms)


@settings(max_examples=50)
@given(servers=urls, seed=st.integers(0, 2**32 - 1))
def test_random_pick_spreads_load(servers, seed):
    rng = random.Random(seed)
    pool = Pool(servers, None)
    seen = {pool.pick(0, rng.random, []) for _ in range(60 * len(servers))}
    assert seen == set(servers)


def test_a_run_asks_an_avoided_server_only_when_no_other_is_left():
    servers = ["http://a/api", "http://b/api"]
    pool = Pool(servers, None)
    run = KeyRun(0, 2, 10000, 2000, ["http://a/api"])
    always_first = lambda: 0.0  # noqa: E731
    assert run.next_server(pool, 0, always_first) == "http://b/api"
    run.start("http://b/api")
    run.finish("http://b/api", oc.Outcome(oc.NETWORK_ERROR, oc.NETWORK_ERROR_REASON))
    assert run.next_server(pool, 0, always_first) == "http://a/api"
