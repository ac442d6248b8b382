"""e2e fixtures: the built extension in one headless Chromium per session.

Layout (TESTING.md §8): ``built_extension`` (session) -> ``browser_ctx``
(session: persistent context, SW, console capture) -> ``ext`` (function: a
clean extension, the ``Ext`` helper); ``pool_servers`` (session: 5 key servers
and a provider) -> ``mocks`` (function: reset, errors re-raised at teardown)
-> ``pool`` (function: the extension configured for the mocks, short timings).

Environment: ``KEYPOOL_CHROMIUM`` picks the browser binary;
``KEYPOOL_EXTENSION_DIR`` uses an already built ``chrome-mv3`` folder instead
of calling ``build.main``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from playwright.sync_api import sync_playwright

from tests.extension_worker import WorkerNotReady, stop_worker, wait_for_install, wait_for_worker
from tests.mock_servers import REAL_SERVER, KeyServer, KeyStore, MockError, ProviderServer  # the root: pythonpath in pyproject.toml

ROOT = Path(__file__).resolve().parents[2]

ARTIFACTS = ROOT / "test-artifacts"
DEBIAN_CHROMIUM = "/usr/lib/chromium/chromium"
NO_CHROMIUM = (
    "No Chromium found: set KEYPOOL_CHROMIUM, or `apt-get install chromium` (Debian), "
    "or `playwright install chromium`. Google Chrome stable cannot load unpacked extensions."
)
SW_START_TIMEOUT_S = 15
SEND_TIMEOUT_MS = 10_000
N_KEY_SERVERS = 5

#: short timings for e2e tests (CONTRACT §3 fields plus ejectionBaseMs/probeIntervalMs)
POOL_TIMINGS: dict[str, Any] = {
    "keyTimeoutMs": 1500,
    "healthTimeoutMs": 1000,
    "allFailedBackoffMs": 300,
    "failedResetMs": 3000,
    "ejectionBaseMs": 1000,
    "probeIntervalMs": 1000,
    "keyCacheMs": 0,
}


# --------------------------------------------------------------------------
# Markers
# --------------------------------------------------------------------------

_BROWSER_FIXTURES = {"ext", "browser_ctx", "pool", "built_extension", "playwright_sync"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: drives the built extension in Chromium (Playwright)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the browser with ``e2e``."""
    for item in items:
        if _BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


# --------------------------------------------------------------------------
# Browser and extension
# --------------------------------------------------------------------------

def find_chromium(pw=None) -> str | None:
    """The Chromium binary to use, or None.

    Order: $KEYPOOL_CHROMIUM, Debian's /usr/lib/chromium/chromium, `chromium`
    on PATH, Playwright's managed Chromium.
    """
    env = os.environ.get("KEYPOOL_CHROMIUM")
    if env:
        if not os.access(env, os.X_OK):
            pytest.fail(f"KEYPOOL_CHROMIUM={env} is not an executable file. {NO_CHROMIUM}",
                        pytrace=False)
        return env
    if os.access(DEBIAN_CHROMIUM, os.X_OK):
        return DEBIAN_CHROMIUM
    on_path = shutil.which("chromium")
    if on_path:
        return on_path
    if pw is not None:
        try:
            managed = pw.chromium.executable_path
        except Exception:  # noqa: BLE001 - no managed browser is a normal answer
            managed = None
        if managed and os.path.exists(managed):
            return managed
    return None


