"""Time-to-key benchmark: Keypool against the original algorithm, in one service worker.

    python -m benchmarks.failover [--trials N] [--slow-trials M] [--quick] [--only 1,3]
                                   [--trace] [--json FILE]

Builds the extension (``buildtool.cli.main``), loads it in headless Chromium
(Playwright, persistent context, as tests/e2e/conftest.py does), starts five
mock key servers (tests/mock_servers.py) and points Keypool at them with
``keyCacheMs: 0``, so every request fetches a key.

Time-to-key is measured INSIDE the service worker for everyone, with
``performance.now()`` around one call:

- Keypool: ``await keypool.getApiKey()`` (the worker's global hook);
- the reference: ``await __refGetKey()``, the original algorithm in plain JS
  (benchmarks/reference.js), evaluated in the same worker, with its failure
  state in worker memory (lost when the worker stops, as the original's was);
- the floor: one ``fetch(base + "/gemini-key")`` + ``r.json()``.

Progress goes to stderr; the result (two Markdown tables) to stdout.
Scenarios, targets and how each is run: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.extension_worker import stop_worker, wait_for_install, wait_for_worker  # noqa: E402
from tests.mock_servers import KeyServer  # noqa: E402

REFERENCE_JS = (Path(__file__).resolve().parent / "reference.js").read_text(encoding="utf-8")
DEBIAN_CHROMIUM = "/usr/lib/chromium/chromium"
N_SERVERS = 5
HEALTHY = N_SERVERS - 1            # index of the one server that stays healthy
START_TIMEOUT_S = 20
PAUSE_S = 0.05                     # between trials: lets fire-and-forget writes settle

#: Keypool's settings for every scenario (CONTRACT.md §3 defaults except the cache)
BASE_SETTINGS: dict[str, Any] = {
    "keyTimeoutMs": 10000,
    "healthTimeoutMs": 5000,
    "keyCacheMs": 0,
}
#: scenario 6: a failure window short enough to wait for
SHORT_WINDOW_MS = 3000
WINDOW_WAIT_S = 3.5
SHORT_WINDOW_SETTINGS: dict[str, Any] = {
    "failedResetMs": SHORT_WINDOW_MS,
    "ejectionBaseMs": SHORT_WINDOW_MS,
    "probeIntervalMs": 1000,
}
ORIGINAL_FAILED_RESET_MS = 300000

KEYPOOL_TRIAL_JS = """async () => {
  const t = performance.now();
  const r = await keypool.getApiKey();
  return [performance.now() - t, r.ok === true, r.server ?? null, r.error ?? null];
}"""
REFERENCE_TRIAL_JS = """async () => {
  const t = performance.now();
  const r = await globalThis.__refGetKey();
  return [performance.now() - t, r.ok === true, r.server ?? null, r.error ?? null];
}"""
FLOOR_TRIAL_JS = """async (base) => {
  const t = performance.now();
  const r = await fetch(base + "/gemini-key");
  const j = await r.json();
  return [performance.now() - t, r.ok && typeof j.geminiApiKey === "string", base, null];
}"""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

def quantile(samples: list[float], q: float) -> float | None:
    """The q-quantile with linear interpolation between order statistics (R type 7)."""
    if not samples:
        return None
    xs = sorted(samples)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class Series:
    """The trials of one implementation in one scenario."""

    name: str
    ms: list[float] = field(default_factory=list)
    failures: int = 0
    wrong_server: int = 0
    requests: int = 0              # requests the mock servers received in the measured window
    keys: int = 0                  # keys obtained in that window
    probed: list[bool] = field(default_factory=list)   # per trial: did health probes go out?
    warm_requests: int = 0         # requests and keys of the warm-up (learning) phase
    warm_keys: int = 0

    def add(self, result: list, want_server: str | None = None) -> float:
        ms, ok, server, _error = result
        self.ms.append(ms)
        if ok:
            self.keys += 1
            if want_server is not None and server != want_server:
                self.wrong_server += 1
        else:
            self.failures += 1
        return ms

    @property
    def n(self) -> int:
        return len(self.ms)

    def p(self, q: float) -> float | None:
        return quantile(self.ms, q)

    def split_by_probes(self) -> str:
        """p50 of the trials during which health probes went out, and of the others."""
        if len(self.probed) != len(self.ms):
            return ""
        yes = [m for m, p in zip(self.ms, self.probed) if p]
        no = [m for m, p in zip(self.ms, self.probed) if not p]
        return (f"Keypool p50 {fmt_ms(quantile(yes, 0.5))} ms in the {len(yes)} trials during which "
                f"it sent health probes, {fmt_ms(quantile(no, 0.5))} ms in the {len(no)} others")

    @property
    def per_key(self) -> float | None:
        return self.requests / self.keys if self.keys else None

    def summary(self) -> dict:
        return {"n": self.n, "p50": self.p(0.5), "p95": self.p(0.95), "min": min(self.ms, default=None),
                "max": max(self.ms, default=None), "failures": self.failures,
                "wrong_server": self.wrong_server, "requests": self.requests, "keys": self.keys,
                "probed": self.probed, "warm_requests": self.warm_requests,
                "warm_keys": self.warm_keys,
                "ms": [round(x, 3) for x in self.ms]}


# --------------------------------------------------------------------------
# The browser and the extension
# --------------------------------------------------------------------------

class Bench:
    """The loaded extension, the mock servers, and the moves the scenarios make."""

    def __init__(self, ctx, sw, ext_id: str, servers: list[KeyServer]) -> None:
        self.ctx = ctx
        self.sw = sw
        self.id = ext_id
        self.servers = servers
        self.urls = [s.base for s in servers]
        self.page = ctx.new_page()
        self.page.goto(f"chrome-extension://{ext_id}/manifest.json")

    # -- mock servers ------------------------------------------------------

    def set_faulty(self, mode: str) -> None:
        """Every server but HEALTHY in ``mode``; HEALTHY ok."""
        for i, s in enumerate(self.servers):
            s.set_mode("ok" if i == HEALTHY or mode == "ok" else mode)

    @property
    def healthy_url(self) -> str:
        return self.urls[HEALTHY]

    def requests_seen(self, path_suffix: str = "") -> int:
        return sum(s.count(path_suffix) for s in self.servers)

    # -- worker control ----------------------------------------------------

    def send(self, msg: dict, timeout_ms: int = 5000) -> Any:
        return self.page.evaluate(
            """([m, t]) => Promise.race([chrome.runtime.sendMessage(m),
                 new Promise((_, reject) => setTimeout(() => reject(new Error("no answer")), t))])""",
            [msg, timeout_ms])

    def wake(self) -> Any:
        """Start the worker if stopped (sw.evaluate on a stopped worker hangs)."""
        last: Exception | None = None
        for _ in range(5):
            try:
                return self.send({"type": "getPoolStatus"})
            except Exception as e:  # noqa: BLE001 - retried
                last = e
                time.sleep(0.2)
        raise RuntimeError(f"the service worker does not wake up: {last}")

    def stop_sw(self) -> None:
        stop_worker(self.ctx, self.id, wait_s=3)

    def restart_sw(self) -> None:
        self.stop_sw()
        self.wake()

    # -- Keypool -----------------------------------------------------------

    def set_settings(self, extra: dict | None = None) -> dict:
        settings = {"servers": self.urls, **BASE_SETTINGS, **(extra or {})}
        self.page.evaluate("s => chrome.storage.local.set({settings: s})", settings)
        return settings

    def fresh(self) -> None:
        """A fresh worker with nothing learned: Keypool's ledger, alarms and the reference's memory."""
        self.stop_sw()   # first: in-flight probes must not write after the clear
        self.page.evaluate("() => Promise.all([chrome.storage.session.clear(), chrome.alarms.clearAll()])")
        self.stop_sw()
        self.wake()

    def keypool(self) -> list:
        return self.sw.evaluate(KEYPOOL_TRIAL_JS)

    def keypool_failed_count(self) -> int:
        status = self.send({"type": "getPoolStatus"})
        return sum(1 for row in status["servers"] if row["state"] == "failed" or row.get("probation"))

    # -- the reference -----------------------------------------------------

    def install_ref(self, **config: Any) -> None:
        """Define __refGetKey (state kept while the worker lives); apply ``config``."""
        cfg = {"servers": self.urls, "keyTimeoutMs": 10000, "allFailedBackoffMs": 2000, **config}
        self.sw.evaluate(REFERENCE_JS, cfg)

    def ensure_ref(self) -> None:
        if not self.sw.evaluate("() => typeof globalThis.__refGetKey === 'function'"):
            self.install_ref(failedResetMs=ORIGINAL_FAILED_RESET_MS)

    def reference(self) -> list:
        self.ensure_ref()
        return self.sw.evaluate(REFERENCE_TRIAL_JS)

    def ref_failed_count(self) -> int:
        return self.sw.evaluate("() => globalThis.__refFailedCount()")

    def floor(self, base: str) -> list:
        return self.sw.evaluate(FLOOR_TRIAL_JS, base)


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

@dataclass
class Config:
    trials: int
    slow_trials: int      # the reference where each trial waits on hanging servers (~20 s)
    warmup: int


@dataclass
class Result:
    key: str
    title: str
    keypool: Series
    reference: Series
    floor: Series | None = None
    note: str = ""


def _progress(scenario: str, series: Series, i: int, total: int, ms: float) -> None:
    if total <= 12 or i == total or i % 10 == 0 or ms > 1000:
        log(f"  [{scenario}] {series.name} {i}/{total}: {ms:.1f} ms")


def warm_keypool(b: Bench, cfg: Config, scenario: str) -> tuple[int, int]:
    """At least cfg.warmup requests, then more until Keypool has all 4 faulty servers out.

    "Out" is failed or on probation (used only when no healthy server is left).
    The reference is warmed the same way: until its failed set holds all 4.
    Returns (faulty servers out, keys obtained).
    """
    done = keys = 0
    while done < 30 and (done < cfg.warmup or b.keypool_failed_count() < N_SERVERS - 1):
        keys += 1 if b.keypool()[1] else 0
        done += 1
    marked = b.keypool_failed_count()
    log(f"  [{scenario}] keypool warm-up: {done} requests, {marked}/4 faulty servers out of the pool")
    return marked, keys


def keypool_trial(b: Bench, series: Series) -> float:
    """One Keypool trial, noting whether health probes went out while it ran."""
    before = b.requests_seen("/health")
    ms = series.add(b.keypool(), b.healthy_url)
    series.probed.append(b.requests_seen("/health") > before)
    return ms


def s1_healthy(b: Bench, cfg: Config) -> Result:
    """All healthy, trials interleaved (Keypool, reference, floor in random order)."""
    b.set_faulty("ok")
    b.set_settings()
    b.fresh()
    b.install_ref(failedResetMs=ORIGINAL_FAILED_RESET_MS)
    kp, ref, fl = Series("keypool"), Series("reference"), Series("floor")
    for _ in range(cfg.warmup):
        b.keypool()
        b.reference()
        b.floor(random.choice(b.urls))
    runs = {
        "keypool": (kp, b.keypool),
        "reference": (ref, b.reference),
        "floor": (fl, lambda: b.floor(random.choice(b.urls))),
    }
    for i in range(1, cfg.trials + 1):
        order = list(runs)
        random.shuffle(order)
        for name in order:
            series, fn = runs[name]
            before = b.requests_seen()
            ms = series.add(fn())
            series.requests += b.requests_seen() - before
            _progress("1 healthy", series, i, cfg.trials, ms)
            time.sleep(PAUSE_S)
    return Result("healthy", "1. all healthy", kp, ref, fl)


def s2_refuse(b: Bench, cfg: Config) -> list[Result]:
    """Four of five refusing: cold (a fresh worker, nothing learned, each trial) and warm."""
    b.set_faulty("refuse")
    b.set_settings()
    kp, ref = Series("keypool"), Series("reference")
    for i in range(1, cfg.trials + 1):
        b.fresh()
        _progress("2 refuse cold", kp, i, cfg.trials, kp.add(b.keypool(), b.healthy_url))
        time.sleep(PAUSE_S)
        b.fresh()
        _progress("2 refuse cold", ref, i, cfg.trials, ref.add(b.reference(), b.healthy_url))
        time.sleep(PAUSE_S)
    cold = Result("refuse_cold", "2a. 4 of 5 refusing, cold", kp, ref,
                  note="a fresh worker with nothing learned before each trial, for both")

    b.fresh()
    b.install_ref(failedResetMs=ORIGINAL_FAILED_RESET_MS)
    kp, ref = Series("keypool"), Series("reference")
    for _ in range(cfg.warmup):
        b.keypool()
        b.reference()
    for i in range(1, cfg.trials + 1):
        _progress("2 refuse warm", kp, i, cfg.trials, kp.add(b.keypool(), b.healthy_url))
        time.sleep(PAUSE_S)
        _progress("2 refuse warm", ref, i, cfg.trials, ref.add(b.reference(), b.healthy_url))
        time.sleep(PAUSE_S)
    warm = Result("refuse_warm", "2b. 4 of 5 refusing, warm", kp, ref,
                  note=f"after {cfg.warmup} warm-up requests, state kept")
    return [cold, warm]


def s3_hang_cold(b: Bench, cfg: Config) -> Result:
    """Four of five hanging; before each trial a fresh worker with nothing learned."""
    b.set_faulty("hang")
    b.set_settings()
    kp, ref = Series("keypool"), Series("reference")
    for i in range(1, cfg.trials + 1):
        b.fresh()
        _progress("3 hang cold", kp, i, cfg.trials, kp.add(b.keypool(), b.healthy_url))
        time.sleep(PAUSE_S)
    for i in range(1, cfg.slow_trials + 1):
        b.fresh()
        _progress("3 hang cold", ref, i, cfg.slow_trials, ref.add(b.reference(), b.healthy_url))
        time.sleep(PAUSE_S)
    return Result("hang_cold", "3. 4 of 5 hanging, cold", kp, ref,
                  note="a fresh worker with nothing learned before each trial, for both")


def s4_hang_warm(b: Bench, cfg: Config) -> Result:
    """Four of five hanging, state warmed and kept; Keypool and reference trials interleaved."""
    b.set_faulty("hang")
    b.set_settings()
    kp, ref = Series("keypool"), Series("reference")
    b.fresh()
    b.install_ref(failedResetMs=ORIGINAL_FAILED_RESET_MS)
    # Requests per key: the /gemini-key requests that arrive while one
    # implementation runs belong to it (hedges are sent before the answer);
    # every /health request is Keypool's (its probes; the reference never
    # checks health). The warm-up (learning) phase is counted apart.
    key0 = b.requests_seen("/gemini-key")
    for _ in range(3 * N_SERVERS):
        if b.ref_failed_count() >= N_SERVERS - 1:
            break
        ms, ok = b.reference()[:2]
        ref.warm_keys += 1 if ok else 0
        log(f"  [4 hang warm] reference warm-up: {ms:.0f} ms, {b.ref_failed_count()}/4 marked")
    ref.warm_requests = b.requests_seen("/gemini-key") - key0
    key0, health0 = b.requests_seen("/gemini-key"), b.requests_seen("/health")
    marked, kp.warm_keys = warm_keypool(b, cfg, "4 hang warm")
    kp.warm_requests = b.requests_seen("/gemini-key") - key0
    health1 = b.requests_seen("/health")
    kp.warm_requests += health1 - health0
    for i in range(1, cfg.trials + 1):
        for series, fn in ((kp, b.keypool), (ref, b.reference)):
            before = b.requests_seen("/gemini-key")
            if series is kp:
                ms = keypool_trial(b, kp)
            else:
                ms = series.add(fn(), b.healthy_url)
            _progress("4 hang warm", series, i, cfg.trials, ms)
            series.requests += b.requests_seen("/gemini-key") - before
            time.sleep(PAUSE_S)
    kp.requests += b.requests_seen("/health") - health1
    return Result("hang_warm", "4. 4 of 5 hanging, warm", kp, ref,
                  note=f"warm-up until all 4 hanging servers are out (Keypool: {marked}/4 failed or on "
                       "probation; reference: 4/4 in its failed set), then trials with state kept, "
                       "Keypool and reference alternating")


def s5_after_restart(b: Bench, cfg: Config) -> Result:
    """Four hanging, state warmed, the worker stopped and woken before each trial."""
    b.set_faulty("hang")
    b.set_settings()
    kp, ref, fl = Series("keypool"), Series("reference"), Series("floor")
    b.fresh()
    warm_keypool(b, cfg, "5 restart")
    for i in range(1, cfg.trials + 1):
        b.restart_sw()
        _progress("5 restart", kp, i, cfg.trials, keypool_trial(b, kp))
        time.sleep(PAUSE_S)
    # Control: the floor (one direct fetch to the healthy server) in a just-woken
    # worker, to tell the cost of a fresh worker from Keypool's own.
    for i in range(1, cfg.trials + 1):
        b.restart_sw()
        _progress("5 restart", fl, i, cfg.trials, fl.add(b.floor(b.healthy_url)))
        time.sleep(PAUSE_S)
    # The reference's memory dies with the worker: after each restart it is
    # re-installed with an empty failed set, as the original started over.
    b.fresh()
    for i in range(1, cfg.slow_trials + 1):
        b.restart_sw()
        b.install_ref(failedResetMs=ORIGINAL_FAILED_RESET_MS)
        _progress("5 restart", ref, i, cfg.slow_trials, ref.add(b.reference(), b.healthy_url))
        time.sleep(PAUSE_S)
    return Result("restart", "5. right after a worker restart (4 hanging)", kp, ref, fl,
                  note="state warmed, then the worker stopped and woken (one getPoolStatus message) before "
                       "each trial; the floor row is the same direct fetch as in 1, to the healthy "
                       "server, in a just-woken worker")


def s6_after_window(b: Bench, cfg: Config) -> Result:
    """Four hanging, a 3 s failure window; each trial right after the window ran out."""
    b.set_faulty("hang")
    b.set_settings(SHORT_WINDOW_SETTINGS)
    kp, ref = Series("keypool"), Series("reference")
    b.fresh()
    warm_keypool(b, cfg, "6 window")
    for i in range(1, cfg.trials + 1):
        time.sleep(WINDOW_WAIT_S)
        _progress("6 window", kp, i, cfg.trials, keypool_trial(b, kp))

    # The reference: failedResetMs 3000 while waiting, so its marks run out.
    # For the measured request the window goes back to 5 min, standing in for
    # the original's real window (5 min >> 10 s): with 3 s, a hanging server
    # marked at 10 s would be picked again at 20 s within the same request,
    # which the original never does.
    b.fresh()
    b.install_ref(failedResetMs=SHORT_WINDOW_MS)
    b.reference()  # warm-up: marks the hanging servers it meets
    for i in range(1, cfg.slow_trials + 1):
        b.sw.evaluate("ms => globalThis.__refConfigure({failedResetMs: ms})", SHORT_WINDOW_MS)
        time.sleep(WINDOW_WAIT_S)
        left = b.sw.evaluate("() => globalThis.__refExpire()")
        b.sw.evaluate("ms => globalThis.__refConfigure({failedResetMs: ms})", ORIGINAL_FAILED_RESET_MS)
        if left:
            log(f"  [6 window] reference: {left} marks still in the window (unexpected)")
        _progress("6 window", ref, i, cfg.slow_trials, ref.add(b.reference(), b.healthy_url))
    b.set_settings()
    return Result("window", "6. right after the failure window ran out (4 hanging)", kp, ref,
                  note=f"failedResetMs {SHORT_WINDOW_MS} (Keypool also ejectionBaseMs "
                       f"{SHORT_WINDOW_MS}, probeIntervalMs 1000); {WINDOW_WAIT_S} s wait before each trial")


# --------------------------------------------------------------------------
# --trace: where the time of one healthy Keypool request goes
# --------------------------------------------------------------------------

#: wraps chrome.storage, chrome.alarms, fetch and console.log in the worker to
#: record [what, start, end] relative to the start of the traced call.
TRACE_INSTALL_JS = r"""() => {
  if (globalThis.__trace) return;
  const T = globalThis.__trace = {t0: 0, ev: []};
  const now = () => performance.now() - T.t0;
  const rec = (name, p) => { const s = now(); return Promise.resolve(p).then(
      v => { T.ev.push([name, s, now()]); return v; },
      e => { T.ev.push([name + ' (rejected)', s, now()]); throw e; }); };
  for (const area of ['local', 'session']) {
    const a = chrome.storage[area];
    for (const m of ['get', 'set', 'remove']) {
      const orig = a[m].bind(a);
      a[m] = (...args) => rec(`storage.${area}.${m}(${m === 'set'
          ? Object.keys(args[0]).join(',') : JSON.stringify(args[0])})`, orig(...args));
    }
  }
  for (const m of ['create', 'clear']) {
    const orig = chrome.alarms[m].bind(chrome.alarms);
    chrome.alarms[m] = (...args) => rec('alarms.' + m, orig(...args));
  }
  const origFetch = globalThis.fetch.bind(globalThis);
  globalThis.fetch = (url, init) => rec('fetch ' + String(url).replace(/^.*\/api/, '')
      + ' (to headers)', origFetch(url, init));
  for (const m of ['text', 'json']) {
    const orig = Response.prototype[m];
    Response.prototype[m] = function () { return rec(`response.${m}() (body)`, orig.call(this)); };
  }
  const origLog = console.log.bind(console);
  console.log = (...args) => { const s = now(); origLog(...args);
      T.ev.push(['console.log "' + String(args[0]).slice(0, 28) + '"', s, now()]); };
}"""
TRACE_RUN_JS = """async () => {
  const T = globalThis.__trace; T.ev = []; T.t0 = performance.now();
  const r = await keypool.getApiKey();
  const total = performance.now() - T.t0;
  await new Promise(res => setTimeout(res, 30));   // let the writes after the answer land
  return {total, ok: r.ok, ev: T.ev};
}"""


def trace_healthy(b: Bench, runs: int) -> dict:
    """Trace `runs` healthy Keypool requests; print the one with the median total."""
    b.set_faulty("ok")
    b.set_settings()
    b.fresh()
    b.sw.evaluate(TRACE_INSTALL_JS)
    for _ in range(5):
        b.sw.evaluate(TRACE_RUN_JS)
    traces = []
    for _ in range(runs):
        traces.append(b.sw.evaluate(TRACE_RUN_JS))
        time.sleep(PAUSE_S)
    return report_traces(b, traces, f"the median of {runs} healthy Keypool requests "
                                    "(instrumented, so a little slower)")


def report_traces(b: Bench, traces: list, title: str) -> dict:
    """Log the trace with the median total, drop the instrumentation, and return the totals."""
    traces.sort(key=lambda t: t["total"])
    median = traces[len(traces) // 2]
    log(f"trace: {title}: {median['total']:.1f} ms to the answer")
    for name, start, end in sorted(median["ev"], key=lambda e: e[1]):
        after = "   (after the answer)" if start >= median["total"] else ""
        log(f"  {start:6.1f} -> {end:6.1f} ms  {name}{after}")
    b.stop_sw()   # drop the instrumentation
    b.wake()
    return {"median": median, "totals": [t["total"] for t in traces]}


def trace_restart(b: Bench, runs: int) -> dict:
    """Trace the first healthy Keypool request in a just-woken worker; print the median one."""
    b.set_faulty("ok")
    b.set_settings()
    b.fresh()
    for _ in range(5):
        b.keypool()
    traces = []
    for _ in range(runs):
        b.restart_sw()
        b.sw.evaluate(TRACE_INSTALL_JS)
        traces.append(b.sw.evaluate(TRACE_RUN_JS))
        time.sleep(PAUSE_S)
    return report_traces(b, traces, f"the median of {runs} first requests after a worker "
                                    "restart, all healthy (instrumented)")


REAL_LATENCY_MS = (300, 900)       # the real key route: a live Gemini call (KEYSERVERS.md)
REAL_COLD_KEYS = 20


def _key_requests(b: Bench, series: Series, fn) -> float:
    """One trial, counting the /gemini-key requests the servers received meanwhile."""
    before = b.requests_seen("/gemini-key")
    ms = series.add(fn())
    series.requests += b.requests_seen("/gemini-key") - before
    return ms


def s7_real_servers(b: Bench, cfg: Config) -> list[Result]:
    """Real-server latency: /gemini-key requests per key, from a fresh profile (first 20 keys) and steady."""
    for s in b.servers:
        s.set_traits("latency", latency_ms=REAL_LATENCY_MS, seed=s.index)
    try:
        b.set_faulty("ok")
        b.set_settings()
        out = []
        series = {}
        for name, fn in (("keypool", b.keypool), ("reference", b.reference)):
            b.fresh()
            b.install_ref(failedResetMs=ORIGINAL_FAILED_RESET_MS)
            cold, steady = Series(name), Series(name)
            for i in range(1, REAL_COLD_KEYS + 1):
                _progress("7 real cold", cold, i, REAL_COLD_KEYS, _key_requests(b, cold, fn))
            for i in range(1, cfg.trials + 1):
                _progress("7 real steady", steady, i, cfg.trials, _key_requests(b, steady, fn))
            series[name] = (cold, steady)
        out.append(Result("real_cold", f"7a. real servers, cold: the first {REAL_COLD_KEYS} keys",
                          series["keypool"][0], series["reference"][0],
                          note=f"key route {REAL_LATENCY_MS[0]}-{REAL_LATENCY_MS[1]} ms (uniform), "
                               "a fresh profile (nothing learned, storage.session cleared)"))
        out.append(Result("real_steady", "7b. real servers, steady: the keys after those",
                          series["keypool"][1], series["reference"][1]))
        return out
    finally:
        for s in b.servers:
            s.set_traits()


# --------------------------------------------------------------------------
# Cold worker: wake to answer, Keypool against the original as an extension of its own
# --------------------------------------------------------------------------
#
# The worker is stopped (as Chrome does after 30 s idle), then ONE getApiKey
# message is sent from an extension page and timed there, from sendMessage to
# the answer: the worker's start, its scripts, its first request, all healthy.
# The original is the plain-JS algorithm of reference.js, as the whole service
# worker of a second extension (one classic script), loaded in the same
# browser. Both extensions run in a browser of their own, launched for this
# scenario, next to Keypool as the benchmark loaded it and a --release build.

COLD_REF_WORKER = "reference_worker.js"
COLD_PAUSE_S = 0.3            # after an answer: lets the worker's writes after it land
COLD_TRIAL_JS = """async (message) => {
  const t = performance.now();
  const r = await chrome.runtime.sendMessage(message);
  return [performance.now() - t, r.ok === true, r.server ?? null, r.error ?? null];
}"""
# In the popup: when the first pool row is in the DOM (performance.now() counts
# from the navigation's start, i.e. from opening the popup).
POPUP_ROWS_INIT_JS = """(() => {
  if (!location.pathname.endsWith('/popup.html')) return;
  const seen = () => {
    if (document.querySelector('#pool > li')) {
      globalThis.__rowsShownMs = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(seen);
  observer.observe(document, {childList: true, subtree: true});
})();"""


def write_reference_extension(directory: Path, servers: list[str]) -> Path:
    """The original algorithm as an MV3 extension: one plain-JS worker answering getApiKey."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "manifest_version": 3, "name": "Original key fetch (benchmark)", "version": "1.0",
        "background": {"service_worker": COLD_REF_WORKER},
        "permissions": ["storage"],
        "host_permissions": ["http://localhost/*", "http://127.0.0.1/*"],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    config = {"servers": servers, "keyTimeoutMs": 10000, "allFailedBackoffMs": 2000,
              "failedResetMs": ORIGINAL_FAILED_RESET_MS}
    worker = (f"({REFERENCE_JS.strip()})({json.dumps(config)});\n"
              "chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {\n"
              "  if (message && message.type === 'getApiKey') {\n"
              "    globalThis.__refGetKey().then(sendResponse);\n"
              "    return true;\n"
              "  }\n"
              "  return false;\n"
              "});\n")
    (directory / COLD_REF_WORKER).write_text(worker, encoding="utf-8")
    return directory


def _worker_at(ctx, path_suffix: str, timeout_s: float):
    """The service worker whose script URL ends with path_suffix (several extensions loaded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for w in ctx.service_workers:
            if w.url.startswith("chrome-extension://") and w.url.endswith(path_suffix):
                return w
        try:
            return ctx.wait_for_event(
                "serviceworker", timeout=1000,
                predicate=lambda w: w.url.startswith("chrome-extension://")
                and w.url.endswith(path_suffix))
        except Exception:  # noqa: BLE001 - not yet: look again
            pass
    raise RuntimeError(f"no service worker {path_suffix} within {timeout_s} s")


class ColdTarget:
    """One extension in the cold-worker browser: its page, its worker, its trials."""

    def __init__(self, name: str, ctx, ext_id: str) -> None:
        self.name = name
        self.ctx = ctx
        self.id = ext_id
        self.page = ctx.new_page()
        self.page.goto(f"chrome-extension://{ext_id}/manifest.json")
        self.cold = Series(name)
        self.warm = Series(name)

    def send(self, message: dict) -> list:
        return self.page.evaluate(COLD_TRIAL_JS, message)

    def stop(self) -> None:
        stop_worker(self.ctx, self.id, wait_s=3)

    def trial(self, want_server: str | None) -> tuple[float, float]:
        """Stop the worker, time one getApiKey (cold), then one more (warm)."""
        self.stop()
        cold = self.cold.add(self.send({"type": "getApiKey"}), want_server)
        time.sleep(COLD_PAUSE_S)
        warm = self.warm.add(self.send({"type": "getApiKey"}), want_server)
        time.sleep(COLD_PAUSE_S)
        return cold, warm


def popup_rows_ms(target: ColdTarget, cold: bool) -> float:
    """Open popup.html in a new tab; ms from its opening to the first pool row in the DOM."""
    if cold:
        target.stop()
    page = target.ctx.new_page()
    try:
        page.add_init_script(POPUP_ROWS_INIT_JS)
        page.goto(f"chrome-extension://{target.id}/popup.html")
        page.wait_for_function("() => globalThis.__rowsShownMs !== undefined", timeout=10000)
        return page.evaluate("() => globalThis.__rowsShownMs")
    finally:
        page.close()
        time.sleep(COLD_PAUSE_S)


def s_cold_worker(b: Bench, cfg: Config) -> list[Result]:
    """Cold worker: stop it, then one getApiKey from a page (Keypool vs the original, timed in the page)."""
    from buildtool.cli import main as build_main  # what build.py runs

    b.set_faulty("ok")
    tmp = Path(tempfile.mkdtemp(prefix="keypool-cold-"))
    try:
        log("  [cold] building the --release extension...")
        if build_main(["--out", str(tmp / "release"), "-q", "--release"]) != 0:
            raise RuntimeError("the --release build failed")
        loaded = getattr(b, "ext_dir", None)
        builds = [("keypool-release", tmp / "release" / "chrome-mv3")]
        if loaded is not None:
            builds.append(("keypool-loaded", Path(loaded)))
        ref_dir = write_reference_extension(tmp / "reference", b.urls)
        dirs = ",".join(str(d) for _, d in builds) + f",{ref_dir}"
        browser_type = b.ctx.browser.browser_type
        ctx = browser_type.launch_persistent_context(
            str(tmp / "profile"), headless=True,
            executable_path=getattr(b, "chromium", None) or DEBIAN_CHROMIUM,
            args=[f"--disable-extensions-except={dirs}", f"--load-extension={dirs}"])
        try:
            return _cold_worker_run(b, cfg, ctx, builds, ref_dir)
        finally:
            ctx.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _worker_of(ctx, ext_id: str, timeout_s: float):
    """The service worker of extension ext_id (several extensions are loaded)."""
    prefix = f"chrome-extension://{ext_id}/"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for w in ctx.service_workers:
            if w.url.startswith(prefix):
                return w
        try:
            return ctx.wait_for_event("serviceworker", timeout=1000,
                                      predicate=lambda w: w.url.startswith(prefix))
        except Exception:  # noqa: BLE001 - not yet: look again
            pass
    raise RuntimeError(f"extension {ext_id}: no service worker within {timeout_s} s")


def _extension_id(ext_dir: Path) -> str:
    """An unpacked extension's ID: sha256 of its absolute path, 32 hex digits written a-p."""
    digest = hashlib.sha256(str(ext_dir.resolve()).encode()).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def _cold_worker_run(b: Bench, cfg: Config, ctx, builds: list[tuple[str, Path]],
                     ref_dir: Path) -> list[Result]:
    _worker_of(ctx, _extension_id(ref_dir), START_TIMEOUT_S)
    reference = ColdTarget("reference", ctx, _extension_id(ref_dir))
    keypools = []
    for name, ext_dir in builds:
        ext_id = _extension_id(ext_dir)
        wait_for_install(_worker_of(ctx, ext_id, START_TIMEOUT_S), START_TIMEOUT_S)
        target = ColdTarget(name, ctx, ext_id)
        target.page.evaluate("s => chrome.storage.local.set({settings: s})",
                             {"servers": b.urls, **BASE_SETTINGS})
        keypools.append(target)
    targets = keypools + [reference]
    for target in targets:  # warm-up: each worker stopped, started and answering
        for _ in range(max(1, cfg.warmup // 2)):
            target.trial(None)
        target.cold, target.warm = Series(target.name), Series(target.name)
    for i in range(1, cfg.trials + 1):
        order = list(targets)
        random.shuffle(order)
        for target in order:
            cold, _warm = target.trial(None)
            _progress("cold", target.cold, i, cfg.trials, cold)
    popup = {}
    for target in keypools:
        for cold in (True, False):
            series = Series(f"{target.name} popup")
            for _ in range(max(3, cfg.trials // 3)):
                series.ms.append(popup_rows_ms(target, cold))
            popup[(target.name, cold)] = series
            log(f"  [cold] {target.name} popup to pool rows, {'cold' if cold else 'warm'} "
                f"worker: p50 {fmt_ms(series.p(0.5))} ms")
    titles = {"keypool-release": "Keypool --release build (what ships)",
              "keypool-loaded": "Keypool, the build loaded for 1-6"}
    results = []
    for target in keypools:
        pc, pw = popup[(target.name, True)], popup[(target.name, False)]
        results.append(Result(
            f"cold_{target.name}", f"8. cold worker, {titles[target.name]}", target.cold,
            reference.cold,
            note=(f"the worker stopped, then one getApiKey from an extension page, timed in the "
                  f"page (sendMessage to answer), against the original as the one-file worker "
                  f"of a second extension in the same browser. Popup, from opening to the "
                  f"first pool row: p50 {fmt_ms(pc.p(0.5))} ms, p95 {fmt_ms(pc.p(0.95))} ms "
                  f"with the worker stopped; p50 {fmt_ms(pw.p(0.5))} ms, p95 "
                  f"{fmt_ms(pw.p(0.95))} ms with it running (n = {pc.n} each)")))
    for target in keypools[:1]:
        results.append(Result(f"warm_{target.name}", "8. the next request (warm worker), "
                              + titles[target.name], target.warm, reference.warm))
    return results


SCENARIOS = {
    "1": s1_healthy,
    "2": s2_refuse,
    "3": s3_hang_cold,
    "4": s4_hang_warm,
    "5": s5_after_restart,
    "6": s6_after_window,
    "7": s7_real_servers,
    "cold": s_cold_worker,
}


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def fmt_ms(x: float | None) -> str:
    if x is None:
        return "–"
    if x >= 1000:
        return f"{x / 1000:.2f} s"
    return f"{x:.1f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.2f}" if r >= 0.01 else f"{r:.4f}"


def target_for(res: Result, by_key: dict[str, Result]) -> tuple[str, str]:
    """(target text, met text) for a latency row."""
    kp = res.keypool
    healthy = by_key.get("healthy")
    healthy_p95 = healthy.keypool.p(0.95) if healthy else None
    if res.key == "healthy" and res.floor is not None:
        limit = 1.3 * res.floor.p(0.5)
        met = kp.p(0.5) <= limit
        return (f"p50 ≤ 1.3 × floor p50 ({fmt_ms(res.floor.p(0.5))} → ≤ {fmt_ms(limit)})",
                f"{'yes' if met else '**NO**'} ({kp.p(0.5) / res.floor.p(0.5):.2f} × floor)")
    if res.key.startswith("cold_"):
        limit = 1.2 * res.reference.p(0.5)
        met = kp.p(0.5) <= limit
        return (f"p50 ≤ 1.2 × original p50 (≤ {fmt_ms(limit)})",
                f"{'yes' if met else '**NO**'} ({kp.p(0.5) / res.reference.p(0.5):.2f} × original)")
    if res.key == "hang_cold":
        met = kp.p(0.95) <= 1500
        return "p95 ≤ 1500 ms", "yes" if met else "**NO**"
    if res.key in ("hang_warm", "restart", "window"):
        if healthy_p95 is None:
            return "p95 ≤ 1.2 × healthy p95", "– (scenario 1 not run)"
        limit = 1.2 * healthy_p95
        met = kp.p(0.95) <= limit
        return (f"p95 ≤ 1.2 × healthy p95 (≤ {fmt_ms(limit)})",
                f"{'yes' if met else '**NO**'} ({kp.p(0.95) / healthy_p95:.2f} × healthy)")
    return "–", "–"


def report(results: list[Result], meta: dict) -> str:
    by_key = {r.key: r for r in results}
    lines = [
        f"Run {meta['date']} on {meta['machine']}; Chromium {meta['chromium']}; "
        f"Keypool {meta['commit']}; {meta['mode']}; {meta['duration_s']} s; load average "
        f"{meta['load_start']} at the start, {meta['load_end']} at the end.",
        "Times in ms, measured inside the service worker (performance.now around one call); "
        "p50/p95 with linear interpolation; n = trials (Keypool / reference).",
        "",
        "| scenario | n | Keypool p50 | Keypool p95 | reference p50 | reference p95 "
        "| ratio (p95 keypool/reference) | target | met? |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        kp, ref = res.keypool, res.reference
        target, met = target_for(res, by_key)
        fails = []
        if kp.failures or ref.failures:
            fails.append(f"failed: {kp.failures}/{ref.failures}")
        if kp.wrong_server or ref.wrong_server:
            fails.append(f"key from a faulty server?: {kp.wrong_server}/{ref.wrong_server}")
        extra = f" ({'; '.join(fails)})" if fails else ""
        lines.append(
            f"| {res.title}{extra} | {kp.n} / {ref.n} | {fmt_ms(kp.p(0.5))} | {fmt_ms(kp.p(0.95))} "
            f"| {fmt_ms(ref.p(0.5))} | {fmt_ms(ref.p(0.95))} | {fmt_ratio(kp.p(0.95), ref.p(0.95))} "
            f"| {target} | {met} |")
        if res.floor is not None:
            fl = res.floor
            title = ("1. floor: one direct fetch + json" if res.key == "healthy"
                     else f"{res.title.split('.')[0]}. floor after a restart (control)")
            lines.append(
                f"| {title} | {fl.n} | {fmt_ms(fl.p(0.5))} | {fmt_ms(fl.p(0.95))} | | | | | |")
    lines += ["", "Requests sent to the pool per key obtained (every request the mock servers "
              "received, /gemini-key and /health):", "",
              "| scenario | Keypool requests / keys | Keypool per key | reference requests / keys "
              "| reference per key | target | met? |",
              "|---|---|---|---|---|---|---|"]

    def row(title: str, kp_req: int, kp_keys: int, ref_req: int, ref_keys: int,
            target: str = "–", met: str = "–") -> str:
        def per(req: int, keys: int) -> str:
            return f"{req / keys:.2f}" if keys else "–"
        return (f"| {title} | {kp_req} / {kp_keys} | {per(kp_req, kp_keys)} | {ref_req} / {ref_keys} "
                f"| {per(ref_req, ref_keys)} | {target} | {met} |")

    res = by_key.get("healthy")
    if res is not None:
        kp, ref = res.keypool, res.reference
        met = "yes" if kp.per_key is not None and kp.per_key <= 1.1 else "**NO**"
        lines.append(row("all healthy (the trials)", kp.requests, kp.keys, ref.requests, ref.keys,
                         "≤ 1.1 per key", met))
    res = by_key.get("hang_warm")
    if res is not None:
        kp, ref = res.keypool, res.reference
        lines.append(row("4 of 5 hanging: learning (the warm-up, from nothing learned)",
                         kp.warm_requests, kp.warm_keys, ref.warm_requests, ref.warm_keys))
        lines.append(row("4 of 5 hanging: warm (the trials)", kp.requests, kp.keys,
                         ref.requests, ref.keys))
    for key, title, limit in (("real_cold", "real servers, cold (first 20 keys): /gemini-key only",
                               1.1),
                              ("real_steady", "real servers, steady: /gemini-key only", 1.05)):
        res = by_key.get(key)
        if res is not None:
            kp, ref = res.keypool, res.reference
            met = "yes" if kp.per_key is not None and kp.per_key <= limit else "**NO**"
            lines.append(row(title, kp.requests, kp.keys, ref.requests, ref.keys,
                             f"≤ {limit} per key", met))
    notes = [f"- {r.title}: {r.note}" for r in results if r.note]
    notes += [f"- {r.title}: {r.keypool.split_by_probes()}" for r in results
              if r.keypool.probed and any(r.keypool.probed)]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)


def machine_text() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


def load_text() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def commit_text() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "extension_src"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" + uncommitted changes in extension_src" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.failover", description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=None,
                    help="trials per cheap series (default 30; --quick: 8)")
    ap.add_argument("--slow-trials", type=int, default=None,
                    help="trials of the reference where hanging servers cost it ~20 s each "
                         "(scenarios 3, 5, 6; default 8; --quick: 2)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up requests (default 5)")
    ap.add_argument("--quick", action="store_true", help="a 2-3 minute smoke run")
    ap.add_argument("--only", default="", help="comma-separated scenario numbers, e.g. 1,3")
    ap.add_argument("--trace", action="store_true",
                    help="also trace where a healthy Keypool request spends its time (stderr)")
    ap.add_argument("--json", type=Path, default=None, help="also write every sample to this file")
    ap.add_argument("--extension", type=Path, default=None,
                    help="an already built chrome-mv3 folder (default: build one with buildtool.cli.main)")
    ap.add_argument("--chromium", default=os.environ.get("KEYPOOL_CHROMIUM", DEBIAN_CHROMIUM))
    ap.add_argument("--seed", type=int, default=None, help="seed for the benchmark's own random choices")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = Config(trials=args.trials or (8 if args.quick else 30),
                 slow_trials=args.slow_trials or (2 if args.quick else 8),
                 warmup=args.warmup)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = [s for s in wanted if s not in SCENARIOS]
    if unknown:
        log(f"error: unknown scenario(s) {unknown}; known: {list(SCENARIOS)}")
        return 2
    if args.seed is not None:
        random.seed(args.seed)

    from buildtool.cli import main as build_main  # what build.py runs

    tmp = Path(tempfile.mkdtemp(prefix="keypool-bench-"))
    servers: list[KeyServer] = []
    started = time.monotonic()
    try:
        if args.extension:
            ext_dir = args.extension.resolve()
        else:
            log("building the extension...")
            if build_main(["--out", str(tmp / "build"), "-q"]) != 0:
                log("error: the build failed")
                return 1
            ext_dir = tmp / "build" / "chrome-mv3"
        servers = [KeyServer(i) for i in range(N_SERVERS)]
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                str(tmp / "profile"), executable_path=args.chromium, headless=True,
                args=[f"--disable-extensions-except={ext_dir}", f"--load-extension={ext_dir}"])
            try:
                sw = wait_for_worker(ctx, START_TIMEOUT_S)
                wait_for_install(sw, START_TIMEOUT_S)
                ext_id = sw.url.split("/")[2]
                bench = Bench(ctx, sw, ext_id, servers)
                bench.ext_dir, bench.chromium = ext_dir, args.chromium  # for the cold scenario
                meta = {
                    "date": datetime.date.today().isoformat(),
                    "load_start": load_text(),
                    "machine": machine_text(),
                    "chromium": ctx.browser.version if ctx.browser else "?",
                    "commit": commit_text(),
                    "mode": (f"{'--quick' if args.quick else 'full run'}: trials {cfg.trials}, "
                             f"slow reference trials {cfg.slow_trials}, warm-up {cfg.warmup}"),
                }
                log(f"extension {ext_id} loaded; {meta['mode']}")
                results: list[Result] = []
                for key in wanted:
                    t0 = time.monotonic()
                    log(f"scenario {key}: {SCENARIOS[key].__doc__.splitlines()[0]}")
                    got = SCENARIOS[key](bench, cfg)
                    results.extend(got if isinstance(got, list) else [got])
                    log(f"scenario {key} done in {time.monotonic() - t0:.0f} s")
                if args.trace:
                    meta["trace"] = trace_healthy(bench, cfg.trials)
                    meta["trace_restart"] = trace_restart(bench, cfg.trials)
                for s in servers:
                    s.check()
            finally:
                ctx.close()
        meta["duration_s"] = round(time.monotonic() - started)
        meta["load_end"] = load_text()
        text = report(results, meta)
        print(text)
        log(f"total {meta['duration_s']} s")
        if args.json:
            args.json.write_text(json.dumps({
                "meta": meta, "config": cfg.__dict__,
                "results": [{"key": r.key, "title": r.title, "note": r.note,
                             "keypool": r.keypool.summary(), "reference": r.reference.summary(),
                             "floor": r.floor.summary() if r.floor else None} for r in results],
            }, indent=1))
        return 0
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
