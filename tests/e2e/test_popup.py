"""The toolbar popup, driven as a person would: status, pool, retry, analysis, safety.

The popup is opened as a tab (TESTING.md §9) with a popup-sized viewport.
Screenshots go to test-artifacts/screenshots/popup-*.png.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import POPUP_SIZE, open_popup

pytestmark = pytest.mark.e2e

#: long ejections, so that a failed server stays failed while the test looks at it
LONG_EJECTION = {"ejectionBaseMs": 60_000, "failedResetMs": 120_000}
HOSTILE = '<img src=x onerror="window.__xss=1">'



def fit_and_screenshot(ext, page, name: str):
    """Grow the viewport to the popup's content (Chrome's popup does the same) and save it."""
    page.set_viewport_size({"width": POPUP_SIZE["width"], "height": 200})
    height = page.evaluate("() => Math.ceil(document.documentElement.scrollHeight)")
    page.set_viewport_size({"width": POPUP_SIZE["width"], "height": min(max(height, 200), 800)})
    page.evaluate("() => window.scrollTo(0, 0)")
    return ext.screenshot(page, name)


def row(page, url: str):
    return page.locator(f'#pool li.server[data-url="{url}"]')


def fail_server(ext, pool, index: int, mode: str, **params) -> dict:
    """Put key server `index` in `mode`, have the worker probe it, return its status row."""
    server = pool.servers[index]
    server.set_mode(mode, **params)
    answer = ext.send({"type": "retryServer", "url": server.base})
    assert answer["ok"] is True and answer["healthy"] is False, answer
    rows = ext.send({"type": "getPoolStatus"})["servers"]
    return next(r for r in rows if r["url"] == server.base)


# --------------------------------------------------------------- status and pool

def test_popup_shows_the_status_and_follows_changes(ext, pool):
    now = int(time.time() * 1000)
    ext.set_storage("session", {"status": {"text": "🔄 Getting API key...", "level": "info",
                                           "at": now}})
    page = open_popup(ext)
    expect(page.locator("#status-text")).to_have_text("🔄 Getting API key...")
    expect(page.locator("#status")).to_have_attribute("data-level", "info")

    ext.set_storage("session", {"status": {"text": "❌ Something <b>broke</b>", "level": "error",
                                           "at": now}})
    expect(page.locator("#status-text")).to_have_text("❌ Something <b>broke</b>")
    expect(page.locator("#status")).to_have_attribute("data-level", "error")
    assert page.locator("#status b").count() == 0


def test_popup_lists_every_server_available(ext, pool):
    page = open_popup(ext)
    items = page.locator("#pool li.server")
    expect(items).to_have_count(len(pool.servers))
    for server in pool.servers:
        r = row(page, server.base)
        expect(r).to_have_attribute("data-state", "available")
        expect(r.locator(".server-state")).to_have_text("Available")
        expect(r.locator("button.retry")).to_be_hidden()
    expect(page.locator("#pool-summary")).to_have_text("5 of 5 available")


def test_refused_server_shows_failed_with_reason_and_retry_now_brings_it_back(ext, pool):
    ext.settings(**LONG_EJECTION)
    fail_server(ext, pool, 0, "refuse")
    page = open_popup(ext)
    r = row(page, pool.servers[0].base)
    expect(r).to_have_attribute("data-state", "failed")
    expect(r.locator(".server-state")).to_contain_text("Failed")
    expect(r.locator(".server-state")).to_contain_text(re.compile(r"back in \d+ (s|min)"))
    expect(r.locator(".server-detail")).to_have_text("Network error")
    expect(page.locator("#pool-summary")).to_have_text("4 of 5 available")

    # still down: "Retry now" says so and the server stays out
    button = r.locator("button.retry")
    expect(button).to_be_visible()
    button.click()
    expect(r.locator(".server-note")).to_contain_text("Still failing", timeout=10_000)
    expect(r).to_have_attribute("data-state", "failed")

    # back up: "Retry now" puts it back in the pool
    pool.servers[0].set_mode("ok")
    button.click()
    expect(r.locator(".server-note")).to_contain_text("back in the pool", timeout=10_000)
    expect(r).to_have_attribute("data-state", "available")
    expect(button).to_be_hidden()
    expect(page.locator("#pool-summary")).to_have_text("5 of 5 available")


def test_failure_reasons_503_retry_after_and_timeout_are_shown(ext, pool):
    ext.settings(**LONG_EJECTION)
    fail_server(ext, pool, 1, "status_503")
    fail_server(ext, pool, 2, "retry_after", code=503, retry_after=90)
    fail_server(ext, pool, 3, "hang")
    page = open_popup(ext)
    expect(row(page, pool.servers[1].base).locator(".server-detail")).to_contain_text("HTTP 503")
    retry_after = row(page, pool.servers[2].base)
    expect(retry_after.locator(".server-detail")).to_contain_text("HTTP 503")
    expect(retry_after.locator(".server-detail")).to_contain_text("Retry-After 90 s")
    # Retry-After is honoured exactly: back in about 90 s (1:30 → "1 min" or "90 s")
    expect(retry_after.locator(".server-state")).to_contain_text(re.compile(r"back in (8\d|90) s|1 min"))
    hung = row(page, pool.servers[3].base)
    expect(hung.locator(".server-detail")).to_contain_text("Timed out")
    expect(page.locator("#pool-summary")).to_have_text("2 of 5 available")


def test_relative_times_tick_every_second(ext, pool):
    ext.settings(**LONG_EJECTION)
    fail_server(ext, pool, 0, "status_503")
    page = open_popup(ext)
    state = row(page, pool.servers[0].base).locator(".server-state")
    expect(state).to_contain_text("back in")
    first = state.text_content()
    # no message or storage change happens meanwhile: only the popup's clock moves the text
    expect(state).not_to_have_text(first, timeout=5_000)


def test_a_failed_server_coming_back_by_itself_is_shown(ext, pool):
    """Ejection over + healthy probe (the worker's alarm): the popup follows poolHealth."""
    ext.settings(ejectionBaseMs=1500, failedResetMs=3000)
    fail_server(ext, pool, 4, "refuse")
    page = open_popup(ext)
    r = row(page, pool.servers[4].base)
    pool.servers[4].set_mode("ok")
    expect(r).to_have_attribute("data-state", "available", timeout=15_000)


# --------------------------------------------------------------- analysis

def test_analyze_an_image_url_from_the_popup(ext, pool):
    page = open_popup(ext)
    page.fill("#image-url", pool.provider.image_url)
    page.press("#image-url", "Enter")
    expect(page.locator("#last")).to_be_visible(timeout=15_000)
    expect(page.locator("#last-text")).to_contain_text("Mock description of a image/png image")
    expect(page.locator("#last-meta")).to_contain_text("Key from localhost:")
    expect(page.locator("#last-thumb")).to_have_attribute("src", pool.provider.image_url)
    expect(page.locator("#analyze-message")).to_be_hidden()
    expect(page.locator("#status-text")).to_have_text("✅ Analysis complete")
    last = ext.storage("session", "lastAnalysis")
    assert last["imageUrl"] == pool.provider.image_url and last["text"].startswith("Mock"), last
    served_by = next(s for s in pool.servers if s.base == last["server"])
    assert pool.provider.keys_used() == [served_by.key]


def test_last_analysis_is_shown_when_the_popup_opens(ext, pool):
    now = int(time.time() * 1000)
    ext.set_storage("session", {"lastAnalysis": {
        "imageUrl": "javascript:alert(1)", "text": "A <script>cat</script>",
        "server": pool.servers[2].base, "at": now - 65_000}})
    page = open_popup(ext)
    expect(page.locator("#last-text")).to_have_text("A <script>cat</script>")
    expect(page.locator("#last-meta")).to_contain_text("1 min ago")
    # only http(s) and data:image URLs become an <img src>
    assert page.locator("#last-thumb").get_attribute("src") is None
    expect(page.locator("#last-thumb")).to_be_hidden()

    ext.set_storage("session", {"lastAnalysis": {
        "imageUrl": "tab", "error": "Keypool could not take a picture of this tab.", "at": now}})
    expect(page.locator("#last-text")).to_have_text("Keypool could not take a picture of this tab.")
    expect(page.locator("#last-text")).to_have_attribute("data-level", "error")
    expect(page.locator("#last-tab")).to_be_visible()


def test_refused_host_permission_says_what_to_do(ext, pool):
    page = open_popup(ext)
    # Headless Chrome cannot answer the permission prompt: stand in for a person saying no.
    page.evaluate("""() => { window.__asked = [];
        chrome.permissions.request = (p) => { window.__asked.push(p); return Promise.resolve(false); }; }""")
    page.fill("#image-url", "https://images.example.test/cat.png")
    page.click("#analyze-url")
    message = page.locator("#analyze-message")
    expect(message).to_contain_text("may not read images from images.example.test")
    expect(message).to_contain_text("Analyze this tab")
    expect(message).to_have_attribute("data-level", "error")
    assert page.evaluate("() => window.__asked") == [{"origins": ["https://images.example.test/*"]}]
    assert ext.storage("session", "lastAnalysis") is None  # nothing was sent to the worker
    assert pool.provider.count() == 0


def test_bad_image_addresses_are_refused_in_the_popup(ext, pool):
    page = open_popup(ext)
    for text, expected in [("", "Enter the address"), ("ftp://x/cat.png", "http://, https://"),
                           ("data:text/html,hi", "not an image")]:
        page.fill("#image-url", text)
        page.click("#analyze-url")
        expect(page.locator("#analyze-message")).to_contain_text(expected)
        expect(page.locator("#image-url")).to_have_attribute("aria-invalid", "true")
    assert pool.provider.count() == 0


# --------------------------------------------------------------- untrusted text

def test_html_in_a_server_error_is_shown_as_plain_text(ext, pool):
    pool.set_all("donate_reject", details=HOSTILE)
    page = open_popup(ext)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    images_before = page.locator("img").count()
    page.click("#donate-section summary")
    page.fill("#donate-key", "AIzaSyTESTKEYhtml000000000000000000000")
    page.click("#donate")
    message = page.locator("#donate-message")
    expect(message).to_contain_text(HOSTILE, timeout=10_000)
    expect(page.locator("#status-text")).to_contain_text(HOSTILE)
    assert page.locator("img").count() == images_before
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("() => window.__xss") is None
    assert "<img" not in page.locator("#donate-message").inner_html()
    assert dialogs == []


# --------------------------------------------------------------- screenshots

def _rich_state(ext, pool) -> None:
    ext.settings(**LONG_EJECTION)
    fail_server(ext, pool, 1, "refuse")
    fail_server(ext, pool, 3, "retry_after", code=503, retry_after=120)
    answer = ext.send({"type": "analyzeImage", "imageUrl": pool.provider.image_url})
    assert answer["ok"] is True, answer


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_popup_screenshot(ext, pool, scheme):
    _rich_state(ext, pool)
    page = open_popup(ext, dark=scheme == "dark")
    expect(page.locator("#last")).to_be_visible()
    expect(page.locator("#pool-summary")).to_have_text("3 of 5 available")
    path = fit_and_screenshot(ext, page, f"popup-{scheme}")
    assert path.stat().st_size > 5_000
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= 600, f"the popup is {height} px tall: Chrome cuts popups at 600 px"
    page.click("#donate-section summary")
    page.fill("#donate-key", "AIzaSyTESTKEYscreenshot0000000000000")
    page.fill("#donor", "ada@example.org")
    page.locator("#donor").blur()
    fit_and_screenshot(ext, page, f"popup-{scheme}-donate")


# --------------------------------------------------------------- keyboard and links

def test_keyboard_only_donation_and_show_toggle(ext, pool):
    page = open_popup(ext)
    summary = page.locator("#donate-section summary")
    summary.focus()
    page.keyboard.press("Enter")  # opens the <details>
    expect(page.locator("#donate-key")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#donate-key")).to_be_focused()
    page.keyboard.type("AIzaSyKEYBOARD000000000000000000000000")
    page.keyboard.press("Tab")
    expect(page.locator("#toggle-key")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#donate-key")).to_have_attribute("type", "text")
    expect(page.locator("#toggle-key")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Space")
    expect(page.locator("#donate-key")).to_have_attribute("type", "password")
    page.locator("#donate-key").press("Enter")  # Enter submits the form
    expect(page.locator("#donate-message")).to_contain_text("Thank you", timeout=10_000)
    assert sum(s.count("/donate-key", "POST") for s in pool.servers) == 1


def test_donor_checks_are_instant_too(ext, pool):
    page = open_popup(ext)
    page.click("#donate-section summary")
    page.fill("#donate-key", "AIzaSyDONOR0000000000000000000000000000")
    page.fill("#donor", "x" * 255)
    page.click("#donate")
    expect(page.locator("#donor-error")).to_contain_text("too long")
    expect(page.locator("#donor")).to_be_focused()
    # Opening the popup checks the servers (GET /health); the donation sent nothing.
    assert sum(s.count("/donate-key") for s in pool.servers) == 0


def test_options_button_opens_the_options_page(ext, pool):
    page = open_popup(ext)
    page.click("#open-options")
    ext.wait_for(lambda: any(p.url == ext.url("options.html") for p in ext.ctx.pages),
                 timeout_s=10, message="an options tab")