@pytest.fixture(scope="session")
def built_extension(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built ``chrome-mv3`` folder: ``buildtool.cli.main(["--out", DIR, "-q"])`` in-process."""
    prebuilt = os.environ.get("KEYPOOL_EXTENSION_DIR")
    if prebuilt:
        path = Path(prebuilt).resolve()
        assert (path / "manifest.json").is_file(), f"KEYPOOL_EXTENSION_DIR={path} has no manifest.json"
        return path
    try:
        from buildtool.cli import main as build_main
    except ImportError as e:
        pytest.fail(f"cannot import buildtool (build.py's stages) from {ROOT}: {e}", pytrace=False)
    out = tmp_path_factory.mktemp("build")
    rc = build_main(["--out", str(out), "-q"])
    assert rc == 0, f"buildtool.cli.main(['--out', {str(out)!r}, '-q']) returned {rc}"
    ext_dir = out / "chrome-mv3"
    assert (ext_dir / "manifest.json").is_file(), f"no manifest.json in {ext_dir}"
    return ext_dir


@pytest.fixture(scope="session")
def playwright_sync():
    """One sync Playwright for the session (never combine with pytest-playwright's)."""
    pw = sync_playwright().start()
    yield pw
    pw.stop()


class ConsoleLine(NamedTuple):
    type: str
    text: str
    url: str


@dataclass
class BrowserSession:
    """The session's persistent context and what the fixtures know about it."""

    ctx: Any
    sw: Any
    id: str
    ext_dir: Path
    user_data_dir: Path
    console: list[ConsoleLine] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.user_data_dir / "chrome_debug.log"


@pytest.fixture(scope="session")
def browser_ctx(playwright_sync, built_extension: Path, tmp_path_factory) -> BrowserSession:
    """One headless persistent context with the extension loaded, for the whole session."""
    exe = find_chromium(playwright_sync)
    if exe is None:
        pytest.fail(NO_CHROMIUM, pytrace=False)
    user_data_dir = tmp_path_factory.mktemp("profile")
    ctx = playwright_sync.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=exe, headless=True,
        args=[
            f"--disable-extensions-except={built_extension}",
            f"--load-extension={built_extension}",
            "--enable-logging",
            "--v=0",
        ])
    session = None
    try:
        console: list[ConsoleLine] = []

        def on_console(m) -> None:
            worker = getattr(m, "worker", None)
            url = worker.url if worker else (m.page.url if m.page else "")
            console.append(ConsoleLine(m.type, m.text, url))
        ctx.on("console", on_console)
        try:
            sw = wait_for_worker(ctx, SW_START_TIMEOUT_S)
            wait_for_install(sw, SW_START_TIMEOUT_S)
        except WorkerNotReady as e:
            pytest.fail(str(e), pytrace=False)
        ext_id = sw.url.split("/")[2]
        session = BrowserSession(ctx=ctx, sw=sw, id=ext_id, ext_dir=built_extension,
                                 user_data_dir=user_data_dir, console=console)
        yield session
    finally:
        ctx.close()


class Ext:
    """The loaded extension, seen from a test: messages, storage, SW control, logs."""

    #: The persistent page for chrome.* calls: manifest.json opened as a tab is
    #: an extension-origin document with every chrome.* API and no script of
    #: the extension's own, so no UI code reacts to what the tests do.
    page_path = "manifest.json"

    def __init__(self, session: BrowserSession) -> None:
        self._s = session
        self.id: str = session.id
        self.ctx = session.ctx
        self._page = None
        self._log_offset = 0
        self._handles = 0

    @property
    def sw(self):
        """The extension's service worker (Playwright's Worker; the same one after a stop).

        If Chrome replaced it (a crashed or re-registered worker), the live one.
        """
        prefix = self.url("")
        live = [w for w in self.ctx.service_workers if w.url.startswith(prefix)]
        return live[-1] if live else self._s.sw

    # -- pages -------------------------------------------------------------

    def url(self, path: str) -> str:
        """``chrome-extension://ID/path``."""
        return f"chrome-extension://{self.id}/{path.lstrip('/')}"

    @property
    def page(self):
        """A persistent extension page (kept across calls and tests) for chrome.* calls.

        It shows ``manifest.json``: a test that navigates it elsewhere gets it back.
        """
        want = self.url(self.page_path)
        if self._page is None or self._page.is_closed():
            self._page = self.ctx.new_page()
        if self._page.url != want:
            self._page.goto(want)
        return self._page

    def open(self, path: str):
        """A new tab on ``chrome-extension://ID/path`` (closed at the next reset)."""
        page = self.ctx.new_page()
        page.goto(self.url(path))
        return page

    def close_extra_pages(self) -> None:
        for p in list(self.ctx.pages):
            if p is not self._page and not p.is_closed():
                p.close()

    def screenshot(self, page, name: str) -> Path:
        """Save ``page`` to ``test-artifacts/screenshots/<name>.png``; return the path."""
        path = ARTIFACTS / "screenshots" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        return path

    # -- messages ----------------------------------------------------------

    def send(self, msg: dict, timeout_ms: int = SEND_TIMEOUT_MS) -> Any:
        """``chrome.runtime.sendMessage(msg)`` from the extension page; the answer.

        Raises playwright's Error if the SW does not answer within ``timeout_ms``
        or the message fails (e.g. no listener answered).
        """
        return self.page.evaluate(
            """([m, t]) => Promise.race([
                chrome.runtime.sendMessage(m),
                new Promise((_, reject) => setTimeout(
                    () => reject(new Error(`no answer to ${JSON.stringify(m)} in ${t} ms`)), t))])""",
            [msg, timeout_ms])

    def send_nowait(self, msg: dict) -> int:
        """Start ``sendMessage(msg)`` and return a handle for ``result()``."""
        self._handles += 1
        handle = self._handles
        self.page.evaluate(
            """([m, h]) => {
                globalThis.__pending = globalThis.__pending || {};
                globalThis.__pending[h] = chrome.runtime.sendMessage(m).then(
                    v => ({ok: true, v}), e => ({ok: false, e: String(e)}));
            }""",
            [msg, handle])
        return handle

    def result(self, handle: int, timeout_ms: int = SEND_TIMEOUT_MS) -> Any:
        """The answer to a ``send_nowait`` message (raises if it failed or timed out)."""
        out = self.page.evaluate(
            """([h, t]) => Promise.race([
                globalThis.__pending[h],
                new Promise(r => setTimeout(() => r({ok: false, e: `no answer in ${t} ms`}), t))])""",
            [handle, timeout_ms])
        if not out["ok"]:
            raise AssertionError(f"message {handle} failed: {out['e']}")
        return out.get("v")

    def wake(self) -> Any:
        """Wake the SW with a harmless message; its answer, or None if it failed."""
        try:
            return self.send({"type": "getPoolStatus"}, timeout_ms=5000)
        except Exception:  # noqa: BLE001 - waking is what matters, not the answer
            return None

    # -- storage -----------------------------------------------------------

    def storage(self, area: str = "local", key: str | None = None) -> Any:
        """All of ``chrome.storage[area]``, or the value of ``key`` (None if absent)."""
        got = self.page.evaluate("([a, k]) => chrome.storage[a].get(k)", [area, key])
        return got if key is None else got.get(key)

    def set_storage(self, area: str, obj: dict) -> None:
        self.page.evaluate("([a, o]) => chrome.storage[a].set(o)", [area, obj])

    def settings(self, **fields: Any) -> dict:
        """Merge ``fields`` into ``storage.local.settings``; the settings written."""
        merged = {**(self.storage("local", "settings") or {}), **fields}
        self.set_storage("local", {"settings": merged})
        return merged

    # -- service worker ----------------------------------------------------

    def stop_sw(self) -> int:
        """Stop the SW as Chrome's idle timeout would (TESTING.md §3); how many were stopped."""
        return stop_worker(self.ctx, self.id, wait_s=1)

    def sw_eval(self, expression: str, arg: Any = None) -> Any:
        """``sw.evaluate`` after a wake-up (evaluate on a stopped SW hangs)."""
        self.wake()
        return self.sw.evaluate(expression, arg)

    def dispatch_context_menu(self, info: dict, tab: dict | None = None) -> None:
        """Fire ``chrome.contextMenus.onClicked`` as a real click would (TESTING.md §6)."""
        tab = tab if tab is not None else {"id": -1, "url": info.get("pageUrl", "about:blank")}
        self.sw_eval("([i, t]) => { chrome.contextMenus.onClicked.dispatch(i, t); }", [info, tab])

    def tab_id(self, url: str) -> int | None:
        """The id of the first tab whose URL is ``url``."""
        return self.page.evaluate(
            "u => chrome.tabs.query({}).then(ts => (ts.find(t => t.url === u) || {}).id ?? null)",
            url)

    # -- logs --------------------------------------------------------------

    @property
    def logs(self) -> list[ConsoleLine]:
        """Console lines (type, text, url) captured since the test began."""
        self._pump()
        return list(self._s.console)

    def log_texts(self, sw_only: bool = False) -> list[str]:
        """The texts of the captured console lines (only the SW's with ``sw_only``)."""
        sw_url = self.url("")
        return [line.text for line in self.logs
                if not sw_only or (line.url.startswith(sw_url) and not line.url.endswith(".html"))]

    def chrome_log(self) -> str:
        """``chrome_debug.log`` written since the test began (every console line)."""
        try:
            with open(self._s.log_path, "rb") as f:
                f.seek(self._log_offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _pump(self) -> None:
        """Let Playwright dispatch pending events (console) to Python."""
        if self._page is not None and not self._page.is_closed():
            self._page.evaluate("0")

    # -- waiting -----------------------------------------------------------

    def wait_for(self, fn: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.05,
                 message: str = "") -> Any:
        """Poll ``fn`` until it returns a truthy value, and return it.

        Exceptions count as "not yet"; on timeout, AssertionError names the last
        value or exception. Polls with Playwright's wait, so console events keep
        arriving meanwhile.
        """
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while True:
            try:
                last = fn()
                if last:
                    return last
            except Exception as e:  # noqa: BLE001 - retried until the deadline
                last = e
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{message or 'condition'} not met within {timeout_s} s; last: {last!r}")
            self.page.wait_for_timeout(interval_s * 1000)

    # -- reset -------------------------------------------------------------

    def reset(self) -> None:
        """A clean extension: no extra tabs, empty storage, no alarms, a fresh SW."""
        self.close_extra_pages()
        self.stop_sw()
        self.page.evaluate("""() => Promise.all([
            chrome.storage.local.clear(), chrome.storage.session.clear(), chrome.alarms.clearAll()])""")
        # Clearing storage wakes the worker (it listens to storage.onChanged).
        # Stopping a worker in the middle of its start takes Chrome ~1 s, so let
        # it finish starting (a message answers once it runs), then stop it.
        self.wake()
        self.stop_sw()
        self._log_offset = self._s.log_path.stat().st_size if self._s.log_path.exists() else 0
        self._pump()
        self._s.console.clear()

    def teardown(self) -> None:
        """Stop what the test left running (tabs, in-flight SW work)."""
        self.close_extra_pages()
        self.stop_sw()


_EXT: dict[str, Ext] = {}


@pytest.fixture
def ext(browser_ctx: BrowserSession) -> Ext:
    """The extension, reset: empty storage, no alarms, SW stopped, logs cleared."""
    helper = _EXT.get(browser_ctx.id)
    if helper is None:
        helper = _EXT[browser_ctx.id] = Ext(browser_ctx)
    helper.reset()
    yield helper
    helper.teardown()


# --------------------------------------------------------------------------
# Mock servers
# --------------------------------------------------------------------------

@dataclass
class PoolServers:
    servers: list[KeyServer]
    provider: ProviderServer

    @property
    def all(self) -> list:
        return [*self.servers, self.provider]


@pytest.fixture(scope="session")
def pool_servers() -> PoolServers:
    """Five key servers and one provider, for the whole session."""
    started: list = []
    try:
        for i in range(N_KEY_SERVERS):
            started.append(KeyServer(i))
        started.append(ProviderServer())
        yield PoolServers(servers=started[:N_KEY_SERVERS], provider=started[N_KEY_SERVERS])
    finally:
        for s in started:
            s.stop()


class Mocks:
    """The session's mock servers, reset for this test."""

    def __init__(self, ps: PoolServers) -> None:
        self.servers: list[KeyServer] = ps.servers
        self.provider: ProviderServer = ps.provider
        self.settings: dict[str, Any] = {}

    def urls(self) -> list[str]:
        """The key servers' base URLs (``http://localhost:PORT/api``), in order."""
        return [s.base for s in self.servers]

    def server_for(self, url: str) -> KeyServer:
        """The key server whose base URL is ``url``."""
        for s in self.servers:
            if s.base == url.rstrip("/"):
                return s
        raise KeyError(url)

    def set_all(self, mode: str, path: str | None = None, **params: Any) -> None:
        """``set_mode`` on every key server."""
        for s in self.servers:
            s.set_mode(mode, path, **params)

    def real(self, *traits: str, keys: list[str] | None = None,
             latency_ms: tuple[int, int] = (300, 900)) -> KeyStore:
        """Every key server behaves like the real one (mock_servers: traits), over one KeyStore.

        No traits: all of ``REAL_SERVER``. Returns the shared store.
        """
        store = KeyStore(keys)
        for i, s in enumerate(self.servers):
            s.set_traits(*(traits or REAL_SERVER), store=store, latency_ms=latency_ms, seed=i)
        return store

    def count(self, path_suffix: str = "", method: str | None = None) -> int:
        """Requests to ``path_suffix`` summed over the key servers."""
        return sum(s.count(path_suffix, method) for s in self.servers)

    def reset(self) -> None:
        for s in (*self.servers, self.provider):
            s.reset()

    def check(self) -> None:
        """Raise MockError with every handler error and contract violation seen."""
        problems = []
        for s in (*self.servers, self.provider):
            try:
                s.check()
            except AssertionError as e:
                problems.append(str(e))
        if problems:
            raise MockError("\n".join(problems))


@pytest.fixture
def mocks(pool_servers: PoolServers) -> Mocks:
    """The mock servers, all ``ok`` with no recorded requests; errors re-raised at teardown."""
    m = Mocks(pool_servers)
    m.reset()
    yield m
    try:
        m.check()
    finally:
        m.reset()


@pytest.fixture
def pool(ext: Ext, mocks: Mocks) -> Mocks:
    """The extension pointed at the mocks with short timings; returns ``mocks``.

    ``pool.settings`` holds the settings written (``POOL_TIMINGS`` plus servers
    and a Gemini provider on the mock).
    """
    mocks.settings = ext.settings(
        servers=mocks.urls(),
        **POOL_TIMINGS,
        provider={"kind": "gemini", "baseUrl": mocks.provider.base_gemini,
                  "model": "gemini-2.5-flash", "prompt": "Describe this image."},
    )
    return mocks
