"""Issue 8: nothing a server, a page or a redirect sends can leak a key or stop failover.

Every test first checks that the attack reached the extension or the mock,
then that it did no harm. Each one fails against the extension built from
46850cd (the code before the fix): build it with
``python build.py --root <export of 46850cd> --out DIR`` and run this file
with ``KEYPOOL_EXTENSION_DIR=DIR/chrome-mv3``.

pool.servers[4] is left out of the configured pool and plays the attacker's
"other origin" (a sink, or the host of a hostile image).
"""

from __future__ import annotations

import base64
import json
import time

import pytest

pytestmark = pytest.mark.e2e

GEMINI_PATH = "/v1beta/models/gemini-2.5-flash:generateContent"
DONATED = "AIzaSyDONATED0123456789abcdefghijk7Q"


def use_servers(ext, pool, n: int = 2):
    """Configure the first n key servers only; servers[4] is outside the pool."""
    servers = pool.servers[:n]
    ext.settings(servers=[s.base for s in servers])
    return servers


def pick_first(ext):
    """The worker's Math.random always picks the first server available."""
    ext.sw_eval("() => { Math.random = () => 0; }")


def analyze(ext, url: str, timeout_ms: int = 20_000) -> dict:
    return ext.send({"type": "analyzeImage", "imageUrl": url}, timeout_ms=timeout_ms)


def provider_calls(pool) -> list:
    return [r for r in pool.provider.requests if r.path.startswith(("/v1beta/", "/v1/"))]


def fragments(key: str, n: int = 7) -> list[str]:
    """Every n-character piece of key: none may appear anywhere."""
    return [key[i:i + n] for i in range(len(key) - n + 1)]


def assert_no_fragment(key: str, where: str, text: str) -> None:
    found = [f for f in fragments(key) if f in text]
    assert not found, f"{where} holds part of the key: {found[:3]}"


# ------------------------------------------------------------ 1. redirects

@pytest.mark.parametrize("code", [302, 307])
def test_a_key_server_redirect_to_another_origin_cannot_plant_a_key(ext, pool, code):
    first, second = use_servers(ext, pool)
    sink = pool.servers[4]
    sink.key = "AIzaSyPLANTEDbyTHEattacker0123456789"
    first.set_mode("redirect", "/gemini-key", code=code, location=sink.base + "/gemini-key")
    pick_first(ext)
    answer = ext.send({"type": "getApiKey"})
    assert first.count("/gemini-key") == 1                      # the attack reached us
    assert answer["ok"] is True and answer["apiKey"] == second.key, answer
    assert sink.count() == 0
    rows = {r["url"]: r for r in ext.send({"type": "getPoolStatus"})["servers"]}
    assert rows[first.base]["state"] == "failed" and "redirect" in rows[first.base]["reason"]


@pytest.mark.parametrize("code", [302, 307, 308])
def test_a_donate_redirect_never_sends_the_key_elsewhere_nor_reports_success(ext, pool, code):
    (only,) = use_servers(ext, pool, 1)
    sink = pool.servers[4]
    only.set_mode("redirect", "/donate-key", code=code, location=sink.base + "/donate-key")
    answer = ext.send({"type": "donateKey", "apiKey": DONATED}, timeout_ms=15_000)
    assert only.count("/donate-key", "POST") == 1               # the attack reached us
    assert answer["ok"] is False, answer
    assert sink.count() == 0 and sink.donated == []


def test_a_provider_redirect_never_carries_the_key_to_another_origin(ext, pool):
    sink = pool.servers[4]
    use_servers(ext, pool)
    pool.provider.set_mode("redirect", GEMINI_PATH, code=307, location=sink.origin + GEMINI_PATH)
    answer = analyze(ext, pool.provider.image_url)
    assert len(provider_calls(pool)) == 1                       # the attack reached us
    assert answer["ok"] is False and "redirect" in answer["error"], answer
    assert sink.count() == 0


# ------------------------------------------------------------ 2. untrusted JSON

HOSTILE_FIELDS = [
    pytest.param({"indexOf": 1}, id="indexOf"),
    pytest.param({"hasOwnProperty": 1}, id="hasOwnProperty"),
    pytest.param({"indexOf": 1, "meta": {"__kwargtrans__": None, "hasOwnProperty": 1}},
                 id="nested-kwargtrans"),
]
# (A lone __kwargtrans__ did no visible harm in the browser; the shared vectors,
# tests/vectors/hostile.json, hold it and the other payloads for both runtimes.)


@pytest.mark.parametrize("extra", HOSTILE_FIELDS)
def test_field_names_in_a_key_answer_change_nothing(ext, pool, extra):
    first, _ = use_servers(ext, pool)
    first.set_mode("message", "/gemini-key", status=200, body={"geminiApiKey": first.key, **extra})
    pick_first(ext)
    answer = ext.send({"type": "getApiKey"})
    assert first.count("/gemini-key") == 1
    assert answer["ok"] is True and answer["apiKey"] == first.key, answer


