"""Mock key servers (CONTRACT §1) and a mock image provider (CONTRACT §2).

Every server is an aiohttp app on 127.0.0.1:<free port>. All of them share one
daemon thread that runs its own event loop (TESTING.md §7), so they are
independent of pytest and of sync Playwright. Tests address them as
``http://localhost:{port}``: that is what the extension's host permission
(``http://localhost/*``) covers.

Fault modes use one vocabulary for every server, set for all paths or for one
path with ``set_mode(mode, path=None, **params)``:

=================  ===========================================================
mode               answer
=================  ===========================================================
ok                 the normal answer
refuse             the port is closed (site stopped, keep-alive connections
                   force-closed, same port reopened on the next other mode);
                   for one path only it behaves as ``drop``
drop               the connection is closed without an answer
hang               no answer until reset()/stop()/a mode change
status             ``code`` (default 500) with a realistic body, or ``body``
status_<code>      alias: ``status_503`` is ``status`` with ``code=503``
retry_after        ``code`` 429 (or 503) with ``Retry-After: retry_after``
                   (seconds, or a string such as ``http_date(5)``)
bad_json           200 application/json ``{"ok": tru``
html               200 text/html ``<html><body>Gateway</body></html>``
slow               waits ``delay_ms`` (default 1000), then the normal answer
slow_body          200, the normal JSON written in ``chunks`` pieces with
                   ``interval_ms`` between them
message            ``status`` (default 400), ``body`` (dict: JSON, str: as is),
                   optional ``content_type`` and ``headers``
missing_key        key endpoint only: 200 ``{}``
empty_key          key endpoint only: 200 ``{"geminiApiKey": ""}``
non_string_key     key endpoint only: 200 ``{"geminiApiKey": value}`` (12345)
api_key_field      key endpoint only: 200 ``{"apiKey": key}``
donate_reject      donate endpoint only: 400 Invalid API key + ``details``
donate_duplicate   donate endpoint only: 409 already donated
=================  ===========================================================

Endpoint-specific modes set for all paths affect only their endpoint; the
other endpoints keep answering normally.

The real servers (../shared/KEYSERVERS.md) are less kind than the defaults.
A key server takes *traits*, each one word, with ``set_traits(*words)`` (or
``Mocks.real(*words)`` for the whole pool), and three more modes:

=================  ===========================================================
trait              behaviour
=================  ===========================================================
shared             one ``KeyStore`` behind every server: an empty pool, a
                   duplicate or a deactivated key is pool-wide; every key
                   request costs an allocation, even when the client aborted
latency            key and donate routes take ``latency_ms`` (uniform
                   300-900 ms, a live Gemini call), finished even when the
                   client went away
real_errors        the real bodies: ``Unable to allocate API key: ...`` 500s,
                   400 ``API key is required`` / ``This API key has already
                   been donated``, 500 with an empty body for invalid JSON,
                   the real 201 message
strict_cors        ``OPTIONS`` answers 204 allowing only ``Content-Type,
                   Authorization``; answers carry ``Access-Control-Allow-
                   Origin: *`` and no expose headers, so Chrome blocks any
                   other request header on a host Keypool holds no
                   permission for
strict_paths       a trailing slash answers 308 to the path without it; a
                   wrong method 405 with an empty body; unknown ``/api/*`` a
                   404 HTML page
head_as_get        ``HEAD`` runs the GET handler (a ``HEAD /gemini-key``
                   spends an allocation), counted as ``HEAD``
=================  ===========================================================

``REAL_SERVER`` is all of them. Modes for real failures:
``empty_pool`` (key route: 500 ``Unable to allocate API key: No active API
keys available``), ``db_down`` (health hangs, as the driver's 30 s
server-selection timeout does; key and donate 500), ``express_health`` (the
older server's broken ``/health``: 503 ``port is not defined`` at once, while
the key and donate routes work), ``stall_after_store`` (donate route: the key
is stored in the KeyStore, then the answer never comes: an ambiguous timeout).

An exception inside a handler is answered with 500 and recorded in
``.errors``; the pytest fixtures re-raise it at teardown, so a broken mock
never passes silently. Contract breaches seen by the provider (a key in the
URL, for one) are recorded in ``.violations``.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import random
import re
import string
import struct
import threading
import time
import traceback
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "MODES",
    "KeyServer",
    "KeyStore",
    "REAL_SERVER",
    "TRAITS",
    "MockError",
    "ProviderServer",
    "RecordedRequest",
    "http_date",
    "make_png",
]

#: every fault mode name; ``status_<code>`` aliases are accepted as well.
MODES = frozenset({
    "ok", "refuse", "drop", "hang", "status", "retry_after", "bad_json", "html",
    "slow", "slow_body", "message", "missing_key", "empty_key",
    "non_string_key", "api_key_field", "donate_reject", "donate_duplicate",
    "empty_pool", "db_down", "express_health", "stall_after_store",
})
#: the real key server's behaviours (KEYSERVERS.md), one word each
TRAITS = frozenset({"shared", "latency", "real_errors", "strict_cors", "strict_paths",
                    "head_as_get"})
REAL_SERVER = ("shared", "latency", "real_errors", "strict_cors", "strict_paths", "head_as_get")
CORS_ALLOWED_HEADERS = "Content-Type, Authorization"
NO_KEYS_ERROR = "Unable to allocate API key: No active API keys available"
DUPLICATE_ERROR = "This API key has already been donated"
DONATED_MESSAGE = "API key validated and added successfully! Thank you for your donation."
# --- hardening (issue 8) modes -------------------------------------------
#: redirect     ``code`` (default 307) with ``Location: location``
#: huge_body    200 ``content_type`` (default image/png), a PNG head then zeros,
#:              ``total_mb`` (default 100) MB chunked (no Content-Length);
#:              ``.huge_bytes_sent`` counts what was written before the client left;
#:              ``.huge_done`` turns True once the answer ended (sent or abandoned)
HARDENING_MODES = frozenset({"redirect", "huge_body"})
MODES = MODES | HARDENING_MODES
# --------------------------------------------------------------------------
KEY_MODES = frozenset({"missing_key", "empty_key", "non_string_key", "api_key_field"})
REAL_MODES = frozenset({"empty_pool", "db_down", "express_health", "stall_after_store"})
DONATE_MODES = frozenset({"donate_reject", "donate_duplicate"})

BAD_JSON = '{"ok": tru'
GATEWAY_HTML = "<html><body>Gateway</body></html>"
_KEY_ALPHABET = string.ascii_letters + string.digits + "-_"
_START_TIMEOUT_S = 10


class MockError(AssertionError):
    """A mock server's handler raised, or a contract breach was recorded."""


