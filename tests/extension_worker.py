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
