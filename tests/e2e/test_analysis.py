"""Image analysis (CONTRACT §2, §4): providers, refused keys, context menu, tab, permissions.

The provider is tests/mock_servers.ProviderServer: it records every request,
serves /img/cat.png and /page.html, and rejects or exhausts chosen keys.
"""

from __future__ import annotations

import base64

import pytest

from tests.e2e.pool_helpers import pin_random

pytestmark = pytest.mark.e2e

GEMINI_PATH = "/v1beta/models/gemini-2.5-flash:generateContent"
OPENAI_PATH = "/v1/chat/completions"


def analyze(ext, url: str, timeout_ms: int = 20_000) -> dict:
    return ext.send({"type": "analyzeImage", "imageUrl": url}, timeout_ms=timeout_ms)


def provider_calls(pool) -> list:
    return [r for r in pool.provider.requests if r.path.startswith(("/v1beta/", "/v1/"))]


def two_servers(ext, pool):
    first, second = pool.servers[0], pool.servers[1]
    ext.settings(servers=[first.base, second.base])
    return first, second


# --------------------------------------------------------------- providers

def test_gemini_gets_the_key_in_a_header_and_the_image_inline(ext, pool):
    answer = analyze(ext, pool.provider.image_url)
    assert answer["ok"] is True, answer
    assert answer["text"].startswith("Mock description of a image/png image"), answer
    assert answer["server"] in pool.urls()
    server = pool.server_for(answer["server"])

    calls = provider_calls(pool)
    assert [(c.method, c.path) for c in calls] == [("POST", GEMINI_PATH)]
    call = calls[0]
    assert call.header("x-goog-api-key") == server.key
    assert call.query == {}
    assert server.key not in call.path and "key=" not in call.path
    parts = call.json["contents"][0]["parts"]
    assert parts[0] == {"text": "Describe this image."}
    inline = parts[1]["inline_data"]
    assert inline["mime_type"] == "image/png"
    assert base64.b64decode(inline["data"]) == pool.provider.image_bytes

    last = ext.storage("session", "lastAnalysis")
    assert last["imageUrl"] == pool.provider.image_url
    assert last["text"] == answer["text"] and last["server"] == answer["server"]
    assert ext.storage("session", "status")["text"] == "✅ Analysis complete"


def test_openai_gets_a_bearer_key_and_a_data_url(ext, pool):
    ext.settings(provider={"kind": "openai", "baseUrl": pool.provider.base_openai,
                           "model": "gpt-4o-mini", "prompt": "What is in this picture?"})
    answer = analyze(ext, pool.provider.image_url)
    assert answer["ok"] is True, answer
    assert "What is in this picture?" in answer["text"]
    server = pool.server_for(answer["server"])

    calls = provider_calls(pool)
    assert [(c.method, c.path) for c in calls] == [("POST", OPENAI_PATH)]
    call = calls[0]
    assert call.header("Authorization") == f"Bearer {server.key}"
    assert call.query == {} and server.key not in call.path
    assert call.json["model"] == "gpt-4o-mini"
    content = call.json["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "What is in this picture?"}
    url = content[1]["image_url"]["url"]
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix):]) == pool.provider.image_bytes


def test_a_data_url_needs_no_permission_and_no_download(ext, pool):
    data = base64.b64encode(pool.provider.image_bytes).decode()
    answer = analyze(ext, f"data:image/png;base64,{data}")
    assert answer["ok"] is True, answer
    assert pool.provider.count("/img/cat.png") == 0
    inline = provider_calls(pool)[0].json["contents"][0]["parts"][1]["inline_data"]
    assert inline == {"mime_type": "image/png", "data": data}


# --------------------------------------------------------------- refused keys