def test_a_hostile_error_answer_still_fails_over(ext, pool):
    first, second = use_servers(ext, pool)
    first.set_mode("message", "/gemini-key", status=500,
                   body={"error": {"__kwargtrans__": None, "hasOwnProperty": 1}, "indexOf": 1})
    pick_first(ext)
    answer = ext.send({"type": "getApiKey"})
    assert first.count("/gemini-key") == 1
    assert answer["ok"] is True and answer["apiKey"] == second.key, answer
    rows = {r["url"]: r for r in ext.send({"type": "getPoolStatus"})["servers"]}
    assert rows[first.base]["state"] == "failed"


def test_hostile_health_and_donate_answers_change_nothing(ext, pool):
    (only,) = use_servers(ext, pool, 1)
    only.set_mode("message", "/health", status=200,
                  body={"status": "healthy", "indexOf": 1, "hasOwnProperty": 1})
    only.set_mode("message", "/donate-key", status=201,
                  body={"success": True, "message": "Thanks!", "hasOwnProperty": 1,
                        "meta": {"__kwargtrans__": None}})
    answer = ext.send({"type": "donateKey", "apiKey": DONATED}, timeout_ms=15_000)
    assert only.count("/health") >= 1 and only.count("/donate-key", "POST") == 1
    assert answer["ok"] is True and answer["message"] == "Thanks!", answer


# ------------------------------------------------------------ 3. keys shown, cached, stored

FILLER = ("The server could not validate this key because the upstream validation service "
          "answered with an error that we repeat here in full so that the operator can see "
          "what went wrong; the key that was sent to us for validation was this one, exactly "
          "as it came to us, here")[:264]


def test_a_long_error_text_never_shows_part_of_the_donated_key(ext, pool):
    (only,) = use_servers(ext, pool, 1)
    only.set_mode("message", "/donate-key", status=400, body={"error": FILLER + " " + DONATED + " (rejected upstream)"})
    answer = ext.send({"type": "donateKey", "apiKey": DONATED}, timeout_ms=15_000)
    assert only.count("/donate-key", "POST") == 1
    assert answer["ok"] is False and answer.get("rejected") is True, answer
    assert_no_fragment(DONATED, "the answer", json.dumps(answer))
    assert_no_fragment(DONATED, "the status", json.dumps(ext.storage("session", "status")))
    assert_no_fragment(DONATED, "poolHealth", json.dumps(ext.storage("session", "poolHealth")))
    assert_no_fragment(DONATED, "the console", "\n".join(ext.log_texts()))
    assert_no_fragment(DONATED, "chrome_debug.log", ext.chrome_log())


@pytest.mark.parametrize("bad_key", ["AIzaSyABC\nDEF0123456789xyz", "AIzaSy\u00e9ABCDEF0123456789",
                                     "A" * 1_000_000], ids=["newline", "non-ascii", "1MB"])
def test_an_implausible_key_is_a_failed_server_and_never_cached(ext, pool, bad_key):
    first, second = use_servers(ext, pool)
    ext.settings(keyCacheMs=3_600_000)
    first.key = bad_key
    pick_first(ext)
    answer = analyze(ext, pool.provider.image_url)
    assert first.count("/gemini-key") == 1
    assert answer["ok"] is True and answer["server"] == second.base, answer
    assert ext.storage("session", "keyCache")["apiKey"] == second.key
    rows = {r["url"]: r for r in ext.send({"type": "getPoolStatus"})["servers"]}
    assert rows[first.base]["state"] == "failed"


def test_a_page_cannot_make_the_loader_fetch_a_key(ext, pool):
    first, _ = use_servers(ext, pool)
    answer = analyze(ext, first.base + "/gemini-key")
    assert ext.storage("session", "lastAnalysis")["error"] == answer["error"]   # it reached us
    assert answer["ok"] is False, answer
    assert first.count("/gemini-key") == 0 and provider_calls(pool) == []
    answer = analyze(ext, pool.provider.base_gemini + "/models")
    assert answer["ok"] is False and pool.provider.count("/models") == 0, answer


def test_a_body_that_is_not_an_image_is_refused(ext, pool):
    use_servers(ext, pool)
    host = pool.servers[4]
    host.set_mode("message", "/img/lie.png", status=200, body='{"geminiApiKey": "AIzaSyX"}',
                  content_type="image/png")
    answer = analyze(ext, host.origin + "/img/lie.png")
    assert host.count("/img/lie.png") == 1
    assert answer["ok"] is False and "not an image" in answer["error"], answer
    assert provider_calls(pool) == []


