"""Where a cold service worker's time goes, wake to answer (issue 12).

    python -m benchmarks.coldtrace [--trials N] [--extension DIR ...]

Builds Keypool with --release (or takes the chrome-mv3 folders given), and
loads each with the original algorithm's one-file worker
(benchmarks.failover.write_reference_extension) in one headless Chromium,
five healthy mock key servers, keyCacheMs 0. Each trial, for every
extension in random order: stop its worker (CDP Target.closeTarget), send
one getApiKey from its page, and read two things:

- marks, from a copy of each worker with a prelude on its first line
  (after "use strict"): performance.now() at the prelude, at the first
  storage.onChanged / onMessage addListener, at the script's end, at each
  storage get and fetch call and its answer, when the message comes in and
  when the answer is sent; the page's send and answer times are put on the
  worker's clock with performance.timeOrigin. The prelude wraps the
  chrome.runtime and chrome.storage objects, so their bindings' first use
  moves into it (its own cost is the "prelude" row);
- Chromium's trace events on the worker's thread (Tracing through a
  browser CDP session, no CPU profiler: it costs tens of ms at start):
  EvaluateScript, v8.compile (the code cache), v8.run (the script's top
  level), RunMicrotasks.

Prints the medians (and the range) per extension. Times in ms; 0 is the
worker's timeOrigin.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks import failover as fo
from playwright.sync_api import sync_playwright
from tests.mock_servers import KeyServer

# On the worker's first line: wraps what the marks need, records into self.__marks.
PRELUDE_JS = r"""(()=>{const M=[];self.__marks=M;const t=()=>performance.now();M.push(['prelude starts',t()]);
const wrapP=(name,call)=>{M.push([name+' call',t()]);const p=call();M.push([name+' returned',t()]);return p.then(v=>{M.push([name+' done',t()]);return v;});};
const ev=chrome.runtime.onMessage;const add=ev.addListener.bind(ev);
ev.addListener=(f)=>{M.push(['onMessage.addListener',t()]);return add((m,s,r)=>{M.push(['message in',t()]);return f(m,s,(x)=>{M.push(['answer sent',t()]);return r(x);});});};
const sc=chrome.storage.onChanged;const sadd=sc.addListener.bind(sc);sc.addListener=(f)=>{M.push(['storage.onChanged.addListener',t()]);return sadd(f);};
for (const a of ['local','session']){const ar=chrome.storage[a];const g=ar.get.bind(ar);ar.get=(...x)=>wrapP(a+'.get',()=>g(...x));}
const f=self.fetch.bind(self);self.fetch=(...x)=>wrapP('fetch',()=>f(...x));
M.push(['prelude ends',t()]);})();
"""
SCRIPT_END_JS = "\n;self.__marks.push(['script ends',performance.now()]);\n"
TRIAL_JS = """async (m) => {
  const a = performance.timeOrigin + performance.now();
  const r = await chrome.runtime.sendMessage(m);
  return [a, performance.timeOrigin + performance.now(), r.ok === true];
}"""
TRACE_CATEGORIES = ["v8", "devtools.timeline", "v8.execute", "ServiceWorker"]
TRACE_EVENTS = ("EvaluateScript", "v8.compile", "v8.run", "RunMicrotasks")
# Steps between two marks, as the median of each start's own difference: less
# noisy than a difference of medians when the machine is shared.
STEPS = (("prelude ends", "script ends"), ("script ends", "message in"),
         ("message in", "fetch call"), ("fetch call", "fetch returned"),
         ("fetch returned", "fetch done"), ("fetch done", "answer sent"),
         ("answer sent", "page: answer"))


def marked_copy(src: Path, dst: Path, worker: str) -> Path:
    """A copy of an extension folder whose worker script starts with the prelude."""
    shutil.copytree(src, dst)
    path = dst / worker
    lines = path.read_text(encoding="utf-8").split("\n")
    at = 1 if lines and lines[0].startswith("//") else 0   # the compile hint stays first
    if len(lines) > at and lines[at].strip() == '"use strict";':
        at += 1                                              # and the directive second
    lines.insert(at, PRELUDE_JS)
    path.write_text("\n".join(lines) + SCRIPT_END_JS, encoding="utf-8")
    return dst


def worker_thread_events(events: list[dict]) -> dict[str, float]:
    """Total duration (ms) per event name on the service worker's thread(s)."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    out: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("ph") != "X" or e.get("name") not in TRACE_EVENTS:
            continue
        if "ServiceWorker" in names.get((e.get("pid"), e.get("tid")), ""):
            out[e["name"]] += e.get("dur", 0) / 1000
    return out