@pytest.mark.parametrize("refusal", ["reject_keys", "exhausted_keys"], ids=["bad-key", "exhausted-429"])
def test_a_refused_key_is_dropped_and_another_one_works(ext, pool, refusal):
    first, second = two_servers(ext, pool)
    ext.settings(keyCacheMs=3_600_000)
    getattr(pool.provider, refusal).add(first.key)
    # Both picks would land on the first server; the retry must avoid the server
    # whose key was just refused, or it would get the same key back.
    pin_random(ext, [0.0, 0.0])
    answer = analyze(ext, pool.provider.image_url)
    assert answer["ok"] is True, answer
    assert answer["server"] == second.base
    assert pool.provider.keys_used() == [first.key, second.key]
    assert first.count("/gemini-key") == 1 and second.count("/gemini-key") == 1
    # the refused key left the cache; the good one took its place
    cache = ext.storage("session", "keyCache")
    assert cache["server"] == second.base and cache["apiKey"] == second.key


def test_the_retry_after_a_refused_key_does_not_join_a_fetch_that_may_pick_that_server(ext, pool):
    """Single flight keys on avoid_server: a retry avoiding the refused key's server
    must not share a fetch (here the popup's getApiKey) that may ask that server."""
    first, second = two_servers(ext, pool)
    ext.settings(keyCacheMs=0, hedgeDelayMs=0, keyTimeoutMs=60_000)
    pool.provider.reject_keys.add(first.key)
    pin_random(ext, [0.0])                 # every pick lands on `first` unless avoided
    gemini = GEMINI_PATH
    pool.provider.set_mode("hang", gemini)
    analysis = ext.send_nowait({"type": "analyzeImage", "imageUrl": pool.provider.image_url})
    ext.wait_for(lambda: pool.provider.hanging(gemini) == 1, message="the analysis holds first's key")
    # A second fetch starts, and stays under way, on `first`.
    first.set_mode("hang", "/gemini-key")
    other = ext.send_nowait({"type": "getApiKey"})
    ext.wait_for(lambda: first.hanging("/gemini-key") == 1, message="a fetch under way on first")
    pool.provider.set_mode("ok", gemini)            # the provider now refuses first's key
    # The status says so while the retry waits; a retry that did not wait is already done.
    ext.wait_for(lambda: "refused" in (ext.storage("session", "status") or {}).get("text", "")
                 or ext.storage("session", "lastAnalysis") is not None,
                 message="the analysis asks for another key")
    first.set_mode("ok", "/gemini-key")             # the fetch under way answers with first's key
    answer = ext.result(analysis)
    assert answer["ok"] is True, answer
    assert answer["server"] == second.base
    assert pool.provider.keys_used() == [first.key, second.key]
    assert ext.result(other)["server"] == first.base


def test_a_provider_that_refuses_every_key_gives_a_clear_error(ext, pool):
    pool.provider.reject_all = True
    answer = analyze(ext, pool.provider.image_url)
    assert answer["ok"] is False, answer
    assert "refused the API key" in answer["error"], answer
    assert "API key not valid" in answer["error"]  # the provider's own words
    assert len(provider_calls(pool)) == 2  # the first key, and one other: no more
    for key in pool.provider.keys_used():
        assert key not in answer["error"]
    last = ext.storage("session", "lastAnalysis")
    assert last["error"] == answer["error"] and "text" not in last
    status = ext.storage("session", "status")
    assert status["level"] == "error" and "refused the API key" in status["text"]


def test_every_key_exhausted_says_so(ext, pool):
    pool.provider.exhausted_keys.update(s.key for s in pool.servers)
    answer = analyze(ext, pool.provider.image_url)
    assert answer["ok"] is False and "quota" in answer["error"], answer


# --------------------------------------------------------------- triggers

def test_context_menu_analyzes_the_image_and_shows_a_panel_on_the_page(ext, pool):
    page = ext.ctx.new_page()
    page.goto(pool.provider.page_url)
    tab_id = ext.tab_id(pool.provider.page_url)
    assert isinstance(tab_id, int)
    ext.set_storage("session", {"consentedTabs": [tab_id]})   # asked once per tab: test_consent.py
    ext.dispatch_context_menu(
        {"menuItemId": "analyze-image", "srcUrl": pool.provider.image_url,
         "pageUrl": pool.provider.page_url, "mediaType": "image", "editable": False},
        {"id": tab_id, "url": pool.provider.page_url, "active": True})
    last = ext.wait_for(lambda: ext.storage("session", "lastAnalysis"), timeout_s=20,
                        message="lastAnalysis after the context-menu click")
    assert last["imageUrl"] == pool.provider.image_url
    assert last["text"].startswith("Mock description"), last
    page.wait_for_selector("#keypool-result-panel", state="attached", timeout=10_000)
    assert page.locator("#keypool-result-panel").count() == 1