def test_the_loader_stops_reading_at_the_size_cap(ext, pool):
    use_servers(ext, pool)
    host = pool.servers[4]
    host.set_mode("huge_body", "/img/huge.png", total_mb=200)
    answer = analyze(ext, host.origin + "/img/huge.png", timeout_ms=30_000)
    assert host.count("/img/huge.png") == 1
    assert answer["ok"] is False and "too large" in answer["error"], answer
    ext.wait_for(lambda: host.huge_done, message="the mock stopped sending (the client left)")
    assert host.huge_bytes_sent < 60 * 1024 * 1024, host.huge_bytes_sent
    assert provider_calls(pool) == []


def test_the_devtools_global_does_not_give_the_key_away(ext, pool):
    use_servers(ext, pool)
    ext.settings(keyCacheMs=3_600_000)
    answer = ext.send({"type": "getApiKey"})
    assert answer["ok"] is True
    exposed = ext.sw_eval("""(key) => {
        const seen = new Set(); let found = false;
        const walk = (v, depth) => {
            if (found || depth > 6 || v === null || v === undefined) return;
            if (typeof v === 'string') { if (v.includes(key)) found = true; return; }
            if (typeof v !== 'object' || seen.has(v)) return;
            seen.add(v);
            for (const k of Object.getOwnPropertyNames(v)) { try { walk(v[k], depth + 1); } catch (e) {} }
        };
        walk(globalThis.keypool, 0);
        return {keys: Object.keys(globalThis.keypool).sort(), found};
    }""", answer["apiKey"])
    assert exposed == {"keys": ["getApiKey", "poolStatus"], "found": False}


# ------------------------------------------------------------ 4. the on-page panel

def _dispatch_image_click(ext, page, pool):
    tab_id = ext.tab_id(page.url)
    ext.set_storage("session", {"consentedTabs": [tab_id]})   # asked once per tab: test_consent.py
    ext.dispatch_context_menu(
        {"menuItemId": "analyze-image", "srcUrl": pool.provider.image_url, "pageUrl": page.url,
         "mediaType": "image", "editable": False},
        {"id": tab_id, "url": page.url, "active": True})


def test_the_panel_goes_to_the_analyzed_document_only(ext, pool):
    use_servers(ext, pool)
    pool.provider.set_mode("hang", GEMINI_PATH)
    page = ext.ctx.new_page()
    page.goto(pool.provider.page_url)
    _dispatch_image_click(ext, page, pool)
    ext.wait_for(lambda: len(provider_calls(pool)) == 1, timeout_s=10, message="provider call")
    other = pool.servers[4].origin + "/elsewhere"
    page.goto(other)                                       # the person moves on
    pool.provider.set_mode("ok", GEMINI_PATH)              # the hung call is answered now
    ext.wait_for(lambda: (ext.storage("session", "lastAnalysis") or {}).get("at"), timeout_s=15,
                 message="lastAnalysis")
    page.wait_for_timeout(1000)
    assert page.url == other
    assert page.evaluate("() => !!document.getElementById('keypool-result-panel')") is False


def test_page_find_and_selection_cannot_read_the_panel(ext, pool):
    use_servers(ext, pool)
    page = ext.ctx.new_page()
    page.goto(pool.provider.page_url)
    page.add_style_tag(content="#keypool-result-panel, html > div { display: none !important; }")
    _dispatch_image_click(ext, page, pool)
    page.wait_for_selector("#keypool-result-panel", state="attached", timeout=15_000)
    got = page.evaluate("""() => {
        const hits = ['Mock description', 'Keypool'].map(w => { getSelection().removeAllRanges();
                                                                return window.find(w); });
        document.execCommand('selectAll');
        const selected = getSelection().toString();
        const host = document.getElementById('keypool-result-panel');
        return {hits, selected, display: getComputedStyle(host).display,
                open: host.shadowRoot !== null};
    }""")
    assert got["hits"] == [False, False], got
    assert "Mock description" not in got["selected"]
    assert got["display"] != "none" and got["open"] is False, got


# ------------------------------------------------------------ 5. state after faults, load

def test_a_worker_stopped_mid_analysis_is_repaired_on_start(ext, pool):
    use_servers(ext, pool)
    pool.provider.set_mode("hang", GEMINI_PATH)
    ext.send_nowait({"type": "analyzeImage", "imageUrl": pool.provider.image_url})
    ext.wait_for(lambda: len(provider_calls(pool)) == 1, timeout_s=10, message="provider call")
    ext.stop_sw()
    ext.wake()
    badge = ext.wait_for(lambda: (lambda b: b if b != "…" else None)(
        ext.page.evaluate("() => chrome.action.getBadgeText({})")), timeout_s=5, message="badge")
    assert badge == "!"
    status = ext.storage("session", "status")
    assert status["level"] == "error" and "interrupted" in status["text"], status