def http_date(seconds_from_now: float) -> str:
    """An HTTP date (RFC 7231 IMF-fixdate) ``seconds_from_now`` in the future."""
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def make_png(width: int = 16, height: int = 16, rgb: tuple[int, int, int] = (230, 120, 40)) -> bytes:
    """A small valid RGB PNG of one colour, built with zlib and struct."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


CAT_PNG = make_png()


# --------------------------------------------------------------------------
# The shared loop thread
# --------------------------------------------------------------------------

class _LoopThread:
    """One daemon thread running one asyncio loop for every mock server."""

    _lock = threading.Lock()
    _instance: _LoopThread | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="mock-servers", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @classmethod
    def get(cls) -> _LoopThread:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def run(self, coro, timeout: float = _START_TIMEOUT_S):
        """Run ``coro`` on the loop thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn, *args) -> None:
        self.loop.call_soon_threadsafe(fn, *args)


# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------

@dataclass
class RecordedRequest:
    """One request as the mock saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    time: float
    json: Any = field(default=None, repr=False)

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header by case-insensitive name."""
        lname = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lname:
                return v
        return default


@dataclass
class _Mode:
    name: str
    params: dict[str, Any]


def _normalize_mode(mode: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    m = re.fullmatch(r"status_(\d{3})", mode)
    if m:
        return "status", {"code": int(m.group(1)), **params}
    if mode not in MODES:
        raise ValueError(f"unknown mock mode {mode!r}; known: {sorted(MODES)} or status_<code>")
    return mode, dict(params)


# --------------------------------------------------------------------------
# The base server
# --------------------------------------------------------------------------

class _MockServer:
    """Start/stop, fault modes, request recording and error capture."""

    #: paths (suffixes) that a mode set for all paths does not touch
    EXEMPT_SUFFIXES: tuple[str, ...] = ()

    def __init__(self, name: str) -> None:
        self.name = name
        self.port: int | None = None
        self._lt = _LoopThread.get()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._violations: list[str] = []
        self._mode = _Mode("ok", {})
        self._path_modes: dict[str, _Mode] = {}
        self._release = asyncio.Event()
        self._hanging: dict[str, int] = {}   # path -> hung requests whose client is still there
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._site_open = False
        self._stopped = False
        self.start()

    # -- lifecycle ---------------------------------------------------------

    def _app(self) -> web.Application:
        raise NotImplementedError

    def start(self) -> None:
        """Start listening (a free port the first time, the same port after)."""
        if self._runner is None:
            self._lt.run(self._astart())

    async def _astart(self) -> None:
        # hardening (issue 8): multi-MB images reach the provider as in real life
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5,
                                     handle_signals=False)
        await self._runner.setup()
        await self._open_site()

    async def _open_site(self) -> None:
        if self._site_open:
            return
        site = web.TCPSite(self._runner, "127.0.0.1", self.port or 0, reuse_address=True)
        await site.start()
        self._site = site
        self._site_open = True
        if self.port is None:
            self.port = site._server.sockets[0].getsockname()[1]

    async def _close_site(self) -> None:
        if not self._site_open:
            return
        await self._site.stop()
        self._site = None
        self._site_open = False
        # Keep-alive connections outlive site.stop(): Chrome would reuse one
        # and "refuse" would answer 200 (TESTING.md §7 pitfall).
        for conn in list(self._runner.server.connections):
            conn.force_close()

    def stop(self) -> None:
        """Stop the server for good: release hung handlers, close the port."""
        if self._runner is None:
            return
        self._stopped = True
        self._release_hung()

        async def _astop() -> None:
            await self._close_site()
            await self._runner.cleanup()
            self._runner = None
        self._lt.run(_astop())

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://localhost:{port}``."""
        return f"http://localhost:{self.port}"

    # -- modes -------------------------------------------------------------

    def set_mode(self, mode: str, path: str | None = None, **params: Any) -> None:
        """Answer with ``mode`` on every path, or on the paths ending with ``path``.

        A per-path mode wins over the all-paths one. ``refuse`` for one path
        closes that request's connection (``drop``): a port is refused whole.
        """
        name, params = _normalize_mode(mode, params)
        with self._lock:
            if path is None:
                self._mode = _Mode(name, params)
            else:
                self._path_modes[path] = _Mode(name, params)
        self._release_hung()
        self._sync_site()

    def reset(self) -> None:
        """Back to ``ok`` everywhere; forget requests, errors and violations."""
        with self._lock:
            self._mode = _Mode("ok", {})
            self._path_modes.clear()
            self._requests.clear()
            self._errors.clear()
            self._violations.clear()
        self._reset_state()
        self._release_hung()
        self._sync_site()

    def _reset_state(self) -> None:
        """Subclass hook: reset server-specific state."""

    def _sync_site(self) -> None:
        if self._runner is None:
            return
        want_open = self._mode.name != "refuse"
        if want_open != self._site_open:
            self._lt.run(self._open_site() if want_open else self._close_site())

    def _release_hung(self) -> None:
        old, self._release = self._release, asyncio.Event()
        self._lt.call(old.set)

    def mode_for(self, path: str) -> _Mode:
        """The mode that applies to ``path`` now."""
        with self._lock:
            best = None
            for suffix, mode in self._path_modes.items():
                if path.endswith(suffix) and (best is None or len(suffix) > len(best[0])):
                    best = (suffix, mode)
            if best is not None:
                mode = best[1]
                return _Mode("drop", mode.params) if mode.name == "refuse" else mode
            if any(path.endswith(s) for s in self.EXEMPT_SUFFIXES):
                return _Mode("ok", {})
            return self._mode

    # -- recording ---------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_suffix: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests whose path ends with ``path_suffix``."""
        return [r for r in self.requests
                if r.path.endswith(path_suffix) and (method is None or r.method == method)]

    def count(self, path_suffix: str = "", method: str | None = None) -> int:
        """How many requests reached a path ending with ``path_suffix``."""
        return len(self.requests_to(path_suffix, method))

    @property
    def errors(self) -> list[str]:
        """Tracebacks of exceptions raised inside handlers."""
        with self._lock:
            return list(self._errors)

    @property
    def violations(self) -> list[str]:
        """Contract breaches the mock noticed (e.g. an API key in a URL)."""
        with self._lock:
            return list(self._violations)

    def clear_violations(self) -> None:
        with self._lock:
            self._violations.clear()

    def _violation(self, text: str) -> None:
        with self._lock:
            self._violations.append(text)

    def check(self) -> None:
        """Raise MockError if a handler raised or a violation was recorded."""
        errors, violations = self.errors, self.violations
        if errors or violations:
            parts = [f"{self.name}: handler error:\n{e}" for e in errors]
            parts += [f"{self.name}: contract violation: {v}" for v in violations]
            raise MockError("\n".join(parts))

    # -- request plumbing --------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        body = await request.text()
        rec = RecordedRequest(
            method=request.method, path=request.path, query=dict(request.query),
            headers=dict(request.headers), body=body, time=time.time())
        if body:
            try:
                rec.json = json.loads(body)
            except ValueError:
                rec.json = None
        with self._lock:
            self._requests.append(rec)
        try:
            early = self._pre_route(request)
            if early is not None:
                return self._post_route(early)
            return self._post_route(await handler(request))
        except (web.HTTPException, asyncio.CancelledError, ConnectionError):
            raise
        except Exception:  # noqa: BLE001 - a bug in the mock: answer, report at teardown
            tb = traceback.format_exc()
            with self._lock:
                self._errors.append(f"{request.method} {request.path}\n{tb}")
            return web.json_response({"error": "mock handler crashed"}, status=500)

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _pre_route(self, request: web.Request) -> web.StreamResponse | None:
        """Subclass hook: an answer before routing (CORS preflight, strict paths), or None."""
        return None

    def _post_route(self, response: web.StreamResponse) -> web.StreamResponse:
        """Subclass hook: adjust every answer (CORS headers)."""
        return response

    async def _hang_until(self, release: asyncio.Event, request: web.Request) -> bool:
        """Wait for ``release``; False if the client closed the connection first.

        Counting the hung requests whose client is still connected lets a test
        check that the extension aborted every request it no longer needs.
        """
        with self._lock:
            self._hanging[request.path] = self._hanging.get(request.path, 0) + 1
        try:
            while not release.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    return False
                try:
                    await asyncio.wait_for(asyncio.shield(release.wait()), 0.05)
                except asyncio.TimeoutError:
                    pass
            return True
        finally:
            with self._lock:
                self._hanging[request.path] -= 1

    def hanging(self, path_suffix: str = "") -> int:
        """Hung requests to paths ending with ``path_suffix`` whose client is still connected."""
        with self._lock:
            return sum(n for p, n in self._hanging.items() if p.endswith(path_suffix))

    async def _dispatch(self, request: web.Request, normal, kind: str = "") -> web.StreamResponse:
        """Answer ``request`` according to the mode for its path.

        ``normal()`` builds the ok answer (a dict for JSON, or a Response);
        ``kind`` names the endpoint ("key", "donate", ...) for endpoint modes.
        """
        while True:
            release = self._release  # read before the mode: no lost wake-up
            mode = self.mode_for(request.path)
            if self._stopped:
                mode = _Mode("drop", {})
            if mode.name != "hang":
                break
            if not await self._hang_until(release, request):
                return web.Response(status=499)  # the client went away: nobody reads this
        name, p = mode.name, mode.params

        if name in REAL_MODES:
            answer = await self._real_mode(name, p, kind, request)
            if answer is not None:
                return answer
            name = "ok"
        if name in KEY_MODES and kind != "key":
            name = "ok"
        if name in DONATE_MODES and kind != "donate":
            name = "ok"

        if name in HARDENING_MODES:
            return await _hardening_answer(self, request, name, p)
        if name in ("refuse", "drop"):
            request.protocol.force_close()
            return web.Response(status=502)  # never reaches the client
        if name == "status":
            code = int(p.get("code", 500))
            body = p.get("body", self._status_body(code))
            return _response(code, body, p.get("headers"))
        if name == "retry_after":
            code = int(p.get("code", 429))
            ra = p.get("retry_after", 2)
            headers = {"Retry-After": ra if isinstance(ra, str) else str(int(ra))}
            headers.update(p.get("headers", {}))
            return _response(code, p.get("body", self._status_body(code)), headers)
        if name == "bad_json":
            return web.Response(status=200, text=BAD_JSON, content_type="application/json")
        if name == "html":
            return web.Response(status=200, text=GATEWAY_HTML, content_type="text/html")
        if name == "message":
            return _response(int(p.get("status", 400)), p.get("body", {"error": "Mock message"}),
                             p.get("headers"), p.get("content_type"))
        if name == "slow":
            await asyncio.sleep(float(p.get("delay_ms", 1000)) / 1000)
            return _as_response(await normal())
        if name == "slow_body":
            return await self._slow_body(request, await normal(), p)
        if name in KEY_MODES or name in DONATE_MODES:
            return self._endpoint_mode(name, p)
        return _as_response(await normal())

    async def _slow_body(self, request, answer, p) -> web.StreamResponse:
        if isinstance(answer, web.Response):
            status, data, ctype = answer.status, answer.body or b"", answer.content_type
        else:
            status, data, ctype = 200, json.dumps(answer).encode(), "application/json"
        chunks = max(1, int(p.get("chunks", 6)))
        interval = float(p.get("interval_ms", 300)) / 1000
        resp = web.StreamResponse(status=status)
        resp.content_type = ctype
        resp.content_length = len(data)
        try:
            await resp.prepare(request)
            step = max(1, -(-len(data) // chunks))
            for i in range(0, len(data), step):
                await asyncio.sleep(interval)
                await resp.write(data[i:i + step])
            await resp.write_eof()
        except ConnectionError:
            pass  # the client gave up (its timeout): fine
        return resp

    def _status_body(self, code: int) -> Any:
        return {"error": f"Mock status {code}"}

    def _endpoint_mode(self, name: str, p: dict[str, Any]) -> web.StreamResponse:
        raise NotImplementedError(name)

    async def _real_mode(self, name, p, kind, request) -> web.StreamResponse | None:
        """A real-server failure mode's answer for endpoint ``kind``, or None for the normal one."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.origin} mode={self._mode.name}>"


# --- hardening (issue 8) answers ---------------------------------------------

async def _hardening_answer(server, request, name: str, p: dict[str, Any]) -> web.StreamResponse:
    if name == "redirect":
        return web.Response(status=int(p.get("code", 307)), headers={"Location": p["location"]})
    # huge_body
    total = int(float(p.get("total_mb", 100)) * 1024 * 1024)
    resp = web.StreamResponse(status=200)
    resp.content_type = p.get("content_type", "image/png")
    resp.enable_chunked_encoding()
    server.huge_bytes_sent = 0
    server.huge_done = False
    chunk = CAT_PNG + b"\0" * (256 * 1024 - len(CAT_PNG))
    try:
        await resp.prepare(request)
        while server.huge_bytes_sent < total:
            await resp.write(chunk)
            server.huge_bytes_sent += len(chunk)
            await asyncio.sleep(0)
        await resp.write_eof()
    except (ConnectionError, RuntimeError):
        pass  # the client stopped reading: what it cost is in huge_bytes_sent
    finally:
        server.huge_done = True  # huge_bytes_sent is final: a test may await this
    return resp


def _response(status: int, body: Any, headers=None, content_type=None) -> web.Response:
    if isinstance(body, (dict, list)):
        return web.json_response(body, status=status, headers=headers)
    return web.Response(status=status, text=str(body), headers=headers,
                        content_type=content_type or "text/plain")


def _as_response(answer) -> web.StreamResponse:
    if isinstance(answer, web.StreamResponse):
        return answer
    return web.json_response(answer)


def fake_key(prefix: str = "AIzaSyMOCK", n: int = 20, rng: random.Random | None = None) -> str:
    """A realistic-looking fake API key: ``prefix`` and ``n`` random key characters."""
    rng = rng or random.Random()
    return prefix + "".join(rng.choice(_KEY_ALPHABET) for _ in range(n))


# --------------------------------------------------------------------------
# Key server (CONTRACT §1)
# --------------------------------------------------------------------------

class KeyStore:
    """The one database behind every real key server (KEYSERVERS.md).

    ``/gemini-key`` allocates the active key with the fewest allocations;
    every request that reaches the route costs an allocation (``allocations``),
    even one the client has aborted. ``donate`` refuses a key already stored.
    """

    def __init__(self, keys: list[str] | None = None) -> None:
        self._lock = threading.Lock()
        self.keys: list[str] = list(keys) if keys is not None else [fake_key("AIzaSyPOOL")]
        self.allocated: dict[str, int] = {}
        self.allocations = 0
        self.donated: list[dict[str, Any]] = []
        self.deactivated: set[str] = set()
        self.invalid: set[str] = set()    # keys Google would reject on donation

    def allocate(self) -> str | None:
        with self._lock:
            self.allocations += 1
            active = [k for k in self.keys if k not in self.deactivated]
            if not active:
                return None
            key = min(active, key=lambda k: self.allocated.get(k, 0))
            self.allocated[key] = self.allocated.get(key, 0) + 1
            return key

    def empty(self) -> None:
        with self._lock:
            self.keys.clear()

    def donate(self, data: dict[str, Any]) -> str:
        """'added', 'duplicate' or 'invalid'."""
        key = data["apiKey"]
        with self._lock:
            if key in self.keys:
                return "duplicate"
            if key in self.invalid:
                return "invalid"
            self.keys.append(key)
            self.donated.append(data)
            return "added"


class KeyServer(_MockServer):
    """A mock key server: ``GET /api/health``, ``GET /api/gemini-key``, ``POST /api/donate-key``.

    ``.key`` is the key it hands out (``AIzaSyMOCK<index><20 chars>``, settable,
    restored by reset()); ``.donated`` lists the keys donated to it.
    """

    def __init__(self, index: int = 0, name: str | None = None) -> None:
        self.index = index
        self._default_key = fake_key(f"AIzaSyMOCK{index}")
        self.key = self._default_key
        self.donated: list[dict[str, Any]] = []
        self.traits: frozenset[str] = frozenset()
        self.store: KeyStore | None = None
        self.latency_ms: tuple[int, int] = (300, 900)
        self._rng = random.Random(index)
        super().__init__(name or f"keyserver{index}")

    def set_traits(self, *words: str, store: KeyStore | None = None,
                   latency_ms: tuple[int, int] = (300, 900), seed: int | None = None) -> None:
        """Behave like the real key server (module docstring: traits); reset() undoes it.

        ``store``: the KeyStore shared with the other servers (trait ``shared``;
        a private one when not given).
        """
        unknown = set(words) - TRAITS
        if unknown:
            raise ValueError(f"unknown traits {sorted(unknown)}; known: {sorted(TRAITS)}")
        with self._lock:
            self.traits = frozenset(words)
            self.store = (store or KeyStore()) if "shared" in words else None
            self.latency_ms = latency_ms
            if seed is not None:
                self._rng = random.Random(seed)

    def has(self, trait: str) -> bool:
        return trait in self.traits

    async def _route_latency(self) -> None:
        """The live Gemini call of the key and donate routes (trait ``latency``)."""
        if self.has("latency"):
            lo, hi = self.latency_ms
            await asyncio.sleep(self._rng.uniform(lo, hi) / 1000)

    @property
    def base(self) -> str:
        """The base URL the extension is configured with: ``http://localhost:{port}/api``."""
        return f"{self.origin}/api"

    def _reset_state(self) -> None:
        self.key = self._default_key
        with self._lock:
            self.donated.clear()
            self.traits = frozenset()
            self.store = None

    _ROUTES = {"/api/health": ("GET",), "/api/gemini-key": ("GET",),
               "/api/donate-key": ("POST",)}

    def _pre_route(self, request):
        path, method = request.path, request.method
        if self.has("strict_cors") and method == "OPTIONS":
            return web.Response(status=204, headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS})
        if method == "HEAD" and not self.has("head_as_get"):
            return web.Response(status=405)
        if self.has("strict_paths"):
            if len(path) > 1 and path.endswith("/"):
                return web.Response(status=308, headers={"Location": path.rstrip("/")})
            allowed = self._ROUTES.get(path)
            if allowed is None and path.startswith("/api/"):
                return web.Response(status=404, text="<!DOCTYPE html><html><body>404: This page "
                                    "could not be found.</body></html>", content_type="text/html")
            if allowed is not None and method not in allowed and method != "HEAD":
                return web.Response(status=405)
        return None

    def _post_route(self, response):
        if self.has("strict_cors"):
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def _real_mode(self, name, p, kind, request):
        if name == "empty_pool" and kind == "key":
            return web.json_response({"error": NO_KEYS_ERROR}, status=500)
        if name == "express_health" and kind == "health":
            return web.json_response({"status": "unhealthy", "database": "error",
                                      "error": "port is not defined"}, status=503)
        if name == "stall_after_store" and kind == "donate":
            release = self._release
            try:
                data = json.loads(await request.text())
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("apiKey"), str):
                if self.store is not None:
                    self.store.donate(data)
                with self._lock:
                    self.donated.append(data)
            await self._hang_until(release, request)
            return web.Response(status=499)
        if name == "db_down":
            if kind == "health":
                release = self._release
                await self._hang_until(release, request)
                return web.Response(status=499)
            if kind == "key":
                await asyncio.sleep(float(p.get("delay_ms", 0)) / 1000)
                return web.json_response({"error": "Unable to allocate API key: connect "
                                          "ECONNREFUSED 127.0.0.1:27017"}, status=500)
            if kind == "donate":
                return web.json_response({"error": "Internal server error"}, status=500)
        return None

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/health", self._health)
        app.router.add_get("/api/gemini-key", self._gemini_key)
        app.router.add_post("/api/donate-key", self._donate)
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    async def _health(self, request):
        async def normal():
            return {"status": "healthy"}
        return await self._dispatch(request, normal, "health")

    async def _gemini_key(self, request):
        async def normal():
            if self.store is not None:
                key = self.store.allocate()        # the allocation is spent even if we stop here
                await self._route_latency()
                if key is None:
                    error = NO_KEYS_ERROR if self.has("real_errors") else "No active API keys available"
                    return web.json_response({"error": error}, status=500)
                return {"geminiApiKey": key}
            await self._route_latency()
            return {"success": True, "geminiApiKey": self.key}
        return await self._dispatch(request, normal, "key")

    async def _donate(self, request):
        async def normal():
            if self.has("real_errors"):
                return await self._real_donate(request)
            await self._route_latency()
            try:
                data = json.loads(await request.text())
            except ValueError:
                data = None
            key = data.get("apiKey") if isinstance(data, dict) else None
            if not isinstance(key, str) or not key.strip():
                return web.json_response(
                    {"error": "Invalid API key", "details": "Request body must be JSON with a non-empty apiKey string"},
                    status=400)
            if self.store is not None and self.store.donate(data) == "duplicate":
                return web.json_response({"error": DUPLICATE_ERROR}, status=400)
            with self._lock:
                self.donated.append(data)
            return web.json_response({"success": True, "message": "API key donated successfully"}, status=201)
        return await self._dispatch(request, normal, "donate")

    async def _real_donate(self, request):
        """The real donate route: body read as JSON whatever the Content-Type (KEYSERVERS.md)."""
        try:
            data = json.loads(await request.text())
        except ValueError:
            return web.Response(status=500)                       # an empty body
        key = data.get("apiKey") if isinstance(data, dict) else None
        if isinstance(data, dict) and key is not None and not isinstance(key, str):
            return web.Response(status=500)
        if not key:
            return web.json_response({"error": "API key is required"}, status=400)
        store = self.store
        if store is not None and key in store.keys:
            return web.json_response({"error": DUPLICATE_ERROR}, status=400)
        await self._route_latency()                                # Google validates the key
        verdict = store.donate(data) if store is not None else "added"
        if verdict == "duplicate":
            return web.json_response({"error": DUPLICATE_ERROR}, status=400)
        if verdict == "invalid":
            return web.json_response({"error": "Invalid API key", "details":
                                      "API key not valid. Please pass a valid API key."}, status=400)
        with self._lock:
            self.donated.append(data)
        return web.json_response({"message": DONATED_MESSAGE, "success": True}, status=201)

    async def _not_found(self, request):
        async def normal():
            return web.json_response({"error": "Not found"}, status=404)
        return await self._dispatch(request, normal)

    def _status_body(self, code: int) -> Any:
        if code == 500:
            return {"error": "No active API keys available"}
        if code == 503:
            return {"status": "unhealthy"}
        if code == 429:
            return {"error": "Too many requests"}
        return super()._status_body(code)

    def _endpoint_mode(self, name, p):
        if name == "missing_key":
            return web.json_response({})
        if name == "empty_key":
            return web.json_response({"geminiApiKey": ""})
        if name == "non_string_key":
            return web.json_response({"geminiApiKey": p.get("value", 12345)})
        if name == "api_key_field":
            return web.json_response({"apiKey": self.key})
        if name == "donate_reject":
            return web.json_response(
                {"error": "Invalid API key", "details": p.get("details", "API key validation failed")},
                status=400)
        if name == "donate_duplicate":
            return web.json_response({"error": "This API key has already been donated"}, status=409)
        return super()._endpoint_mode(name, p)