def test_the_context_menu_item_exists(ext, pool):
    ext.wake()
    ok = ext.page.evaluate(
        "() => chrome.contextMenus.update('analyze-image', {}).then(() => true, e => e.message)")
    assert ok is True


def test_analyze_tab_without_the_grant_explains_and_takes_no_key(ext, pool):
    """Chrome lets captureVisibleTab run only with activeTab (a click on the toolbar
    button or the shortcut) or <all_urls>; a test cannot click the toolbar in
    headless Chromium, so the capture is refused and the clear error is checked."""
    page = ext.ctx.new_page()
    page.goto(pool.provider.page_url)
    page.bring_to_front()
    answer = ext.send({"type": "analyzeTab", "consent": True}, timeout_ms=20_000)
    assert answer["ok"] is False, answer
    assert "could not take a picture of this tab" in answer["error"], answer
    assert "Ctrl+Shift+Y" in answer["error"]
    last = ext.storage("session", "lastAnalysis")
    assert last["imageUrl"] == "tab" and last["error"] == answer["error"]
    assert provider_calls(pool) == []
    assert sum(s.count() for s in pool.servers) == 0  # no key taken for nothing


def test_analyze_tab_sends_the_screenshot_to_the_provider(ext, pool):
    """With the grant (stood in for: captureVisibleTab answers a PNG), the screenshot is analyzed."""
    png = base64.b64encode(pool.provider.image_bytes).decode()
    ext.sw_eval("""(data) => { chrome.tabs.captureVisibleTab = async () =>
        'data:image/png;base64,' + data; }""", png)
    answer = ext.send({"type": "analyzeTab", "consent": True}, timeout_ms=20_000)
    assert answer["ok"] is True, answer
    assert answer["text"].startswith("Mock description of a image/png image"), answer
    last = ext.storage("session", "lastAnalysis")
    assert last["imageUrl"] == "tab" and last["text"] == answer["text"]
    calls = provider_calls(pool)
    assert len(calls) == 1
    assert calls[0].json["contents"][0]["parts"][1]["inline_data"]["data"] == png


# --------------------------------------------------------------- permissions and input

def test_an_image_on_a_host_without_permission_gives_a_clear_message(ext, pool):
    # 127.0.0.1 is the same mock server, but only http://localhost/* is granted
    url = pool.provider.image_url.replace("localhost", "127.0.0.1")
    assert url != pool.provider.image_url
    answer = analyze(ext, url)
    assert answer["ok"] is False, answer
    assert "no permission to read images from 127.0.0.1" in answer["error"], answer
    assert "Analyze this tab" in answer["error"]
    assert pool.provider.count() == 0  # not even the image was fetched
    assert sum(s.count() for s in pool.servers) == 0  # and no key was taken for nothing


@pytest.mark.parametrize("url, expected", [
    ("", "address of an image"),
    ("ftp://example.org/cat.png", "http(s) and data: image URLs only"),
    ("data:text/plain,hello", "not an image"),
])
def test_bad_image_urls_are_refused(ext, pool, url, expected):
    answer = analyze(ext, url)
    assert answer["ok"] is False and expected in answer["error"], answer
    assert pool.provider.count() == 0 and sum(s.count() for s in pool.servers) == 0


def test_an_address_that_is_not_an_image(ext, pool):
    answer = analyze(ext, pool.provider.page_url)
    assert answer["ok"] is False and "not an image" in answer["error"], answer
    assert provider_calls(pool) == []


# --------------------------------------------------------------- the badge

def test_the_toolbar_badge_shows_the_outcome(ext, pool):
    badge = "() => chrome.action.getBadgeText({})"
    answer = analyze(ext, pool.provider.image_url)
    assert answer["ok"] is True
    assert ext.page.evaluate(badge) == "✓"
    pool.provider.reject_all = True
    answer = analyze(ext, pool.provider.image_url)
    assert answer["ok"] is False
    assert ext.page.evaluate(badge) == "!"