def test_an_11mb_data_url_is_refused_before_the_provider_and_recorded(ext, pool):
    use_servers(ext, pool)
    png = pool.provider.image_bytes
    data = base64.b64encode(png + b"\0" * (8 * 1024 * 1024)).decode()
    url = "data:image/png;base64," + data
    assert len(url) > 11_000_000
    answer = ext.page.evaluate(
        "u => chrome.runtime.sendMessage({type: 'analyzeImage', imageUrl: u})", url)
    assert answer["ok"] is False and "too large" in answer["error"], answer
    assert provider_calls(pool) == []
    last = ext.storage("session", "lastAnalysis")
    assert last["error"] == answer["error"] and len(last["imageUrl"]) <= 2048


def test_a_large_data_url_analyzed_is_stored_short(ext, pool):
    use_servers(ext, pool)
    data = base64.b64encode(pool.provider.image_bytes + b"\0" * (5 * 1024 * 1024)).decode()
    url = "data:image/png;base64," + data
    answer = ext.page.evaluate(
        "u => chrome.runtime.sendMessage({type: 'analyzeImage', imageUrl: u})", url)
    assert answer["ok"] is True, answer
    assert len(provider_calls(pool)) == 1
    last = ext.storage("session", "lastAnalysis")
    assert last["text"] == answer["text"] and len(last["imageUrl"]) <= 2048


def test_the_status_line_follows_the_real_order(ext, pool):
    use_servers(ext, pool)
    pool.provider.set_mode("hang", GEMINI_PATH)
    ext.send_nowait({"type": "analyzeImage", "imageUrl": pool.provider.image_url})
    ext.wait_for(lambda: len(provider_calls(pool)) == 1, timeout_s=10, message="provider call")
    # The provider is called after the "Analyzing" write resolved, and storage applies
    # writes in order, so the key fetch's earlier status writes have landed; its
    # after-success task (the Success line) writes no status.
    ext.wait_for(lambda: any("Success with server" in t for t in ext.log_texts()),
                 message="the key fetch's after-success task ran")
    assert ext.storage("session", "status")["text"] == "🧠 Analyzing image..."
    pool.provider.set_mode("ok", GEMINI_PATH)


def test_a_wall_clock_jump_moves_no_deadline_or_latency(ext, pool):
    first, _ = use_servers(ext, pool)
    ext.settings(hedgeDelayMs=0)
    first.set_mode("slow", "/gemini-key", delay_ms=300)
    pick_first(ext)
    # The wall clock jumps 10 h ahead while the key request is under way.
    ext.sw_eval("""() => { const real = Date.now.bind(Date); const t0 = real();
        Date.now = () => real() + (real() - t0 > 100 ? 36e6 : 0); }""")
    answer = ext.send({"type": "getApiKey"})
    assert first.count("/gemini-key") == 1
    assert answer["ok"] is True and answer["server"] == first.base, answer
    # the latency is written after the answer (mark_ok, in the background)
    latencies = ext.wait_for(lambda: (ext.storage("session", "poolHealth") or {}).get("latenciesMs"),
                             message="the latency was recorded")
    assert latencies and max(latencies) < 5000, latencies


def test_a_clock_set_back_does_not_keep_a_server_out_longer(ext, pool):
    first, second = use_servers(ext, pool)
    # 503, not 500: the mock's 500 on the key route is the original server's
    # "No active API keys available", which speaks for the whole shared pool
    first.set_mode("status_503", "/gemini-key")
    pick_first(ext)
    assert ext.send({"type": "getApiKey"})["server"] == second.base
    assert first.count("/gemini-key") == 1
    # The wall clock goes back an hour (NTP): a 1 s ejection must not last an hour.
    ext.sw_eval("() => { const real = Date.now.bind(Date); Date.now = () => real() - 3600e3; }")
    rows = {r["url"]: r for r in ext.send({"type": "getPoolStatus"})["servers"]}
    row = rows[first.base]
    assert row["state"] == "available" and row.get("probation") is True, row


def test_a_slow_provider_still_gives_an_answer_before_chrome_stops_the_worker(ext, pool):
    """Chrome stops a worker whose fetch waited 30 s; the provider call is bounded under it."""
    use_servers(ext, pool)
    pool.provider.set_mode("hang", GEMINI_PATH)
    started = time.monotonic()
    answer = analyze(ext, pool.provider.image_url, timeout_ms=40_000)
    elapsed = time.monotonic() - started
    assert len(provider_calls(pool)) == 1
    assert answer["ok"] is False and "did not answer" in answer["error"], answer
    assert elapsed < 29, elapsed