def run(trials: int, extensions: list[Path]) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="keypool-coldtrace-"))
    servers = [KeyServer(i) for i in range(fo.N_SERVERS)]
    try:
        from buildtool.cli import main as build_main
        builds: list[tuple[str, Path]] = []
        if not extensions:
            if build_main(["--out", str(tmp / "release"), "-q", "--release"]) != 0:
                print("error: the --release build failed", file=sys.stderr)
                return 1
            extensions = [tmp / "release" / "chrome-mv3"]
        for i, ext in enumerate(extensions):
            name = f"keypool {ext}" if len(extensions) > 1 else "keypool"
            builds.append((name, marked_copy(ext, tmp / f"k{i}", "js/background.js")))
        ref = fo.write_reference_extension(tmp / "reference-src", [s.base for s in servers])
        builds.append(("original", marked_copy(ref, tmp / "reference", fo.COLD_REF_WORKER)))
        dirs = ",".join(str(d) for _, d in builds)
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                str(tmp / "profile"), headless=True, executable_path=fo.DEBIAN_CHROMIUM,
                args=[f"--disable-extensions-except={dirs}", f"--load-extension={dirs}"])
            try:
                return _trials(ctx, builds, servers, trials)
            finally:
                ctx.close()
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _trials(ctx, builds, servers, trials: int) -> int:
    targets = []
    for name, ext_dir in builds:
        ext_id = fo._extension_id(ext_dir)
        sw = fo._worker_of(ctx, ext_id, fo.START_TIMEOUT_S)
        if name != "original":
            fo.wait_for_install(sw, fo.START_TIMEOUT_S)
        target = fo.ColdTarget(name, ctx, ext_id)
        if name != "original":
            target.page.evaluate("s => chrome.storage.local.set({settings: s})",
                                 {"servers": [s.base for s in servers], **fo.BASE_SETTINGS})
        targets.append(target)
    cdp = ctx.browser.new_browser_cdp_session()
    chunks: list[dict] = []
    done: list[int] = []
    cdp.on("Tracing.dataCollected", lambda e: chunks.extend(e["value"]))
    cdp.on("Tracing.tracingComplete", lambda e: done.append(1))
    marks: dict[str, list[dict]] = {t.name: [] for t in targets}
    traced: dict[str, list[dict]] = {t.name: [] for t in targets}
    warmup = 2
    for i in range(trials + warmup):
        order = list(targets)
        random.shuffle(order)
        for t in order:
            t.stop()
            chunks.clear()
            done.clear()
            cdp.send("Tracing.start", {"traceConfig": {"includedCategories": TRACE_CATEGORIES},
                                       "transferMode": "ReportEvents"})
            sent, answered, ok = t.page.evaluate(TRIAL_JS, {"type": "getApiKey"})
            time.sleep(fo.COLD_PAUSE_S)
            cdp.send("Tracing.end")
            for _ in range(200):          # Playwright delivers events while it waits
                if done:
                    break
                t.page.wait_for_timeout(25)
            sw = fo._worker_of(ctx, t.id, fo.START_TIMEOUT_S)
            got, origin = sw.evaluate("() => [self.__marks, performance.timeOrigin]")
            if i < warmup or not ok:
                continue
            row = {"page: sendMessage": sent - origin}
            for label, ms in got:
                row.setdefault(label, ms)
            row["page: answer"] = answered - origin
            row["page: sendMessage to answer"] = answered - sent
            marks[t.name].append(row)
            traced[t.name].append(worker_thread_events(chunks))
        print(f"  trial {i + 1 - warmup}/{trials}", file=sys.stderr)
    for t in targets:
        print(f"\n{t.name}: median of {len(marks[t.name])} cold starts (range), "
              "ms from the worker's timeOrigin")
        rows = marks[t.name]
        labels = list(dict.fromkeys(k for r in rows for k in r))
        med = {k: statistics.median([r[k] for r in rows if k in r]) for k in labels}
        for k in sorted(labels, key=lambda k: (k == "page: sendMessage to answer", med[k])):
            vals = [r[k] for r in rows if k in r]
            print(f"  {k:34s} {med[k]:7.2f}  ({min(vals):.1f} .. {max(vals):.1f})")
        print("  steps (median of each start's difference):")
        for a, b in STEPS:
            diffs = [r[b] - r[a] for r in rows if a in r and b in r]
            if diffs:
                print(f"  {a + ' -> ' + b:34s} {statistics.median(diffs):7.2f}"
                      f"  ({min(diffs):.1f} .. {max(diffs):.1f})")
        print("  trace events on the worker's thread (sum per start):")
        for name in TRACE_EVENTS:
            vals = [ev.get(name, 0.0) for ev in traced[t.name]]
            print(f"  {name:34s} {statistics.median(vals):7.2f}  ({min(vals):.1f} .. {max(vals):.1f})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coldtrace", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=15, help="cold starts per extension (default 15)")
    parser.add_argument("--extension", action="append", type=Path, default=[],
                        help="a built chrome-mv3 folder to trace instead of a fresh --release build "
                             "(repeat to compare builds side by side)")
    args = parser.parse_args(argv)
    return run(args.trials, args.extension)


if __name__ == "__main__":
    sys.exit(main())
