"""A fleet of installs against five key servers: a discrete-event simulation of the real core.

    python -m benchmarks.fleet [--quick] [--installs N] [--only NAME,...] [--seed S] [--jobs J]

Keypool's decisions are not copied here: every install holds a real
``core.pool.Pool`` ledger and runs each key fetch through ``core.failover``
(the same functions the service worker calls), with the simulated clock as
``now_ms`` and a seeded ``random.Random`` as ``random_fn``. What this file
adds is what the browser glue does around them (timers, fetch, the probe
alarm), and the world: users, service workers that stop, browsers that
restart, and key servers that queue.

The engine is a plain heap of timed callbacks (``Sim``). SimPy was the other
choice; an install here is a small state machine woken by a handful of
events, not a long-lived process, so generators buy nothing and a bare
``heapq`` loop runs several times faster at this size (a 100k-install run
must fit in two minutes on two cores). It also keeps the run deterministic
for a seed, with no dependency.

The world (KEYSERVERS.md; every figure is a named constant below):

- servers: ``CONCURRENCY`` key requests at a time each, a FIFO queue behind
  them, a key-route service time uniform in 300-900 ms (one Gemini call);
  a request the client has aborted stays in the queue and is served anyway
  (the allocation and the Gemini call happen regardless). The health route
  is cheap (a DB count): it answers in a few ms without queueing behind the
  key route. Optionally a server sheds: 503 with Retry-After when its queue
  holds more than ``shed_s`` seconds of work;
- users: sessions arrive at random across the fleet (``SESSIONS_PER_HOUR``
  per install); a session is a few analyses (geometric, mean
  ``ACTIONS_PER_SESSION``) ``ACTION_GAP_MS`` apart on average. Each action
  needs a key: from the cache (``keyCacheMs``) or from the pool, with one
  fetch shared by concurrent actions, as in the extension;
- service workers stop after 30 s idle: Keypool's ledger (storage.session)
  survives, the original's in-memory failed set does not; a browser restart
  (``RESTART_PER_SESSION`` of sessions start in a fresh browser) loses both,
  with the cached key and the alarm;
- Keypool's probe alarm fires when Keypool schedules it, never sooner than
  Chrome's 30 s minimum.

Progress goes to stderr; the tables to stdout. Exit status 1 when a target
is missed. Scenarios and targets: ``SCENARIOS`` and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import os
import random
import sys
import time
import tomllib
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "extension_src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from core import outcome as oc  # noqa: E402
from core.failover import BACKOFF, CHECK, GIVE_UP, START, KeyRun  # noqa: E402
from core.pool import AVAILABLE, Pool  # noqa: E402
from core.settings import resolve_settings  # noqa: E402

# ---------------------------------------------------------------- the world
N_SERVERS = 5
SERVICE_MIN_MS = 300            # key route: one Gemini call (KEYSERVERS.md)
SERVICE_MAX_MS = 900
SERVICE_MEAN_MS = (SERVICE_MIN_MS + SERVICE_MAX_MS) / 2
HEALTH_MS = 5                   # the health route: a DB count, no queue
EMPTY_MS = 30                   # "No active API keys available": a DB query, no Gemini call
RTT_MS = 40                     # client <-> server round trip
UTILISATION = 0.83              # of the pool's key-route capacity, every action fetching
SESSIONS_PER_HOUR = 2.5         # per install
ACTIONS_PER_SESSION = 4         # mean (geometric)
ACTION_GAP_MS = 15000           # mean gap between two actions of a session (exponential)
RESTART_PER_SESSION = 0.25      # share of sessions that begin in a freshly started browser
WORKER_IDLE_MS = 30000          # Chrome stops an idle service worker after 30 s
ALARM_MIN_MS = 30000            # Chrome runs a packed extension's alarms at most every 30 s
FULL_INSTALLS = 100_000
QUICK_INSTALLS = 10_000
BIN_MS = 10_000                 # metrics are kept per 10 s
GOOD_MS = 10_000                # goodput: actions answered with a key within one key timeout

NO_KEYS_BODY = {"error": "Unable to allocate API key: No active API keys available"}
KEY_BODY = {"geminiApiKey": "AIzaSimulatedKey000000000000000000000"}


def shipped_defaults() -> dict:
    """The build defaults ([tool.keypool] in pyproject.toml), as build.py hands them over."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["keypool"]


def concurrency_for(installs: int) -> int:
    """Key requests each server runs at once so that every-action fetching is at UTILISATION."""
    actions_per_s = installs * SESSIONS_PER_HOUR * ACTIONS_PER_SESSION / 3600
    return max(1, round(actions_per_s * SERVICE_MEAN_MS / 1000 / (UTILISATION * N_SERVERS)))


