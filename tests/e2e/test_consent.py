"""Issue 9: the first analysis of a tab asks for consent, once per tab; the privacy page
says what is sent where and is linked from the popup, the options and the set-up page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

GEMINI_PATH = "/v1beta/models/gemini-2.5-flash:generateContent"


def provider_calls(pool) -> list:
    return [r for r in pool.provider.requests if r.path == GEMINI_PATH]


def _panel(ext, tab_id: int):
    return ext.page.evaluate("""(tabId) => chrome.scripting.executeScript({target: {tabId},
        func: () => globalThis.__keypoolPanel ? globalThis.__keypoolPanel.inspect() : null})
        .then(r => r[0].result)""", tab_id)


def click_image(ext, pool, tab_id):
    ext.dispatch_context_menu(
        {"menuItemId": "analyze-image", "srcUrl": pool.provider.image_url,
         "pageUrl": pool.provider.page_url, "mediaType": "image", "editable": False},
        {"id": tab_id, "url": pool.provider.page_url, "active": True})


def test_the_first_menu_analysis_of_a_tab_asks_then_a_second_one_sends(ext, pool):
    page = ext.ctx.new_page()
    page.goto(pool.provider.page_url)
    tab_id = ext.tab_id(pool.provider.page_url)
    click_image(ext, pool, tab_id)
    got = ext.wait_for(lambda: _panel(ext, tab_id), timeout_s=10, message="the consent panel")
    assert got["state"]["title"] == "Send this to your AI provider?"
    assert "again" in got["state"]["text"]
    ext.page.wait_for_timeout(300)
    assert provider_calls(pool) == [] and pool.count("/gemini-key") == 0   # nothing was sent
    assert ext.storage("session", "lastAnalysis") is None
    click_image(ext, pool, tab_id)                                          # the answer: yes
    last = ext.wait_for(lambda: ext.storage("session", "lastAnalysis"), timeout_s=20,
                        message="the analysis after consent")
    assert last["text"].startswith("Mock description"), last
    assert ext.storage("session", "consentedTabs") == [tab_id]
    click_image(ext, pool, tab_id)                                          # asked once only
    ext.wait_for(lambda: len(provider_calls(pool)) == 2, timeout_s=20, message="a second analysis")


def test_analyze_this_tab_from_the_popup_asks_once_per_tab(ext, pool):
    tab = ext.ctx.new_page()
    tab.goto(pool.provider.page_url)
    answer = ext.send({"type": "analyzeTab"})
    assert answer["ok"] is False and answer["needsConsent"] is True, answer
    assert ext.storage("session", "lastAnalysis") is None
    assert sum(s.count("/gemini-key") for s in pool.servers) == 0
    popup = ext.ctx.new_page()
    popup.goto(ext.url("popup.html"))
    tab.bring_to_front()          # "this tab" is the page, as when the real popup opens over it
    popup.click("#analyze-tab")
    expect(popup.locator("#consent")).to_be_visible()
    expect(popup.locator("#consent-yes")).to_be_focused()
    expect(popup.locator("#consent a[href='privacy.html']")).to_be_visible()
    popup.click("#consent-no")
    expect(popup.locator("#consent")).to_be_hidden()
    expect(popup.locator("#analyze-tab")).to_be_focused()
    popup.click("#analyze-tab")
    popup.click("#consent-yes")
    # headless Chromium cannot capture a tab without the toolbar click: the request got past
    # consent, and the capture's own error is what comes back
    expect(popup.locator("#last")).to_be_visible(timeout=20_000)
    assert len(ext.storage("session", "consentedTabs")) == 1
    first_at = ext.storage("session", "lastAnalysis")["at"]
    # the same tab again: no question this time
    popup.click("#analyze-tab")
    ext.wait_for(lambda: ext.storage("session", "lastAnalysis")["at"] != first_at, timeout_s=20,
                 message="a second analysis of the tab")
    expect(popup.locator("#consent")).to_be_hidden()


def test_the_privacy_page_says_what_goes_where_and_is_linked_everywhere(ext, pool):
    page = ext.open("privacy.html")
    text = page.locator("main").inner_text()
    for words in ["screenshot", "AI provider", "key servers", "donate", "name or e-mail",
                  "session storage", "never stored", "2 hours"]:
        assert words.lower() in text.lower(), words
    for path in ["popup.html", "options.html", "setup.html"]:
        linked = ext.open(path)
        expect(linked.locator("a[href='privacy.html']").first).to_be_attached()
