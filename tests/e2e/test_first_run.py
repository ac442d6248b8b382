"""Issue 9: a first run that works. The set-up page, a truthful pool, one actionable
no-server message, the status model (degraded line, lasting badge, Retry now never
lengthens a time out, controls disabled while analyzing).

Screenshots: test-artifacts/screenshots/first-run-*.png and setup-*.png.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import POPUP_SIZE, open_popup

from tests.extension_worker import wait_for_worker

pytestmark = pytest.mark.e2e

LONG_EJECTION = {"ejectionBaseMs": 60_000, "failedResetMs": 120_000}
GEMINI_PATH = "/v1beta/models/gemini-2.5-flash:generateContent"



def row(page, url: str):
    return page.locator(f'#pool li.server[data-url="{url}"]')


def refuse_all(pool) -> None:
    pool.set_all("refuse")


def badge(ext) -> dict:
    return ext.page.evaluate("""async () => ({text: await chrome.action.getBadgeText({}),
                                              title: await chrome.action.getTitle({})})""")


# --------------------------------------------------------------- set-up page on install

def test_a_fresh_install_opens_the_set_up_page(playwright_sync, built_extension, tmp_path):
    """onInstalled (reason install) opens setup.html in a new tab: a profile of its own."""
    from tests.e2e.conftest import find_chromium
    ctx = playwright_sync.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=find_chromium(playwright_sync), headless=True,
        args=[f"--disable-extensions-except={built_extension}",
              f"--load-extension={built_extension}"])
    try:
        sw = wait_for_worker(ctx, 15)
        ext_id = sw.url.split("/")[2]
        want = f"chrome-extension://{ext_id}/setup.html"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(p.url == want for p in ctx.pages):
            ctx.pages[0].wait_for_timeout(50)   # Playwright delivers the new tab while it waits
        page = next(p for p in ctx.pages if p.url == want)
        expect(page.locator("h1")).to_have_text("Set up Keypool")
        expect(page.locator(".lead")).to_contain_text("key servers")
        # Nothing runs on localhost:3000-3004 here: the live check says so, in people's words.
        expect(page.locator("#setup-summary")).to_have_text(
            "No key server answered. Start one, or enter the addresses of your pool below.",
            timeout=15_000)
        expect(page.locator("#setup-servers li")).to_have_count(5)
        expect(page.locator("#setup-servers li").first).to_contain_text("No answer")
    finally:
        ctx.close()


def test_the_set_up_page_saves_servers_and_checks_them_live(ext, pool):
    page = ext.open("setup.html")
    page.emulate_media(color_scheme="light")
    expect(page.locator("#setup-summary")).to_contain_text("Ready: 5 key servers answer",
                                                           timeout=10_000)
    ext.screenshot(page, "setup-ready-light")
    first, second = pool.servers[0], pool.servers[1]
    second.set_mode("refuse")
    page.fill("#servers-input", f"{first.base}\n{second.base}\n")
    page.click("#save-servers")
    expect(page.locator("#setup-message")).to_have_text("Saved 2 servers.", timeout=10_000)
    expect(page.locator("#setup-message")).to_be_focused()
    assert ext.storage("local", "settings")["servers"] == [first.base, second.base]
    items = page.locator("#setup-servers li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Answered")
    expect(items.nth(1)).to_contain_text("No answer: Network error")
    expect(page.locator("#setup-summary")).to_have_text(
        "Ready: 1 key server answers. You can analyze images now.")
    # a bad address: a clear error, nothing saved
    page.fill("#servers-input", "ftp://nope")
    page.click("#save-servers")
    expect(page.locator("#servers-error")).to_contain_text("is not an http:// or https:// URL")
    expect(page.locator("#servers-input")).to_be_focused()
    assert ext.storage("local", "settings")["servers"] == [first.base, second.base]


def test_the_set_up_page_opens_from_the_popup_and_the_options_page(ext, pool):
    page = open_popup(ext)
    page.click("#open-setup-small")
    ext.wait_for(lambda: any(p.url == ext.url("setup.html") for p in ext.ctx.pages),
                 timeout_s=10, message="a set-up tab from the popup")
    options = ext.open("options.html")
    expect(options.locator("a[href='setup.html']")).to_be_visible()
    expect(options.locator("a[href='privacy.html']")).to_be_visible()


# --------------------------------------------------------------- a truthful pool

def test_servers_never_contacted_are_not_available(ext, pool):
    """While the checks hang, no row may say "Available": nothing has answered yet."""
    pool.set_all("hang", "/health")
    page = open_popup(ext)
    for server in pool.servers:
        expect(row(page, server.base)).to_have_attribute("data-state", "unchecked")
        expect(row(page, server.base).locator(".server-state")).to_have_text(
            "Checking…")
    expect(page.locator("#pool-summary")).to_have_text("0 of 5 available")
    expect(page.locator("#status-text")).to_have_text("Checking the key servers…")
    rows = ext.send({"type": "getPoolStatus"})["servers"]
    assert all(r["state"] == "available" and "checkedAt" not in r for r in rows), rows


def test_opening_the_popup_checks_stale_servers_and_rows_update_live(ext, pool):
    page = open_popup(ext)
    for server in pool.servers:
        expect(row(page, server.base)).to_have_attribute("data-state", "available",
                                                         timeout=10_000)
    assert all(s.count("/health") == 1 for s in pool.servers)
    rows = ext.send({"type": "getPoolStatus"})["servers"]
    assert all(isinstance(r["checkedAt"], int) for r in rows), rows
    # A change made elsewhere (the worker's ledger) reaches the open popup with no polling.
    pool.servers[2].set_mode("refuse")
    ext.send({"type": "retryServer", "url": pool.servers[2].base})
    expect(row(page, pool.servers[2].base)).to_have_attribute("data-state", "failed")
    # A second popup finds them fresh (and the refused one failed): no new checks.
    second = open_popup(ext)
    expect(second.locator("#pool-summary")).to_have_text("4 of 5 available")
    second.wait_for_timeout(300)
    assert [s.count("/health") for s in pool.servers] == [1, 1, 1, 1, 1]


# --------------------------------------------------------------- no server: one message

def test_no_server_is_one_actionable_message(ext, pool):
    refuse_all(pool)
    page = open_popup(ext)
    expect(page.locator("#status-text")).to_have_text("No key server answered.", timeout=10_000)
    expect(page.locator("#no-server")).to_be_visible()
    page.fill("#image-url", pool.provider.image_url)
    page.click("#analyze-url")
    expect(page.locator("#last")).to_be_visible(timeout=15_000)
    expect(page.locator("#open-setup")).to_be_focused()
    expect(page.locator("#analyze-message")).to_be_hidden()
    error = ext.storage("session", "lastAnalysis")["error"]
    assert page.locator("body").inner_text().count(error[:40]) == 0
    expect(page.locator("#last-text")).to_have_text("No key server answered (see above).")
    ext.screenshot(page, "first-run-no-server-light")
    # "Try again" once a server runs: the message goes, the pool is back
    pool.servers[0].set_mode("ok")
    page.click("#try-again")
    expect(page.locator("#no-server")).to_be_hidden(timeout=10_000)
    expect(page.locator("#status-text")).to_contain_text("4 of 5 key servers are out")
    # "Set up servers" opens the set-up page
    refuse_all(pool)
    ext.send({"type": "retryServer", "url": pool.servers[0].base})
    expect(page.locator("#no-server")).to_be_visible(timeout=10_000)
    page.click("#open-setup")
    ext.wait_for(lambda: any(p.url == ext.url("setup.html") for p in ext.ctx.pages),
                 timeout_s=10, message="a set-up tab")


# --------------------------------------------------------------- the status model

def test_retry_now_on_a_server_still_down_keeps_its_time_out(ext, pool):
    ext.settings(**LONG_EJECTION)
    server = pool.servers[0]
    server.set_mode("refuse")
    assert ext.send({"type": "retryServer", "url": server.base})["healthy"] is False
    before = next(r for r in ext.send({"type": "getPoolStatus"})["servers"] if r["url"] == server.base)
    assert before["state"] == "failed"
    for _ in range(2):
        assert ext.send({"type": "retryServer", "url": server.base})["healthy"] is False
    after = next(r for r in ext.send({"type": "getPoolStatus"})["servers"] if r["url"] == server.base)
    assert after["state"] == "failed"
    assert after["retryAt"] == before["retryAt"], (before, after)
    assert after["failures"] == before["failures"], (before, after)


def test_the_status_line_says_when_the_pool_is_degraded(ext, pool):
    ext.settings(**LONG_EJECTION)
    for server in pool.servers[:3]:
        server.set_mode("refuse")
        ext.send({"type": "retryServer", "url": server.base})
    page = open_popup(ext)
    expect(page.locator("#status-text")).to_have_text("3 of 5 key servers are out",
                                                      timeout=10_000)
    expect(page.locator("#status")).to_have_attribute("data-level", "warning")


def test_the_badge_keeps_a_mark_while_no_server_is_reachable(ext, pool):
    ext.settings(**LONG_EJECTION)
    refuse_all(pool)
    for server in pool.servers:
        ext.send({"type": "retryServer", "url": server.base})
    got = ext.wait_for(lambda: (lambda b: b if b["text"] == "!" else None)(badge(ext)),
                       timeout_s=5, message="the lasting badge")
    assert "no key server answered" in got["title"]
    pool.servers[0].set_mode("ok")
    ext.send({"type": "retryServer", "url": pool.servers[0].base})
    got = ext.wait_for(lambda: (lambda b: b if b["text"] == "" else None)(badge(ext)),
                       timeout_s=5, message="the badge cleared")
    assert got["title"] == "Keypool"


def test_the_analyze_controls_are_disabled_while_an_analysis_runs(ext, pool):
    pool.provider.set_mode("hang", GEMINI_PATH)
    page = open_popup(ext)
    page.fill("#image-url", pool.provider.image_url)
    page.click("#analyze-url")
    expect(page.locator("#analyze-url")).to_be_disabled()
    expect(page.locator("#analyze-tab")).to_be_disabled()
    expect(page.locator("#analyze-url")).to_have_text("Analyzing…")
    pool.provider.set_mode("ok", GEMINI_PATH)
    expect(page.locator("#analyze-url")).to_be_enabled(timeout=20_000)
    expect(page.locator("#analyze-tab")).to_be_enabled()


def test_the_set_up_page_asks_for_new_hosts_in_the_click_and_a_refusal_saves_nothing(ext, pool):
    page = ext.open("setup.html")
    expect(page.locator("#setup-summary")).to_contain_text("Ready", timeout=10_000)
    before = ext.storage("local", "settings")
    # Headless Chrome cannot show its prompt: stand in for a person who says no.
    page.evaluate("""() => { window.__asked = [];
        chrome.permissions.request = (p) => { window.__asked.push(p); return Promise.resolve(false); }; }""")
    page.fill("#servers-input", "https://keys.example.org/api\n" + pool.servers[0].base)
    page.click("#save-servers")
    expect(page.locator("#setup-message")).to_contain_text("Nothing was saved")
    expect(page.locator("#setup-message")).to_be_focused()
    asked = page.evaluate("() => window.__asked")
    # the same patterns as the options page and the manifest (core.urls.host_pattern: any port)
    assert asked == [{"origins": ["https://keys.example.org/*", "http://localhost/*"]}], asked
    assert ext.storage("local", "settings") == before


def test_times_are_rounded_to_the_nearest_unit_from_the_stored_ledger(ext, pool):
    """The popup computes its rows from storage.session poolHealth (no worker round trip):
    a server back in 117 s says "back in 2 min", not "1 min"."""
    now = int(time.time() * 1000)
    url = pool.servers[0].base
    ext.set_storage("session", {"poolHealth": {"servers": {url: {
        "failures": 1, "failedAt": now - 3000, "retryAt": now + 117_000,
        "kind": "network", "reason": "network error (refused, unreachable or reset)"}}}})
    page = open_popup(ext)
    state = row(page, url).locator(".server-state")
    expect(state).to_contain_text("back in 2 min")
    expect(state).to_contain_text(re.compile(r"Failed \d+ s ago"))


def test_the_popup_follows_storage_with_no_status_round_trips_or_polling(ext, pool):
    page = ext.ctx.new_page()
    page.set_viewport_size(POPUP_SIZE)
    page.add_init_script("""(() => { window.__sent = [];
        const send = chrome.runtime.sendMessage.bind(chrome.runtime);
        chrome.runtime.sendMessage = (m, ...rest) => { window.__sent.push(m.type); return send(m, ...rest); };
    })()""")
    page.goto(ext.url("popup.html"))
    expect(page.locator("#pool-summary")).to_have_text("5 of 5 available", timeout=10_000)
    pool.servers[0].set_mode("refuse")
    ext.send({"type": "retryServer", "url": pool.servers[0].base})   # the worker changes the ledger
    expect(row(page, pool.servers[0].base)).to_have_attribute("data-state", "failed")
    page.wait_for_timeout(2500)                                       # two ticks of the clock
    assert page.evaluate("() => window.__sent") == ["checkServers"]