# --------------------------------------------------------------------------
# Provider (CONTRACT §2)
# --------------------------------------------------------------------------

_DATA_URL = re.compile(r"data:([^;,]+)?(;base64)?,(.*)", re.DOTALL)


class ProviderServer(_MockServer):
    """A mock image-analysis provider (Gemini generateContent and OpenAI chat).

    Any key is accepted unless it is in ``reject_keys`` (invalid key) or
    ``exhausted_keys`` (429), or ``reject_all`` is set. Modes (``hang``,
    ``status`` ...) apply to the API paths; the test assets ``/img/cat.png``
    and ``/page.html`` are served whatever the mode, unless refused.
    """

    EXEMPT_SUFFIXES = ("/img/cat.png", "/page.html")

    def __init__(self, name: str = "provider") -> None:
        self.reject_keys: set[str] = set()
        self.exhausted_keys: set[str] = set()
        self.reject_all = False
        super().__init__(name)

    @property
    def base_gemini(self) -> str:
        return f"{self.origin}/v1beta"

    @property
    def base_openai(self) -> str:
        return f"{self.origin}/v1"

    # --- hardening (issue 8): the test assets live on an origin of their own ---
    # Keypool never loads an image from the provider's origin (core/image.py),
    # so /img/cat.png and /page.html are also served on a second port: the
    # same app and recording, another origin. That port stays open in every mode.
    asset_port: int | None = None
    _asset_site = None

    async def _open_site(self) -> None:
        await super()._open_site()
        if self._asset_site is None:
            site = web.TCPSite(self._runner, "127.0.0.1", self.asset_port or 0, reuse_address=True)
            await site.start()
            self._asset_site = site
            self.asset_port = site._server.sockets[0].getsockname()[1]

    @property
    def asset_origin(self) -> str:
        """``http://localhost:{asset_port}``: where the test image and page are served."""
        return f"http://localhost:{self.asset_port}"

    @property
    def image_url(self) -> str:
        return f"{self.asset_origin}/img/cat.png"

    @property
    def page_url(self) -> str:
        return f"{self.asset_origin}/page.html"

    image_bytes = CAT_PNG

    def _reset_state(self) -> None:
        self.reject_keys = set()
        self.exhausted_keys = set()
        self.reject_all = False

    def keys_used(self) -> list[str]:
        """The API keys that reached the provider's API paths, in order."""
        keys = []
        for r in self.requests:
            if r.path.startswith("/v1beta/"):
                k = r.header("x-goog-api-key")
            elif r.path.startswith("/v1/"):
                auth = r.header("authorization") or ""
                k = auth[7:] if auth.startswith("Bearer ") else None
            else:
                continue
            if k:
                keys.append(k)
        return keys

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1beta/models/{tail}", self._gemini)
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_get("/img/cat.png", self._cat)
        app.router.add_get("/page.html", self._page)
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    async def _cat(self, request):
        async def normal():
            return web.Response(body=CAT_PNG, content_type="image/png")
        return await self._dispatch(request, normal, "asset")

    async def _page(self, request):
        async def normal():
            html = ("<!doctype html><html><head><title>Mock cat page</title></head><body>"
                    "<h1>A cat</h1><img id=\"cat\" src=\"/img/cat.png\" alt=\"cat\" "
                    "width=\"64\" height=\"64\"></body></html>")
            return web.Response(text=html, content_type="text/html")
        return await self._dispatch(request, normal, "asset")

    async def _not_found(self, request):
        async def normal():
            return web.json_response({"error": {"code": 404, "message": "Not found"}}, status=404)
        return await self._dispatch(request, normal)

    def _key_verdict(self, key: str | None) -> str:
        if not key:
            return "missing"
        if self.reject_all or key in self.reject_keys:
            return "invalid"
        if key in self.exhausted_keys:
            return "exhausted"
        return "ok"

    async def _gemini(self, request):
        tail = request.match_info["tail"]
        model, _, action = tail.rpartition(":")
        if "key" in request.query:
            self._violation(f"API key sent in the URL query: {request.path_qs[:80]}…")

        async def normal():
            if action != "generateContent" or not model:
                return web.json_response(_gemini_error(404, f"Unknown method {tail}", "NOT_FOUND"), status=404)
            verdict = self._key_verdict(request.headers.get("x-goog-api-key"))
            if verdict == "missing":
                self._violation("Gemini request without an x-goog-api-key header")
                return web.json_response(_gemini_error(
                    403, "Method doesn't allow unregistered callers. Please use API Key.", "PERMISSION_DENIED"),
                    status=403)
            if verdict == "invalid":
                return web.json_response(_gemini_error(
                    400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"), status=400)
            if verdict == "exhausted":
                return web.json_response(_gemini_error(
                    429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"), status=429)
            prompt, mime, size, problem = _parse_gemini(await request.text())
            if problem:
                self._violation(f"Gemini body: {problem}")
                return web.json_response(_gemini_error(400, f"Invalid request: {problem}", "INVALID_ARGUMENT"),
                                         status=400)
            return {
                "candidates": [{
                    "content": {"parts": [{"text": describe(mime, size, prompt)}], "role": "model"},
                    "finishReason": "STOP", "index": 0}],
                "modelVersion": model,
            }
        return await self._dispatch(request, normal, "gemini")

    async def _openai(self, request):
        async def normal():
            auth = request.headers.get("Authorization", "")
            key = auth[7:] if auth.startswith("Bearer ") else None
            verdict = self._key_verdict(key)
            if verdict in ("missing", "invalid"):
                if verdict == "missing":
                    self._violation("OpenAI request without an Authorization: Bearer header")
                return web.json_response({"error": {
                    "message": "Incorrect API key provided", "type": "invalid_request_error",
                    "code": "invalid_api_key"}}, status=401)
            if verdict == "exhausted":
                return web.json_response({"error": {
                    "message": "You exceeded your current quota.", "type": "insufficient_quota",
                    "code": "insufficient_quota"}}, status=429)
            model, prompt, mime, size, problem = self._parse_openai(await request.text())
            if problem:
                self._violation(f"OpenAI body: {problem}")
                return web.json_response({"error": {"message": f"Invalid request: {problem}",
                                                    "type": "invalid_request_error"}}, status=400)
            return {
                "id": "chatcmpl-mock", "object": "chat.completion", "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": describe(mime, size, prompt)}}],
            }
        return await self._dispatch(request, normal, "openai")

    def _status_body(self, code: int) -> Any:
        names = {500: "INTERNAL", 503: "UNAVAILABLE", 429: "RESOURCE_EXHAUSTED", 400: "INVALID_ARGUMENT",
                 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
        return _gemini_error(code, f"Mock provider status {code}", names.get(code, "UNKNOWN"))

    def _parse_openai(self, text: str):
        try:
            data = json.loads(text)
            model = data["model"]
            content = data["messages"][0]["content"]
            prompt = next(p["text"] for p in content if p.get("type") == "text")
            url = next(p["image_url"]["url"] for p in content if p.get("type") == "image_url")
        except (ValueError, KeyError, IndexError, TypeError, StopIteration) as e:
            return None, None, None, None, f"unexpected shape ({type(e).__name__}: {e})"
        if url.startswith("data:"):
            mime, size = _data_url_info(url)
        elif url.endswith("/img/cat.png"):
            mime, size = "image/png", len(CAT_PNG)
        else:
            mime, size = "remote", 0
        return model, prompt, mime, size, None


def describe(mime: str, size: int, prompt: str) -> str:
    """The mock provider's answer text."""
    return f"Mock description of a {mime} image ({size} bytes) for prompt: {prompt}"


def _gemini_error(code: int, message: str, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def _parse_gemini(text: str):
    """(prompt, mime, n_bytes, problem) from a generateContent body."""
    try:
        parts = json.loads(text)["contents"][0]["parts"]
        prompt = next(p["text"] for p in parts if "text" in p)
        inline = next(p.get("inline_data") or p.get("inlineData") for p in parts
                      if "inline_data" in p or "inlineData" in p)
        mime = inline.get("mime_type") or inline.get("mimeType")
        data = base64.b64decode(inline["data"], validate=True)
    except (ValueError, KeyError, IndexError, TypeError, StopIteration, AttributeError) as e:
        return None, None, None, f"unexpected shape ({type(e).__name__}: {e})"
    if not mime:
        return None, None, None, "inline_data without mime_type"
    return prompt, mime, len(data), None


def _data_url_info(url: str) -> tuple[str, int]:
    m = _DATA_URL.match(url)
    if not m:
        return "unknown", 0
    mime = m.group(1) or "text/plain"
    payload = m.group(3)
    try:
        n = len(base64.b64decode(payload)) if m.group(2) else len(payload)
    except ValueError:
        n = 0
    return mime, n