# ---------------------------------------------------------------- the engine
class Sim:
    """A clock and a heap of (time_ms, seq, fn, args): fn(*args) runs at time_ms."""

    def __init__(self, seed: int):
        self.now = 0.0
        self.rng = random.Random(seed)
        self._heap: list = []
        self._seq = itertools.count()

    def at(self, t_ms: float, fn, *args) -> None:
        heapq.heappush(self._heap, (t_ms, next(self._seq), fn, args))

    def run(self, until_ms: float) -> int:
        heap, pop, n = self._heap, heapq.heappop, 0
        while heap and heap[0][0] <= until_ms:
            t, _, fn, args = pop(heap)
            self.now = t
            fn(*args)
            n += 1
        self.now = until_ms
        return n


class Metrics:
    """Counts per BIN_MS bin, for one algorithm in one scenario."""

    def __init__(self, duration_ms: float):
        n = int(duration_ms // BIN_MS) + 2
        self.key_req = [[0] * n for _ in range(N_SERVERS)]   # key requests reaching each server
        self.probes = [[0] * n for _ in range(N_SERVERS)]    # health requests reaching each server
        self.needs = [0] * n      # actions that needed the pool (no fresh cached key), by start
        self.good = [0] * n       # of those, the ones that got a key within GOOD_MS, by start
        self.keys = [0] * n       # keys obtained from the pool, by arrival
        self.sent = [0] * n       # key requests sent by clients (attempts), by sending time
        # fetches started by installs that had not fetched since the trigger (or since their
        # browser restarted, which forgets it): they know nothing of it, whatever the policy
        self.first_fetches = [0] * n
        self.wait_ms: list[list[float]] = [[] for _ in range(n)]  # time to key of good needs
        self.flips = 0            # probe said healthy, then that server's key route failed
        self.worker_stops = 0
        self.restarts = 0

    def b(self, t_ms: float) -> int:
        return int(t_ms // BIN_MS)


# ---------------------------------------------------------------- key servers
class Request:
    __slots__ = ("client", "aborted", "arrived_ms")

    def __init__(self, client, arrived_ms):
        self.client = client          # client.on_server_answer(request, status, body, retry_after)
        self.aborted = False
        self.arrived_ms = arrived_ms


class Server:
    """One key server: CONCURRENCY slots, a FIFO queue, work done even for aborted requests."""

    def __init__(self, sim: Sim, index: int, concurrency: int, metrics: Metrics,
                 shed_s: float | None):
        self.sim = sim
        self.index = index
        self.concurrency = concurrency
        self.metrics = metrics
        self.shed_s = shed_s
        self.busy = 0
        self.queue: deque = deque()
        self.down = False           # connection refused
        self.empty = False          # the shared DB has no active key
        self.slow = 1.0             # service time multiplier (a brownout)

    def queued_work_s(self) -> float:
        return len(self.queue) * SERVICE_MEAN_MS * self.slow / 1000 / self.concurrency

    def key_request(self, req: Request) -> None:
        sim = self.sim
        self.metrics.key_req[self.index][int(sim.now // BIN_MS)] += 1
        if self.down:
            sim.at(sim.now + RTT_MS / 2, req.client.on_refused, req)
            return
        if self.empty:
            sim.at(sim.now + EMPTY_MS + RTT_MS / 2, req.client.on_server_answer, req, 500,
                   NO_KEYS_BODY, None)
            return
        if self.shed_s is not None and self.busy >= self.concurrency:
            work_s = self.queued_work_s()
            if work_s > self.shed_s:
                sim.at(sim.now + RTT_MS / 2, req.client.on_server_answer, req, 503,
                       {"error": "overloaded"}, str(max(1, math.ceil(work_s))))
                return
        if self.busy < self.concurrency:
            self._serve(req)
        else:
            self.queue.append(req)

    def _serve(self, req: Request) -> None:
        self.busy += 1
        sim = self.sim
        service = sim.rng.uniform(SERVICE_MIN_MS, SERVICE_MAX_MS) * self.slow
        sim.at(sim.now + service, self._done, req)

    def _done(self, req: Request) -> None:
        self.busy -= 1
        sim = self.sim
        if not req.aborted:
            sim.at(sim.now + RTT_MS / 2, req.client.on_server_answer, req, 200, KEY_BODY, None)
        if self.queue:
            self._serve(self.queue.popleft())

    def health_request(self, req: Request) -> None:
        sim = self.sim
        self.metrics.probes[self.index][int(sim.now // BIN_MS)] += 1
        if self.down:
            sim.at(sim.now + RTT_MS / 2, req.client.on_refused, req)
        else:
            sim.at(sim.now + HEALTH_MS + RTT_MS / 2, req.client.on_server_answer, req, 200,
                   {"status": "healthy", "database": "connected"}, None)


# ---------------------------------------------------------------- network
class Call:
    """One HTTP request from an install: delivers exactly one answer to done(call, outcome)."""

    __slots__ = ("fleet", "server", "url", "kind", "done", "started_ms", "timeout_ms",
                 "req", "finished")

    def __init__(self, fleet, server_index, kind, timeout_ms, done):
        self.fleet = fleet
        self.server = server_index
        self.url = fleet.urls[server_index]
        self.kind = kind                  # 'key' or 'health'
        self.done = done
        self.timeout_ms = timeout_ms
        self.finished = False
        sim = fleet.sim
        self.started_ms = sim.now
        self.req = Request(self, 0.0)
        srv = fleet.servers[server_index]
        if kind == "key":
            fleet.metrics.sent[int(sim.now // BIN_MS)] += 1
            sim.at(sim.now + RTT_MS / 2, srv.key_request, self.req)
        else:
            sim.at(sim.now + RTT_MS / 2, srv.health_request, self.req)
        sim.at(sim.now + timeout_ms, self._timeout)

    def abort(self) -> None:
        """We cancelled it: no answer is delivered; the server still does the work."""
        if not self.finished:
            self.finished = True
            self.req.aborted = True

    def _finish(self, outcome) -> None:
        if self.finished:
            return
        self.finished = True
        self.done(self, outcome)

    def _timeout(self) -> None:
        if not self.finished:
            self.req.aborted = True
            self._finish(self.fleet.timeout_outcome(self.timeout_ms))

    def on_refused(self, req) -> None:
        self._finish(self.fleet.refused)

    def on_server_answer(self, req, status, body, retry_after) -> None:
        if self.finished:
            return
        now = self.fleet.sim.now
        if self.kind == "key":
            if status == 200:
                self._finish(self.fleet.key_ok)
            else:
                self._finish(oc.key_outcome(status, True, body, retry_after, now))
        else:
            self._finish(oc.health_outcome(status, True, body, retry_after, now))


# ---------------------------------------------------------------- installs
class Install:
    """What both algorithms share: the key cache, single flight, the worker's idleness."""

    def __init__(self, fleet):
        self.fleet = fleet
        self.cache_ms = None            # when the cached key was fetched, or None
        self.waiters: list = []         # start times of the actions waiting for the fetch
        self.fetching = False
        self.last_active_ms = -1e18
        self.fetched_since_restart_ms = None   # the latest fetch start since the browser started

    def touch(self) -> None:
        now = self.fleet.sim.now
        if now - self.last_active_ms > WORKER_IDLE_MS:
            self.fleet.metrics.worker_stops += 1
            self.worker_stopped()
        self.last_active_ms = now

    def worker_stopped(self) -> None:
        pass

    def browser_restarted(self) -> None:
        self.cache_ms = None
        self.fetched_since_restart_ms = None

    def action(self) -> None:
        fleet = self.fleet
        now = fleet.sim.now
        self.touch()
        cache_ms = fleet.settings["keyCacheMs"]
        if cache_ms > 0 and self.cache_ms is not None and now - self.cache_ms < cache_ms:
            return
        m = fleet.metrics
        m.needs[int(now // BIN_MS)] += 1
        self.waiters.append(now)
        if not self.fetching:
            self.fetching = True
            self.fetch_started_ms = now
            known = self.fetched_since_restart_ms
            if fleet.trigger_ms is not None and (known is None or known < fleet.trigger_ms):
                m.first_fetches[int(now // BIN_MS)] += 1
            self.fetched_since_restart_ms = now
            self.start_fetch()

    def fetch_done(self, ok: bool) -> None:
        """Called once by the fetch: hand its answer to every waiting action."""
        fleet = self.fleet
        now = fleet.sim.now
        self.touch()
        m = fleet.metrics
        if ok:
            m.keys[int(now // BIN_MS)] += 1
            self.cache_ms = now
            for started in self.waiters:
                bin_ = int(started // BIN_MS)
                if now - started <= GOOD_MS:
                    m.good[bin_] += 1
                m.wait_ms[bin_].append(now - started)
        self.waiters = []
        self.fetching = False


class OriginalInstall(Install):
    """The original algorithm: random pick, mark failed for 5 min, 2 rounds, 2 s between.

    The failed set lives in worker memory: a stopped worker forgets it.
    """

    def __init__(self, fleet):
        super().__init__(fleet)
        self.failed: dict[int, float] = {}

    def worker_stopped(self) -> None:
        self.failed = {}

    def browser_restarted(self) -> None:
        super().browser_restarted()
        self.failed = {}

    def start_fetch(self) -> None:
        self.round = 1
        self.attempt = 0
        self._next()

    def _available(self) -> list[int]:
        now = self.fleet.sim.now
        reset = self.fleet.settings["failedResetMs"]
        for i, at in list(self.failed.items()):
            if now - at >= reset:
                del self.failed[i]
        return [i for i in range(N_SERVERS) if i not in self.failed]

    def _next(self) -> None:
        fleet = self.fleet
        if self.attempt < N_SERVERS:
            available = self._available()
            if available:
                self.attempt += 1
                index = available[int(fleet.sim.rng.random() * len(available))]
                Call(fleet, index, "key", fleet.settings["keyTimeoutMs"], self._answer)
                return
        if self.round == 1:
            self.round = 2
            self.attempt = 0
            fleet.sim.at(fleet.sim.now + fleet.settings["allFailedBackoffMs"], self._second_round)
            return
        self.fetch_done(False)

    def _second_round(self) -> None:
        self.touch()
        self.failed = {}
        self._next()

    def _answer(self, call: Call, outcome) -> None:
        self.touch()
        if outcome.kind == oc.OK:
            self.fetch_done(True)
            return
        self.failed[call.server] = self.fleet.sim.now
        self._next()


class KeypoolInstall(Install):
    """Keypool: the ledger is a real core.pool.Pool; each fetch a real core.failover.KeyRun.

    The glue's part (glue/keyfetch.py, glue/health.py) is re-enacted with
    simulated time: attempts, the hedge timer, the backoff between rounds,
    probes and the probe alarm.
    """

    def __init__(self, fleet):
        super().__init__(fleet)
        self.pool = Pool(fleet.urls, None)
        self.probing: set[str] = set()
        self.alarm_token = 0
        self.probe_ok_ms: dict[str, float] = {}   # url -> when a probe last said healthy

    def worker_stopped(self) -> None:
        self.probing = set()          # module state; the ledger is in storage.session

    def browser_restarted(self) -> None:
        super().browser_restarted()
        self.pool = Pool(self.fleet.urls, None)
        self.probing = set()
        self.alarm_token += 1         # alarms do not survive (no persistAcrossSessions)
        self.probe_ok_ms = {}

    # -- the key fetch (glue/keyfetch.py fetch_key_from_pool)
    def start_fetch(self) -> None:
        KeypoolFetch(self)

    # -- ledger updates (glue/health.py mark_failed / mark_ok)
    def mark_failed(self, url: str, outcome) -> None:
        s = self.fleet.settings
        now = self.fleet.sim.now
        if url in self.probe_ok_ms and outcome.kind != oc.OUTPACED:
            if now - self.probe_ok_ms.pop(url) < s["failedResetMs"]:
                self.fleet.metrics.flips += 1
        self.pool.mark_failed(url, now, outcome, s["ejectionBaseMs"], s["failedResetMs"],
                              self.fleet.sim.rng.random)

    def mark_ok(self, url: str, latency_ms) -> None:
        self.pool.mark_ok(url, self.fleet.sim.now, latency_ms)

    # -- probes (glue/health.py probe, probe_due, schedule_probe_alarm)
    def probe(self, url: str) -> None:
        if url in self.probing:
            return
        self.probing.add(url)
        fleet = self.fleet
        Call(fleet, fleet.urls.index(url), "health", fleet.settings["healthTimeoutMs"],
             self._probe_answer)

    def _probe_answer(self, call: Call, outcome) -> None:
        self.touch()
        self.probing.discard(call.url)
        if outcome.is_ok():
            self.mark_ok(call.url, None)
            self.probe_ok_ms[call.url] = self.fleet.sim.now
        elif outcome.counts_against_server():
            self.mark_failed(call.url, outcome)
        if not self.probing:
            self.schedule_probe_alarm()

    def probe_due(self) -> None:
        due = self.pool.take_probes(self.fleet.sim.now, self.fleet.sim.rng.random,
                                    list(self.probing))
        for url in due:
            self.probe(url)
        if not due and not self.probing:
            self.schedule_probe_alarm()

    def schedule_probe_alarm(self) -> None:
        now = self.fleet.sim.now
        when = self.pool.next_probe_at_ms(now, self.fleet.settings["probeIntervalMs"],
                                          self.fleet.sim.rng.random)
        self.alarm_token += 1
        if when is None:
            return
        fire = max(when, now + 50, now + ALARM_MIN_MS)
        self.fleet.sim.at(fire, self._alarm, self.alarm_token)

    def _alarm(self, token: int) -> None:
        if token != self.alarm_token:
            return
        self.touch()
        self.probe_due()


class KeypoolFetch:
    """One run of glue/keyfetch.py's loop in simulated time: KeyRun.next_action decides."""

    def __init__(self, inst: KeypoolInstall):
        self.inst = inst
        fleet = inst.fleet
        self.fleet = fleet
        s = fleet.settings
        now = fleet.sim.now
        pool = inst.pool
        self.run = KeyRun(now, N_SERVERS, s["keyTimeoutMs"], s["allFailedBackoffMs"], [],
                          pool.hedge_credit)
        self.calls: list[Call] = []
        self.wake_token = 0
        self.over = False
        self.probes_waiting = len(pool.due_for_probe(now)) > 0
        if self.probes_waiting and pool.count_in_state(AVAILABLE, now) == 0:
            inst.probe_due()
            self.probes_waiting = False
        self.step()

    def start_attempt(self, url: str) -> None:
        fleet = self.fleet
        now = fleet.sim.now
        timeout_ms = self.run.attempt_timeout_ms(now, fleet.settings["keyTimeoutMs"])
        self.run.start(url, now)
        self.calls.append(Call(fleet, fleet.urls.index(url), "key", timeout_ms, self.answer))

    def step(self) -> None:
        """The loop body, until it would await (an answer, a timer, the backoff)."""
        fleet = self.fleet
        s = fleet.settings
        run = self.run
        while True:
            now = fleet.sim.now
            act = run.next_action(self.inst.pool, now, fleet.sim.rng.random, s["hedgeDelayMs"])
            if act.kind == START:
                self.start_attempt(act.url)
                continue
            if act.kind == CHECK:
                for url in act.urls:
                    Call(fleet, fleet.urls.index(url), "health", s["healthTimeoutMs"],
                         self.check_answer)
                continue
            if act.kind == BACKOFF:
                fleet.sim.at(now + act.wait_ms, self.after_backoff)
                return
            if act.kind == GIVE_UP:
                self.finish(False)
                return
            self.wake_token += 1
            if act.wait_ms is not None:
                fleet.sim.at(now + act.wait_ms, self.wake, self.wake_token)
            return

    def wake(self, token: int) -> None:
        if not self.over and token == self.wake_token:
            self.step()

    def check_answer(self, call: Call, outcome) -> None:
        answered = outcome.kind not in (oc.TIMEOUT, oc.NETWORK_ERROR, oc.ABORTED)
        if not answered and outcome.counts_against_server():
            self.inst.mark_failed(call.url, outcome)
        if self.over:
            return
        self.run.saw_health(call.url, answered, self.fleet.sim.now - call.started_ms,
                            self.fleet.sim.now)
        self.step()

    def after_backoff(self) -> None:
        self.inst.touch()
        self.inst.pool.reset_round(self.fleet.sim.now)
        self.run.new_round()
        self.step()

    def answer(self, call: Call, outcome) -> None:
        if self.over:
            return
        inst = self.inst
        inst.touch()
        self.calls = [c for c in self.calls if c is not call]
        self.run.finish(call.url, outcome)
        now = self.fleet.sim.now
        if outcome.is_ok():
            losers = self.calls
            self.calls = []
            self.over = True
            for c in losers:
                c.abort()
            inst.fetch_done(True)
            # glue/keyfetch.py _after_success_task: one ledger update, then probes
            inst.mark_ok(call.url, now - call.started_ms + 0.0)
            s = self.fleet.settings
            self.run.settle(inst.pool, True, now, s["failedResetMs"], self.fleet.sim.rng.random)
            inst.pool.settle_hedge_credit(self.run.hedge_credit)
            if self.probes_waiting:
                inst.probe_due()
            for c in losers:
                if c.started_ms <= call.started_ms:
                    inst.mark_failed(c.url, oc.Outcome(oc.OUTPACED, "outpaced"))
                    inst.probe(c.url)
            pool = inst.pool
            if pool.failed_count(now) > 0 or len(self.run.failures) > 0 \
                    or len(pool.due_for_probe(now)) > 0:
                inst.schedule_probe_alarm()
            return
        if outcome.counts_against_server():
            inst.mark_failed(call.url, outcome)
        self.step()

    def finish(self, ok: bool) -> None:
        self.over = True
        for c in self.calls:
            c.abort()
        self.inst.fetch_done(ok)
        if not ok:
            s = self.fleet.settings
            # glue/keyfetch.py, GIVE_UP: the ledger update, then the probe alarm
            self.run.settle(self.inst.pool, False, self.fleet.sim.now, s["failedResetMs"],
                            self.fleet.sim.rng.random)
            self.inst.schedule_probe_alarm()
            self.inst.pool.settle_hedge_credit(self.run.hedge_credit)


# ---------------------------------------------------------------- the fleet
class Fleet:
    """Servers, installs, users and one algorithm, over one scenario."""

    def __init__(self, algorithm: str, installs: int, settings_patch: dict, duration_ms: float,
                 seed: int, shed_s: float | None = None):
        self.sim = Sim(seed)
        defaults = shipped_defaults()
        stored = dict(settings_patch)
        settings, warnings = resolve_settings(defaults, stored)
        if warnings:
            raise ValueError(f"bad scenario settings: {warnings}")
        self.settings = settings
        self.urls = [u for u in settings["servers"]][:N_SERVERS]
        assert len(self.urls) == N_SERVERS
        self.metrics = Metrics(duration_ms)
        self.concurrency = concurrency_for(installs)
        self.servers = [Server(self.sim, i, self.concurrency, self.metrics, shed_s)
                        for i in range(N_SERVERS)]
        self.n_installs = installs
        self.installs: dict[int, Install] = {}
        self.cls = KeypoolInstall if algorithm == "keypool" else OriginalInstall
        self.duration_ms = duration_ms
        self.trigger_ms = None          # when the scenario's trigger began (first_fetches)
        self.key_ok = oc.key_outcome(200, True, KEY_BODY, None, 0)
        self.refused = oc.error_outcome("TypeError", 0)
        self._timeouts: dict = {}
        self.session_rate_per_ms = installs * SESSIONS_PER_HOUR / 3_600_000
        self.sim.at(self._gap(), self._session)
        # steady state from the start: the sessions already under way at t = 0
        # (Little's law: rate x the mean time from one action to the last)
        rng = self.sim.rng
        under_way = self.session_rate_per_ms * (ACTIONS_PER_SESSION - 1) * ACTION_GAP_MS
        for _ in range(int(under_way)):
            inst = self._install(int(rng.random() * installs))
            self.sim.at(rng.expovariate(1 / ACTION_GAP_MS), self._act, inst)

    def timeout_outcome(self, timeout_ms):
        o = self._timeouts.get(timeout_ms)
        if o is None:
            o = self._timeouts[timeout_ms] = oc.error_outcome("TimeoutError", int(timeout_ms))
        return o

    def _gap(self) -> float:
        return self.sim.now + self.sim.rng.expovariate(self.session_rate_per_ms)

    def _install(self, i: int) -> Install:
        inst = self.installs.get(i)
        if inst is None:
            inst = self.installs[i] = self.cls(self)
            cache_ms = self.settings["keyCacheMs"]
            if cache_ms > 0:
                # steady state: the key was fetched some time ago (maybe expired)
                inst.cache_ms = self.sim.now - self.sim.rng.uniform(0, 2 * cache_ms)
        return inst

    def _session(self) -> None:
        sim = self.sim
        rng = sim.rng
        inst = self._install(int(rng.random() * self.n_installs))
        if rng.random() < RESTART_PER_SESSION:
            self.metrics.restarts += 1
            inst.browser_restarted()
        self._act(inst)
        sim.at(self._gap(), self._session)

    def _act(self, inst: Install) -> None:
        inst.action()
        rng = self.sim.rng
        if rng.random() < 1 - 1 / ACTIONS_PER_SESSION:
            self.sim.at(self.sim.now + rng.expovariate(1 / ACTION_GAP_MS), self._act, inst)

    def _apply(self, fn, is_trigger: bool) -> None:
        if is_trigger:
            self.trigger_ms = self.sim.now
        fn(self)

    def run(self, events: list) -> int:
        """events: [(t_ms, fn(fleet))], applied at their times."""
        for i, (t_ms, fn) in enumerate(events):
            self.sim.at(t_ms, self._apply, fn, i == 0)
        return self.sim.run(self.duration_ms)


# ---------------------------------------------------------------- scenarios
S = 1000
MIN = 60 * S
TAIL_MS = 110 * S     # the longest fetch (2 rounds x 5 x 10 s + 2 s) fits in this


def _set(indices, **attrs):
    def apply(fleet):
        for i in indices:
            for k, v in attrs.items():
                setattr(fleet.servers[i], k, v)
    return apply


ALL = list(range(N_SERVERS))


class Scenario:
    """A timeline (trigger from t0 to t1) and the figures read off the metrics."""

    def __init__(self, name, title, settings, t0, t1, duration, on, off, shed_s=None):
        self.name, self.title, self.settings = name, title, settings
        self.t0, self.t1, self.duration = t0, t1, duration
        self.on, self.off, self.shed_s = on, off, shed_s

    def events(self):
        out = []
        if self.on is not None:
            out.append((self.t0, self.on))
        if self.off is not None:
            out.append((self.t1, self.off))
        return out


SCENARIOS = [
    Scenario("steady", "steady state, default settings", {}, 60 * S, 360 * S, 360 * S,
             None, None),
    Scenario("brownout", "brownout: 2 of 5 servers 10x slower for 60 s, keyCacheMs 0, 83 % "
             "utilisation", {"keyCacheMs": 0}, 120 * S, 180 * S, 480 * S,
             _set([0, 1], slow=10.0), _set([0, 1], slow=1.0)),
    Scenario("brownout-shed", "the same brownout, servers shedding (503 + Retry-After past 2 s "
             "of queued work)", {"keyCacheMs": 0}, 120 * S, 180 * S, 480 * S,
             _set([0, 1], slow=10.0), _set([0, 1], slow=1.0), shed_s=2.0),
    Scenario("outage", "full outage 10 min, then all servers back", {}, 180 * S, 780 * S,
             1080 * S, _set(ALL, down=True), _set(ALL, down=False)),
    Scenario("empty", "pool empty (500 \"No active API keys available\") for 10 min, then a "
             "donation refills it", {}, 180 * S, 780 * S, 1080 * S,
             _set(ALL, empty=True), _set(ALL, empty=False)),
    Scenario("one-down", "one server down 10 min, then back", {}, 180 * S, 780 * S, 1080 * S,
             _set([0], down=True), _set([0], down=False)),
]


def _bins(t_from, t_to):
    return range(int(t_from // BIN_MS), int(t_to // BIN_MS))


def _traffic(m: Metrics, b: int) -> int:
    return sum(m.key_req[i][b] + m.probes[i][b] for i in range(N_SERVERS))


def _sum(m, attr, t_from, t_to):
    return sum(getattr(m, attr)[b] for b in _bins(t_from, t_to))


def _p95(xs):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.95 * len(xs)))]


def goodput_ratios(m: Metrics, t_from, t_to):
    """good / needs per bin."""
    return [(m.good[b] / m.needs[b]) if m.needs[b] else 1.0 for b in _bins(t_from, t_to)]


def figures(sc: Scenario, m: Metrics) -> dict:
    """Every figure of one scenario for one algorithm (name -> value)."""
    f: dict = {}
    t0, t1, end = sc.t0, sc.t1, sc.duration
    if sc.name == "steady":
        keys = _sum(m, "keys", t0, t1)
        reqs = sum(_traffic(m, b) for b in _bins(t0, t1))
        probes = sum(m.probes[i][b] for i in range(N_SERVERS) for b in _bins(t0, t1))
        f["requests per key"] = reqs / keys if keys else float("inf")
        f["probes, share of pool traffic"] = probes / reqs if reqs else 0.0
        f["keys per s"] = keys / ((t1 - t0) / S)
        needs = _sum(m, "needs", t0, t1 - TAIL_MS)
        f["goodput"] = _sum(m, "good", t0, t1 - TAIL_MS) / needs if needs else 1.0
        return f
    steady_keys = _sum(m, "keys", 60 * S, t0) / ((t0 - 60 * S) / S)
    steady_needs = _sum(m, "needs", 60 * S, t0) / ((t0 - 60 * S) / S)
    f["steady keys per s"] = steady_keys
    ratios = goodput_ratios(m, t1, end - TAIL_MS)
    recovered_at = None
    for k in range(len(ratios)):
        if all(r >= 0.95 for r in ratios[k:]):
            recovered_at = k * BIN_MS / S
            break
    f["goodput back to 95 % after (s)"] = recovered_at if recovered_at is not None \
        else float("inf")
    f["lowest goodput after 60 s"] = min(ratios[int(60 * S // BIN_MS):]) if ratios else 1.0
    if sc.name.startswith("brownout"):
        needs = _sum(m, "needs", t0, t1)
        f["attempts per action during"] = _sum(m, "sent", t0, t1) / needs if needs else 0.0
        during = _sum(m, "good", t0, t1)
        f["goodput during"] = during / needs if needs else 1.0
        f["p95 time to key after (s)"] = _p95([w for b in _bins(t1, end - TAIL_MS)
                                             for w in m.wait_ms[b]]) / S
    if sc.name in ("outage", "empty"):
        secs = (t1 - t0) / S
        traffic = sum(_traffic(m, b) for b in _bins(t0, t1)) / secs
        f["pool traffic during, x steady keys"] = traffic / steady_keys if steady_keys else 0.0
        peak = max(_traffic(m, b) for b in _bins(t1, t1 + 120 * S)) / (BIN_MS / S)
        f["peak on return, x steady keys"] = peak / steady_keys if steady_keys else 0.0
        f["needs during, x steady keys"] = (_sum(m, "needs", t0, t1) / secs) / steady_keys \
            if steady_keys else 0.0
        # The least any client can send that keeps "if any server is up, the extension
        # works": an install that knows nothing of the outage must ask every server once
        # before it may say none is up (an empty pool: one answer, since the servers share
        # one database). It counts only the installs' first fetches: no trial, no second round.
        per_first = N_SERVERS if sc.name == "outage" else 1
        firsts = _sum(m, "first_fetches", t0, t1) / secs
        f["floor: first fetches x servers, x steady keys"] = \
            firsts * per_first / steady_keys if steady_keys else 0.0
    if sc.name == "empty":
        f["probe-healthy-then-key-fails flips"] = m.flips
    if sc.name == "one-down":
        window = list(_bins(t1, t1 + 60 * S))
        mine = sum(m.key_req[0][b] + m.probes[0][b] for b in window)
        total = sum(_traffic(m, b) for b in window)
        f["its load on return, x fair share"] = mine / (total / N_SERVERS) if total else 0.0
        peak = max((m.key_req[0][b] + m.probes[0][b]) / max(1, _traffic(m, b) / N_SERVERS)
                   for b in window)
        f["its peak 10 s on return, x fair share"] = peak
    f["worker stops"] = m.worker_stops
    del steady_needs
    return f


#: (scenario, figure) -> (comparison, bound): the targets, for Keypool
TARGETS = {
    ("steady", "requests per key"): ("<=", 1.05),
    ("steady", "probes, share of pool traffic"): ("<=", 0.01),
    ("brownout", "goodput back to 95 % after (s)"): ("<=", 60),
    ("brownout", "attempts per action during"): ("<=", 1.5),
    ("outage", "pool traffic during, x steady keys"): ("<=", 1.1),
    ("outage", "peak on return, x steady keys"): ("<=", 2.0),
    ("outage", "goodput back to 95 % after (s)"): ("<=", 60),
    ("empty", "pool traffic during, x steady keys"): ("<=", 1.1),
    ("empty", "probe-healthy-then-key-fails flips"): ("<=", 0),
    ("one-down", "its load on return, x fair share"): ("<=", 1.5),
}


def run_one(job):
    """(scenario name, algorithm, installs, seed) -> (name, algorithm, figures, events, seconds)."""
    name, algorithm, installs, seed = job
    sc = next(s for s in SCENARIOS if s.name == name)
    started = time.perf_counter()
    fleet = Fleet(algorithm, installs, sc.settings, sc.duration, seed, sc.shed_s)
    n = fleet.run(sc.events())
    return name, algorithm, figures(sc, fleet.metrics), n, time.perf_counter() - started


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isinf(v):
            return "never"
        if abs(v) >= 100:
            return f"{v:.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.3f}" if abs(v) < 1 else f"{v:.2f}"
    return str(v)


def _met(v, op, bound) -> bool:
    return v <= bound if op == "<=" else v >= bound


def report(results: dict, installs: int, concurrency: int, seconds: float, seed: int) -> int:
    """Print the Markdown table; the number of targets missed."""
    print(f"Fleet simulation: {installs} installs, {N_SERVERS} servers x {concurrency} concurrent "
          f"key requests, seed {seed}, {seconds:.0f} s wall.")
    print()
    print("| scenario | figure | Keypool | original | target | met? |")
    print("|---|---|---|---|---|---|")
    missed = 0
    for sc in SCENARIOS:
        if (sc.name, "keypool") not in results:
            continue
        kp = results[(sc.name, "keypool")]
        orig = results.get((sc.name, "original"), {})
        first = True
        for fig, v in kp.items():
            target = TARGETS.get((sc.name, fig))
            if target is None:
                t_txt, met_txt = "", ""
            else:
                ok = _met(v, *target)
                missed += 0 if ok else 1
                t_txt = f"{target[0]} {target[1]:g}".replace("<=", "≤")
                met_txt = "yes" if ok else "**NO**"
            label = sc.title if first else ""
            first = False
            print(f"| {label} | {fig} | {_fmt(v)} | {_fmt(orig.get(fig, ''))} | {t_txt} "
                  f"| {met_txt} |")
    print()
    print("All targets met." if missed == 0 else f"{missed} target(s) missed.")
    return missed


def missed_targets(results: dict) -> list:
    """The (scenario, figure) targets Keypool's figures miss, in TARGETS' order."""
    return [key for key, (op, bound) in TARGETS.items()
            if (key[0], "keypool") in results
            and not _met(results[(key[0], "keypool")][key[1]], op, bound)]


def run_all(names: list, algos: list, installs: int, seed: int, jobs: int = 1) -> dict:
    """{(scenario, algorithm): figures} for every scenario named, run on `jobs` processes."""
    work = [(n, a, installs, seed) for n in names for a in algos]
    # the longest first, so two workers finish together
    weight = {"steady": 1, "brownout": 3, "brownout-shed": 3, "outage": 2, "empty": 2,
              "one-down": 2}
    work.sort(key=lambda j: -weight.get(j[0], 1))
    results = {}
    if jobs > 1 and len(work) > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(jobs) as workers:
            for name, algo, figs, n, secs in workers.imap_unordered(run_one, work):
                print(f"{name} / {algo}: {n} events in {secs:.1f} s", file=sys.stderr)
                results[(name, algo)] = figs
    else:
        for job in work:
            name, algo, figs, n, secs = run_one(job)
            print(f"{name} / {algo}: {n} events in {secs:.1f} s", file=sys.stderr)
            results[(name, algo)] = figs
    return results


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fleet",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK_INSTALLS} installs (the test-suite gate)")
    ap.add_argument("--installs", type=int, default=None)
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--keypool-only", action="store_true", help="skip the original's runs")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    installs = args.installs or (QUICK_INSTALLS if args.quick else FULL_INSTALLS)
    names = [s.name for s in SCENARIOS]
    if args.only:
        wanted = [x.strip() for x in args.only.split(",") if x.strip()]
        unknown = [x for x in wanted if x not in names]
        if unknown:
            print(f"error: unknown scenario {unknown[0]!r}; one of {', '.join(names)}",
                  file=sys.stderr)
            return 2
        names = wanted
    algos = ["keypool"] if args.keypool_only else ["keypool", "original"]
    started = time.perf_counter()
    results = run_all(names, algos, installs, args.seed, args.jobs)
    missed = report(results, installs, concurrency_for(installs), time.perf_counter() - started,
                    args.seed)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
