"""Finding the extension's service worker after launch: shared by tests/e2e and the benchmark."""
from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError


class WorkerNotReady(RuntimeError):
    """The service worker did not start, or did not finish its first start, in time."""


def _ours(worker) -> bool:
    return worker.url.startswith("chrome-extension://")


def wait_for_worker(ctx, timeout_s: float) -> Any:
    """The extension's service worker, surviving the start-up race (TESTING.md §1)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for w in ctx.service_workers:
            if _ours(w):
                return w
        try:
            return ctx.wait_for_event("serviceworker", predicate=_ours, timeout=1000)
        except PlaywrightTimeoutError:
            pass  # it may have started between the look and the wait: look again
    raise WorkerNotReady(f"the extension's service worker did not start within {timeout_s} s")


def wait_for_install(sw, timeout_s: float) -> None:
    """Let the first start finish (onInstalled ran: the context menu exists).

    Stopping the worker during its very first start can leave the extension
    with a worker that never starts again (seen: every message unanswered).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            sw.evaluate("() => chrome.contextMenus.update('analyze-image', {})")
            return
        except Exception:  # noqa: BLE001 - not created yet: poll
            time.sleep(0.05)
    raise WorkerNotReady("the extension's service worker did not finish installing")


def _worker_targets(cdp, ext_id: str) -> list[dict]:
    prefix = f"chrome-extension://{ext_id}/"
    return [t for t in cdp.send("Target.getTargets")["targetInfos"]
            if t["type"] == "service_worker" and t["url"].startswith(prefix)]


def stop_worker(ctx, ext_id: str, wait_s: float) -> int:
    """Stop the extension's worker as Chrome's idle timeout would (TESTING.md §3).

    Waits up to wait_s for the target to go away; returns how many were stopped.
    """
    cdp = ctx.browser.new_browser_cdp_session()
    try:
        targets = _worker_targets(cdp, ext_id)
        for t in targets:
            cdp.send("Target.closeTarget", {"targetId": t["targetId"]})
        deadline = time.monotonic() + wait_s
        while _worker_targets(cdp, ext_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(targets)
    finally:
        cdp.detach()
